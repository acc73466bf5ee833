"""convnp.nn.init against torch.nn.init: gains and fans exactly, distributions statistically.

The random streams differ from PyTorch's, so the samples are compared through their statistics
on large tensors: bounds (never exceeded, and nearly reached), means and variances against the
formula, and against the statistics of torch's own samples for the same call.
"""

import math
import re
import warnings

import numpy as np
import pytest
import scipy.stats
import torch

import convnp as cn
from convnp.arraymath import random as cn_random
from convnp.nn import Parameter, init

SHAPES = [(256, 128, 3, 3), (512, 300), (64, 32, 5, 7)]


def big(shape, dtype=np.float32):
    return Parameter(np.zeros(shape, dtype=dtype))


def torch_sample(fn, shape, **kwargs):
    torch.manual_seed(0)
    t = torch.empty(shape, dtype=torch.float64)
    fn(t, **kwargs)
    return t.numpy()


# --------------------------------------------------------------------------------------------
# exact quantities
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "nonlinearity,param",
    [
        ("linear", None),
        ("conv1d", None),
        ("conv2d", None),
        ("conv3d", None),
        ("conv_transpose1d", None),
        ("conv_transpose2d", None),
        ("conv_transpose3d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 1),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_calculate_gain_equals_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_calculate_gain_errors():
    for args in [("softmax",), ("leaky_relu", True), ("leaky_relu", "0.1")]:
        with pytest.raises(ValueError) as theirs:
            torch.nn.init.calculate_gain(*args)
        with pytest.raises(ValueError, match=re.escape(str(theirs.value)) + ".*Received: "):
            init.calculate_gain(*args)


@pytest.mark.parametrize("shape", [(3, 4), (6, 3, 5, 5), (8, 2, 3), (4, 2, 3, 3, 3), (1, 1), (10, 7, 1, 1)])
def test_fans_equal_torch(shape):
    assert init._calculate_fan_in_and_fan_out(big(shape)) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(shape)
    )
    assert init._calculate_fan_in_and_fan_out(np.zeros(shape)) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.empty(shape)
    )


def test_fans_need_two_dimensions():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions. Received: shape (5,)"
        ),
    ):
        init.xavier_uniform_(big((5,)))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Mode fan_avg not supported, please use one of ['fan_in', 'fan_out']. Received: mode='fan_avg'"
        ),
    ):
        init.kaiming_uniform_(big((4, 4)), mode="fan_avg")
    with pytest.raises(
        TypeError, match="uniform_: expected a Parameter, tensor or NumPy array to fill in place. Received: list"
    ):
        init.uniform_([1.0, 2.0])


# --------------------------------------------------------------------------------------------
# distributions
# --------------------------------------------------------------------------------------------
def check_uniform(w, bound, theirs=None):
    w = np.asarray(w, dtype=np.float64)
    assert np.abs(w).max() <= bound * (1 + 1e-6)  # never outside [-bound, bound]
    assert np.abs(w).max() > 0.999 * bound  # and the support is all of it
    n = w.size
    assert abs(w.mean()) < 5 * bound / math.sqrt(3 * n)
    assert w.var() == pytest.approx(bound**2 / 3, rel=0.02)
    if theirs is not None:  # torch's sample has the same law
        assert np.abs(theirs).max() <= bound * (1 + 1e-6) and np.abs(theirs).max() > 0.999 * bound
        assert w.var() == pytest.approx(theirs.var(), rel=0.03)


def check_normal(w, std, mean=0.0, theirs=None):
    w = np.asarray(w, dtype=np.float64)
    n = w.size
    assert abs(w.mean() - mean) < 5 * std / math.sqrt(n)
    assert w.std() == pytest.approx(std, rel=0.02)
    assert abs(scipy.stats.kurtosis(w, axis=None)) < 0.1  # Gaussian tails, not uniform's -1.2
    if theirs is not None:
        assert w.std() == pytest.approx(theirs.std(), rel=0.03)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "a,mode,nonlinearity",
    [
        (math.sqrt(5), "fan_in", "leaky_relu"),  # what PyTorch's layers use: bound 1/sqrt(fan_in)
        (0, "fan_in", "relu"),
        (0, "fan_out", "relu"),
        (0.1, "fan_out", "leaky_relu"),
        (0, "fan_in", "tanh"),
    ],
)
def test_kaiming_uniform(shape, a, mode, nonlinearity):
    w = big(shape)
    out = init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity, generator=np.random.default_rng(1))
    assert out is w and w.dtype == np.float32
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(w)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = math.sqrt(3.0) * torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    if a == math.sqrt(5):
        assert bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-12)
    check_uniform(
        w.data, bound, torch_sample(torch.nn.init.kaiming_uniform_, shape, a=a, mode=mode, nonlinearity=nonlinearity)
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "a,mode,nonlinearity", [(0, "fan_in", "relu"), (0, "fan_out", "relu"), (0.2, "fan_in", "leaky_relu")]
)
def test_kaiming_normal(shape, a, mode, nonlinearity):
    w = big(shape, np.float64)
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity, generator=np.random.default_rng(2))
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(w)
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    check_normal(
        w.data,
        std,
        theirs=torch_sample(torch.nn.init.kaiming_normal_, shape, a=a, mode=mode, nonlinearity=nonlinearity),
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(shape, gain):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(np.zeros(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    w = big(shape)
    init.xavier_uniform_(w, gain=gain, generator=np.random.default_rng(3))
    check_uniform(w.data, math.sqrt(3) * std, torch_sample(torch.nn.init.xavier_uniform_, shape, gain=gain))
    init.xavier_normal_(w, gain=gain, generator=np.random.default_rng(4))
    check_normal(w.data, std, theirs=torch_sample(torch.nn.init.xavier_normal_, shape, gain=gain))


def test_uniform_normal_constant_zeros_ones():
    w = big((400, 500), np.float64)
    init.uniform_(w, -2.0, 3.0, generator=np.random.default_rng(5))
    assert w.data.min() >= -2.0 and w.data.max() < 3.0 and w.data.min() < -1.99 and w.data.max() > 2.99
    assert w.data.mean() == pytest.approx(0.5, abs=0.01) and w.data.var() == pytest.approx(25 / 12, rel=0.02)
    init.normal_(w, mean=1.5, std=0.3, generator=np.random.default_rng(6))
    check_normal(w.data, 0.3, mean=1.5)
    arr = w.data
    assert init.constant_(w, 0.25) is w and np.all(w.data == 0.25) and w.data is arr  # in place
    init.zeros_(w)
    assert not w.data.any()
    init.ones_(w)
    assert np.all(w.data == 1.0)
    plain = np.zeros((3, 3), dtype=np.float32)  # bare arrays and plain tensors work too
    init.ones_(plain)
    assert np.all(plain == 1) and plain.dtype == np.float32
    t = cn.zeros(2, 2)
    init.constant_(t, 3.0)
    assert np.all(t.data == 3.0)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (1.0, 1.0, 3.0, 5.0)])
def test_trunc_normal(mean, std, a, b):
    w = big((300, 400), np.float64)
    init.trunc_normal_(w, mean=mean, std=std, a=a, b=b, generator=np.random.default_rng(7))
    assert w.data.min() >= a and w.data.max() <= b
    law = scipy.stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert w.data.mean() == pytest.approx(law.mean(), abs=5 * law.std() / math.sqrt(w.numel()))
    assert w.data.std() == pytest.approx(law.std(), rel=0.02)
    theirs = torch_sample(torch.nn.init.trunc_normal_, (100, 200), mean=mean, std=std, a=a, b=b)  # torch's is slow
    assert w.data.std() == pytest.approx(theirs.std(), rel=0.05)
    with pytest.raises(ValueError, match=re.escape("trunc_normal_: expected a < b. Received: a=1.0, b=1.0")):
        init.trunc_normal_(w, a=1.0, b=1.0)


def test_generator_and_manual_seed_reproducibility():
    a, b = big((20, 30)), big((20, 30))
    init.kaiming_uniform_(a, generator=np.random.default_rng(42))
    init.kaiming_uniform_(b, generator=np.random.default_rng(42))
    np.testing.assert_array_equal(a.data, b.data)
    state = cn_random.get_rng_state()
    try:
        cn.manual_seed(3)
        init.normal_(a)
        cn.manual_seed(3)
        init.normal_(b)
        np.testing.assert_array_equal(a.data, b.data)
        init.normal_(b)  # the default generator moves on
        assert not np.array_equal(a.data, b.data)
    finally:
        cn_random.set_rng_state(state)


def test_zero_element_tensor_is_a_noop_with_warning():
    w = big((0, 3))
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert init.kaiming_uniform_(w) is w
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_normal_(w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.uniform_(w)  # the others just fill nothing
