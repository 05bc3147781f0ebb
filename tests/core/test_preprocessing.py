"""Standardisation and the preprocessing chain, with gradients checked by finite differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from trustml.errors import ParameterError, ParameterTypeError
from trustml.preprocessing import (
    FunctionPreprocessor,
    Postprocessor,
    PreprocessingChain,
    Preprocessor,
    Standardisation,
    check_channels_first,
)


def test_per_channel_layout_channels_first_and_last() -> None:
    cf = Standardisation.create([1.0, 2.0, 3.0], 2.0, input_shape=(3, 4, 5), channels_first=True)
    assert cf.subtrahend.shape == (3, 1, 1) and cf.divisor.shape == ()
    cl = Standardisation.create([1.0, 2.0, 3.0], 2.0, input_shape=(4, 5, 3), channels_first=False)
    assert cl.subtrahend.shape == (1, 1, 3)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    expected = (x - np.array([1.0, 2.0, 3.0])[None, :, None, None]) / 2.0
    np.testing.assert_allclose(cf.apply(x), expected)
    np.testing.assert_allclose(cl.apply(np.moveaxis(x, 1, -1)), np.moveaxis(expected, 1, -1))


def test_full_shape_and_feature_vectors() -> None:
    s = Standardisation.create(np.ones((4, 5)), 1.0, input_shape=(3, 4, 5), channels_first=True)
    assert s.subtrahend.shape == (1, 4, 5)
    f = Standardisation.create(np.arange(6.0), np.ones(6) * 3, input_shape=(6,),
                               channels_first=False)
    np.testing.assert_allclose(f.apply(np.zeros((1, 6))), -np.arange(6.0)[None] / 3)


def test_channel_axis_is_never_guessed() -> None:
    # 3 per-channel values for a channels-last (3, 8, 3) input: the last axis is used.
    s = Standardisation.create([0.0, 1.0, 2.0], 1.0, input_shape=(3, 8, 3), channels_first=False)
    assert s.subtrahend.shape == (1, 1, 3)
    s = Standardisation.create([0.0, 1.0, 2.0], 1.0, input_shape=(3, 8, 3), channels_first=True)
    assert s.subtrahend.shape == (3, 1, 1)


@pytest.mark.parametrize(
    ("sub", "div", "match"),
    [
        (0.0, 0.0, "divisor: expected positive"),
        (0.0, -1.0, "divisor: expected positive"),
        (np.nan, 1.0, "subtrahend: expected finite"),
        ([1.0, 2.0], 1.0, r"per-channel vector \(channel axis first of \(3, 4, 5\)\)"),
        ("abc", 1.0, "subtrahend: expected a number"),
    ],
)
def test_bad_standardisation(sub: Any, div: Any, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        Standardisation.create(sub, div, input_shape=(3, 4, 5), channels_first=True)


def test_identity_and_inverse() -> None:
    ident = Standardisation.create(0.0, 1.0, input_shape=(3,), channels_first=False)
    assert ident.is_identity
    x = np.ones((2, 3), dtype=np.float32)
    out = ident.apply(x)
    assert out is not x and out.dtype == np.float32
    s = Standardisation.create([1.0, 2.0, 3.0], [2.0, 4.0, 8.0], input_shape=(3,),
                               channels_first=False)
    assert not s.is_identity
    np.testing.assert_allclose(s.inverse(s.apply(x)), x, rtol=1e-6)
    assert s.apply(x).dtype == np.float32
    assert not s.subtrahend.flags.writeable


def test_chain_order_defences_then_standardisation() -> None:
    calls: list[str] = []

    def square(x: np.ndarray) -> np.ndarray:
        calls.append("square")
        return x**2

    chain = PreprocessingChain(
        (1.0, 2.0), input_shape=(2,), channels_first=False,
        preprocessing_defences=[FunctionPreprocessor(square, lambda x, g: 2 * x * g)],
    )
    x = np.array([[3.0, -1.0]])
    out, _ = chain(x)
    np.testing.assert_allclose(out, (x**2 - 1.0) / 2.0)
    assert calls == ["square"]


def test_flags_select_defences() -> None:
    only_fit = FunctionPreprocessor(lambda x: x + 100, apply_fit=True, apply_predict=False)
    chain = PreprocessingChain(None, input_shape=(1,), channels_first=False,
                               preprocessing_defences=only_fit)
    x = np.zeros((1, 1))
    assert chain(x)[0][0, 0] == 0
    assert chain(x, fit=True)[0][0, 0] == 100
    out, pullback = chain.vjp(x)
    assert out[0, 0] == 0
    np.testing.assert_array_equal(pullback(np.ones((1, 1))), np.ones((1, 1)))


def test_bpda_is_the_default_gradient() -> None:
    rounding = FunctionPreprocessor(np.round)
    chain = PreprocessingChain((0.0, 4.0), input_shape=(3,), channels_first=False,
                               preprocessing_defences=[rounding])
    _, pullback = chain.vjp(np.array([[0.2, 1.7, 2.5]]))
    np.testing.assert_allclose(pullback(np.ones((1, 3))), np.full((1, 3), 0.25))


@settings(max_examples=40, deadline=None)
@given(
    x=hnp.arrays(np.float64, (3, 2, 4), elements=st.floats(-2, 2)),
    sub=hnp.arrays(np.float64, 2, elements=st.floats(-1, 1)),
    div=hnp.arrays(np.float64, 2, elements=st.floats(0.2, 3)),
)
def test_chain_gradient_matches_finite_differences(
    x: np.ndarray, sub: np.ndarray, div: np.ndarray
) -> None:
    """pullback(g) equals the finite-difference gradient of <g, chain(x)> through a smooth
    defence."""
    defence = FunctionPreprocessor(np.tanh, lambda x, g: g * (1 - np.tanh(x) ** 2))
    chain = PreprocessingChain((sub, div), input_shape=(2, 4), channels_first=True,
                               preprocessing_defences=[defence])
    g = np.random.default_rng(0).normal(size=x.shape)
    out, pullback = chain.vjp(x)
    grad = pullback(g)
    eps = 1e-6
    fd = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        fd[i] = (np.sum(g * chain(xp)[0]) - np.sum(g * chain(xm)[0])) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-7)


def test_chain_input_is_never_mutated() -> None:
    chain = PreprocessingChain(([1.0, 2.0], 3.0), input_shape=(2,), channels_first=False,
                               preprocessing_defences=[FunctionPreprocessor(np.abs)])
    x = np.array([[-1.0, 2.0]])
    before = x.copy()
    chain(x)
    chain.vjp(x)[1](np.ones_like(x))
    np.testing.assert_array_equal(x, before)


def test_postprocessing() -> None:
    class Top1:
        apply_fit = False
        apply_predict = True

        def __call__(self, preds: np.ndarray) -> np.ndarray:
            out = np.zeros_like(preds)
            out[np.arange(len(preds)), preds.argmax(1)] = 1
            return out

    assert isinstance(Top1(), Postprocessor)
    chain = PreprocessingChain(None, input_shape=(2,), channels_first=False,
                               postprocessing_defences=Top1())
    np.testing.assert_array_equal(chain.postprocess(np.array([[0.2, 0.8]], np.float32)), [[0, 1]])


def test_protocol_checks() -> None:
    assert isinstance(FunctionPreprocessor(np.abs), Preprocessor)
    with pytest.raises(ParameterTypeError,
                       match=r"preprocessing_defences\[0\]: expected a Preprocessor"):
        PreprocessingChain(None, input_shape=(2,), channels_first=False,
                           preprocessing_defences=[np.abs])  # type: ignore[list-item]
    with pytest.raises(ParameterTypeError, match="preprocessing_defences: expected"):
        PreprocessingChain(None, input_shape=(2,), channels_first=False,
                           preprocessing_defences=3)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="preprocessing: expected"):
        PreprocessingChain((1.0,), input_shape=(2,), channels_first=False)  # type: ignore[arg-type]


def test_channels_first_must_be_bool() -> None:
    assert check_channels_first(np.bool_(True)) is True
    with pytest.raises(ParameterTypeError, match="channels_first: expected a bool, got 'auto'"):
        check_channels_first("auto")
