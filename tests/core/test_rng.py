"""Seeds: as_generator and input_seeds reject what they cannot use, with typed errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from trustml.errors import ParameterError, ParameterTypeError
from trustml.rng import as_generator, input_seeds
from trustml.validation import check_int_range


@pytest.mark.parametrize("seed", [-1, np.int64(-5)])
def test_negative_seed_is_a_parameter_error(seed: Any) -> None:
    with pytest.raises(ParameterError, match=r"seed: expected an int >= 0, got -"):
        as_generator(seed)


@pytest.mark.parametrize("seed", ["abc", 2.5, True, np.random.RandomState(0), [1]])
def test_non_int_seed_is_a_type_error(seed: Any) -> None:
    with pytest.raises(ParameterTypeError, match="seed"):
        as_generator(seed)


def test_valid_seeds() -> None:
    assert as_generator(2**128).integers(10) == np.random.default_rng(2**128).integers(10)
    gen = np.random.default_rng(3)
    assert as_generator(gen) is gen
    assert as_generator(np.uint8(7)).integers(1000) == np.random.default_rng(7).integers(1000)


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ParameterError), (2**128, ParameterError), ("5", ParameterTypeError),
     (2.5, ParameterTypeError), (True, ParameterTypeError)],
)
def test_input_seeds_rejects_bad_seeds(seed: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="seed"):
        input_seeds(np.zeros((2, 3), dtype=np.float32), seed)


@pytest.mark.parametrize(
    ("x", "error"),
    [(np.float32(1.0), ParameterTypeError), (np.array(1.0), ParameterError),
     (np.array(["a", "b"]), ParameterTypeError), (np.array([1 + 2j]), ParameterTypeError),
     (np.array([object()]), ParameterTypeError), ([[0.0, 1.0]], ParameterTypeError)],
)
def test_input_seeds_rejects_bad_inputs(x: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="x"):
        input_seeds(x, 0)


def test_input_seeds_depend_on_values_and_seed_only() -> None:
    x = np.random.default_rng(0).random((5, 2, 3))
    seeds = input_seeds(x, 11)
    assert len(set(seeds)) == 5 and all(0 <= s < 2**63 for s in seeds)
    assert input_seeds(x[::-1].copy(), 11) == seeds[::-1]
    assert input_seeds(x[2:3], 11) == seeds[2:3]
    assert input_seeds(x.astype(np.float32), 11) == seeds  # hashed as float32
    assert input_seeds(x, 12) != seeds


def test_check_int_range() -> None:
    assert check_int_range(np.int32(4), "k", low=1, high=5) == 4
    with pytest.raises(ParameterError, match=r"k: expected an int in \[1, 5\), got 5"):
        check_int_range(5, "k", low=1, high=5)
    with pytest.raises(ParameterTypeError, match="k: expected an int >= 0, got float"):
        check_int_range(1.0, "k")
