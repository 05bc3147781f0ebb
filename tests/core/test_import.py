"""`import trustml` loads numpy and nothing heavy; public names resolve lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "tensorflow", "keras", "sklearn", "mxnet", "scipy.stats", "matplotlib", "tqdm")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return set(out.split())


@pytest.mark.parametrize(
    "code",
    [
        "import trustml",
        "import trustml; trustml.Classifier; trustml.PreprocessingChain; trustml.LabelError",
        "import trustml.protocols, trustml.labels, trustml.validation, trustml.preprocessing",
        "import trustml.cli",
    ],
)
def test_import_is_light(code: str) -> None:
    loaded = _modules_after(code)
    assert "trustml" in loaded
    heavy = sorted(m for m in HEAVY if m in loaded)
    assert heavy == [], f"{code!r} imported {heavy}"


def test_lazy_exports_resolve_to_their_modules() -> None:
    import importlib

    import trustml

    for name in trustml.__all__:
        if name == "__version__":
            continue
        value = getattr(trustml, name)
        module = importlib.import_module(trustml._LAZY[name])
        assert getattr(module, name) is value
        # classes and functions are defined where _LAZY says (type aliases have no __module__ of
        # their own)
        if name not in ("ClipValues", "ClipValuesLike", "Reduction", "SeedLike"):
            assert value.__module__ == module.__name__, name


def test_type_aliases_are_exported_once() -> None:
    import trustml
    from trustml import protocols, rng, trees, validation

    assert trustml.ClipValues is validation.ClipValues
    assert trustml.ClipValuesLike is validation.ClipValuesLike
    assert trustml.Reduction is protocols.Reduction
    assert trustml.SeedLike is rng.SeedLike
    assert trustml.Tree is trees.Tree


def test_unknown_attribute_raises_attribute_error() -> None:
    import trustml

    with pytest.raises(AttributeError, match="no_such_thing"):
        trustml.no_such_thing  # noqa: B018
