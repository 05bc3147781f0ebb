"""Every trustml error is also the builtin a Python user expects."""

from __future__ import annotations

import pytest

from trustml import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.InputShapeError, ValueError),
        (errors.InputValueError, ValueError),
        (errors.LabelError, ValueError),
        (errors.ParameterError, ValueError),
        (errors.ParameterTypeError, TypeError),
        (errors.CapabilityError, TypeError),
        (errors.UnsupportedModelError, TypeError),
        (errors.DeviceError, ValueError),
        (errors.NotFittedError, ValueError),
        (errors.NotFittedError, AttributeError),
        (errors.MissingDependencyError, ImportError),
    ],
)
def test_error_is_trustml_error_and_builtin(cls: type, builtin: type) -> None:
    assert issubclass(cls, errors.TrustMLError)
    assert issubclass(cls, builtin)
    with pytest.raises(builtin):
        raise cls("message")


def test_every_exported_error_is_a_trustml_error() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.TrustMLError)


def test_require_names_the_extra() -> None:
    from trustml._deps import require

    with pytest.raises(errors.MissingDependencyError) as info:
        require("trustml_no_such_module_xyz", "torch", purpose="PyTorchClassifier")
    message = str(info.value)
    assert 'pip install "trustml[torch]"' in message
    assert "PyTorchClassifier" in message
    assert isinstance(info.value, ImportError)


def test_require_returns_the_module() -> None:
    import json

    from trustml._deps import is_imported, require

    assert require("json", "core") is json
    assert is_imported("json")
    assert not is_imported("trustml_no_such_module_xyz")
