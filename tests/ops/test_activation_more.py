"""relu6, hardsigmoid, hardswish, silu: gradcheck, PyTorch parity (forward and gradient, float64 and float32)
over seeded shapes, and PyTorch's gradients at the kinks."""

import numpy as np
import pytest
import torch.nn.functional as TF
from helpers import check_gradcheck, compare_with_torch

import convnp.nn.functional as F

PAIRS = {
    "relu6": (F.relu6, TF.relu6, (0.0, 6.0)),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, (-3.0, 3.0)),
    "hardswish": (F.hardswish, TF.hardswish, (-3.0, 3.0)),
    "silu": (F.silu, TF.silu, (0.0, 50.0)),
}
SHAPES = [(), (7,), (1,), (3, 5), (1, 3, 4, 5), (2, 1, 3, 3)]


def _away_from_kinks(rng, shape, kinks):
    x = rng.uniform(-9, 9, size=shape)
    for k in kinks:
        x = np.where(np.abs(x - k) < 0.05, k + 0.5, x)
    return x


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("shape", [(5,), (2, 3), (1, 2, 2, 3)])
def test_gradcheck(name, shape):
    x = _away_from_kinks(np.random.default_rng(len(shape)), shape, PAIRS[name][2])
    check_gradcheck(PAIRS[name][0], [x])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("seed", range(4))
def test_matches_torch(name, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = SHAPES[rng.integers(len(SHAPES))]
    x = rng.uniform(-9, 9, size=shape)
    compare_with_torch(PAIRS[name][0], PAIRS[name][1], [x], dtype=dtype, what=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", PAIRS)
def test_kinks_match_torch(name, dtype):
    kinks = PAIRS[name][2]
    x = np.array([kinks[0], kinks[1], -0.0, 0.0, kinks[0] - 1e-3, kinks[1] + 1e-3, 100.0, -100.0])
    ours, theirs = compare_with_torch(PAIRS[name][0], PAIRS[name][1], [x], dtype=dtype, what=name)
    assert ours.shape == tuple(theirs.shape)


@pytest.mark.parametrize("name", PAIRS)
def test_rejects_integer_input(name):
    with pytest.raises(TypeError, match=name):
        PAIRS[name][0](np.array([1, 2, 3]))
