"""Activations: gradcheck, PyTorch parity (forward and every gradient, float64 and float32), extreme
logits, PyTorch's derivatives at the kinks, the legacy softmax dim rule, and every error message."""

import warnings

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as TF
from helpers import check_gradcheck, compare_with_torch

import convnp as cn
import convnp.ops.activation as activation_module
from convnp.kernels.activation import BitmaskRelu
from convnp.ops.activation import elu, gelu, leaky_relu, log_softmax, prelu, relu, sigmoid, softmax, tanh

DTYPES = [np.float64, np.float32]

# name -> (convnp fn, torch fn), one entry per elementwise activation and parameter variation
ELEMENTWISE = {
    "relu": (relu, TF.relu),
    "leaky_relu": (leaky_relu, TF.leaky_relu),
    "leaky_relu_0.2": (lambda x: leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "leaky_relu_-0.5": (lambda x: leaky_relu(x, negative_slope=-0.5), lambda x: TF.leaky_relu(x, -0.5)),
    "leaky_relu_1.7": (lambda x: leaky_relu(x, 1.7), lambda x: TF.leaky_relu(x, 1.7)),
    "leaky_relu_int_slope": (lambda x: leaky_relu(x, 2), lambda x: TF.leaky_relu(x, 2)),
    "elu": (elu, TF.elu),
    "elu_0.3": (lambda x: elu(x, 0.3), lambda x: TF.elu(x, 0.3)),
    "elu_2.5": (lambda x: elu(x, alpha=2.5), lambda x: TF.elu(x, alpha=2.5)),
    "gelu": (gelu, TF.gelu),
    "gelu_tanh": (lambda x: gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "sigmoid": (sigmoid, torch.sigmoid),
    "tanh": (tanh, torch.tanh),
}

SHAPES = [(), (7,), (3, 5), (2, 3, 4), (2, 3, 4, 5), (1, 1, 1, 1), (1, 6, 1, 3)]


def _away_from_kinks(rng, shape, lo=0.1, hi=2.5):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(lo, hi, size=shape)


# ============================================================================================
# Elementwise activations
# ============================================================================================


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(5,), (2, 3), (1, 2, 2, 3)])
def test_elementwise_gradcheck(name, shape):
    x = _away_from_kinks(np.random.default_rng(len(shape)), shape)
    check_gradcheck(ELEMENTWISE[name][0], [x])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("seed", range(3))
def test_elementwise_matches_torch(name, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = SHAPES[rng.integers(len(SHAPES))] if seed else (2, 3, 4, 5)
    x = np.asarray(rng.standard_normal(shape) * rng.choice([0.5, 3.0, 8.0]))
    ours, theirs = ELEMENTWISE[name]
    compare_with_torch(ours, theirs, [x], dtype=dtype, seed=seed, what=f"{name} {shape}")


@pytest.mark.filterwarnings("error")  # no overflow / invalid-value warnings
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_extreme_inputs(name, dtype):
    x = np.array([-1e4, -1e3, -88.0, -50.0, -20.0, -1.0, -1e-30, 1e-30, 1.0, 20.0, 50.0, 88.0, 1e3, 1e4])
    ours, theirs = ELEMENTWISE[name]
    out, _ = compare_with_torch(ours, theirs, [x], dtype=dtype, what=f"{name} extreme")
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(cn.tensor(x).data))


def test_sigmoid_saturates_cleanly_on_both_sides():
    with np.errstate(over="raise", invalid="raise"):
        y = sigmoid(cn.tensor(np.array([-1e4, -745.0, -50.0, 0.0, 50.0, 1e4])))
    assert y.data[0] == 0.0 and y.data[-1] == 1.0 and y.data[3] == 0.5
    assert 0.0 < y.data[2] < 1e-21  # e^-50 kept, not rounded to 0 via 1 - 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["relu", "leaky_relu_0.2", "leaky_relu_-0.5", "elu", "elu_2.5"])
def test_derivative_at_the_kink_matches_torch(name, dtype):
    # relu'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha, whatever the sign of zero
    x = np.array([0.0, -0.0, 0.0, 1.0, -1.0, 0.0])
    ours, theirs = ELEMENTWISE[name]
    compare_with_torch(ours, theirs, [x], dtype=dtype, what=f"{name} at 0")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_propagates_like_torch(name):
    x = np.array([np.nan, -1.5, 0.7, np.nan, 3.0])
    ours, theirs = ELEMENTWISE[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        compare_with_torch(ours, theirs, [x], what=f"{name} nan")


def test_kink_values_are_explicit():
    x = cn.tensor(np.array([0.0, 2.0, -2.0]), requires_grad=True)
    leaky_relu(x, 0.25).backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.25, 1.0, 0.25])
    x.grad = None
    relu(x).backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])
    x.grad = None
    elu(x, alpha=3.0).backward(np.ones(3))
    np.testing.assert_allclose(x.grad, [3.0, 1.0, 3.0 * np.exp(-2.0)], rtol=1e-15)


@pytest.mark.parametrize("fn", [relu, leaky_relu, elu])
def test_inplace_is_accepted_and_computed_out_of_place(fn):
    data = np.array([[-1.0, 2.0], [0.5, -3.0]])
    x = cn.tensor(data, requires_grad=True)
    y = fn(x, inplace=True)
    assert y is not x
    np.testing.assert_array_equal(x.data, data)
    np.testing.assert_array_equal(y.data, fn(cn.tensor(data)).data)
    y.backward(np.ones((2, 2)))
    assert x.grad.shape == (2, 2)


def test_non_tensor_inputs_follow_torch_tensor_rules():
    y = relu([1.0, -2.0])
    assert isinstance(y, cn.Tensor) and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [1.0, 0.0])
    z = sigmoid(np.zeros((2, 2)))
    assert z.dtype == np.float64 and np.all(z.data == 0.5)


def test_gelu_exact_and_tanh_differ_and_exact_is_x_phi():
    x = np.linspace(-4, 4, 81)
    exact = gelu(cn.tensor(x)).data
    approx = gelu(cn.tensor(x), approximate="tanh").data
    assert 1e-5 < np.max(np.abs(exact - approx)) < 1e-2
    np.testing.assert_allclose(exact, x * scipy.special.ndtr(x), rtol=1e-14, atol=1e-300)


# ============================================================================================
# PReLU
# ============================================================================================

PRELU_CONFIGS = [
    ((5,), (1,)),
    ((4, 3), (1,)),
    ((4, 3), (3,)),
    ((2, 3, 2, 2), (3,)),
    ((2, 3, 2, 2), (1,)),
    ((2, 4, 3), (4,)),
    ((1, 1, 2, 3), (1,)),
    ((3, 2), ()),
]


@pytest.mark.parametrize("x_shape, w_shape", PRELU_CONFIGS)
def test_prelu_gradcheck(x_shape, w_shape):
    rng = np.random.default_rng(sum(x_shape))
    x = _away_from_kinks(rng, x_shape)
    w = np.asarray(rng.uniform(-0.5, 0.8, size=w_shape))
    check_gradcheck(prelu, [x, w])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(8))
def test_prelu_matches_torch(seed, dtype):
    rng = np.random.default_rng(100 + seed)
    x_shape = [(6,), (5, 3), (2, 4, 5, 6), (1, 1, 4, 4), (3, 7, 5), (2, 3, 1, 1), (4, 2, 3, 2, 2), ()][seed]
    channels = x_shape[1] if len(x_shape) >= 2 else 1
    w_shape = [(1,), (channels,), ()][seed % 3]
    x = np.asarray(rng.standard_normal(x_shape) * 2)
    w = np.asarray(rng.uniform(-1.0, 1.0, size=w_shape))
    compare_with_torch(prelu, TF.prelu, [x, w], dtype=dtype, seed=seed, what=f"prelu {x_shape} {w_shape}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("requires_grad", [[True, False], [False, True]])
def test_prelu_single_gradient_and_kink(requires_grad, dtype):
    x = np.array([[0.0, 1.0, -2.0], [-0.0, -1.0, 3.0]])
    w = np.array([0.1, -0.3, 0.7])
    compare_with_torch(prelu, TF.prelu, [x, w], dtype=dtype, requires_grad=requires_grad, what="prelu one grad")


# ============================================================================================
# softmax / log_softmax
# ============================================================================================

SOFTMAX = {"softmax": (softmax, TF.softmax), "log_softmax": (log_softmax, TF.log_softmax)}

SOFTMAX_GRADCHECK = [
    ((4,), 0),
    ((3, 4), 1),
    ((3, 4), 0),
    ((2, 3, 4), 2),
    ((2, 3, 4), -2),
    ((2, 3, 2, 2), 1),
    ((2, 2, 2, 3), -1),
    ((3, 1), 1),
    ((), 0),
]


@pytest.mark.parametrize("name", SOFTMAX)
@pytest.mark.parametrize("shape, dim", SOFTMAX_GRADCHECK)
def test_softmax_gradcheck(name, shape, dim):
    x = np.asarray(np.random.default_rng(len(shape) + dim % 7).standard_normal(shape) * 2)
    fn = SOFTMAX[name][0]
    check_gradcheck(lambda t: fn(t, dim), [x])


SOFTMAX_PARITY = [
    ((7,), 0),
    ((7,), -1),
    ((5, 10), 1),
    ((5, 10), 0),
    ((2, 3, 4), 0),
    ((2, 3, 4), 1),
    ((2, 3, 4), 2),
    ((2, 5, 3, 4), 1),
    ((2, 5, 3, 4), -1),
    ((2, 5, 3, 4), 2),
    ((1, 1), 1),
    ((4, 1), 1),
    ((1, 6), 1),
    ((), 0),
    ((), -1),
    ((2, 3, 2, 2, 3), 3),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", SOFTMAX)
@pytest.mark.parametrize("shape, dim", SOFTMAX_PARITY)
def test_softmax_matches_torch(name, shape, dim, dtype):
    rng = np.random.default_rng(len(shape) * 10 + dim % 7)
    x = np.asarray(rng.standard_normal(shape) * rng.choice([1.0, 5.0]))
    ours, theirs = SOFTMAX[name]
    compare_with_torch(
        lambda t: ours(t, dim), lambda t: theirs(t, dim), [x], dtype=dtype, what=f"{name} {shape} dim={dim}"
    )


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", SOFTMAX)
@pytest.mark.parametrize("seed", range(4))
def test_softmax_extreme_logits(name, dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.choice([1e4, -1e4, 50.0, -50.0, 0.0, 1.0], size=(6, 5))
    x[0] = 1e4  # a row of equal huge logits
    x[1] = -1e4  # and of equal very negative ones
    x[2] = [1e4, -1e4, 1e4, 50.0, -50.0]
    x[3] += rng.standard_normal(5)
    dim = seed % 2
    ours, theirs = SOFTMAX[name]
    out, _ = compare_with_torch(
        lambda t: ours(t, dim), lambda t: theirs(t, dim), [x], dtype=dtype, seed=seed, what=f"{name} extreme"
    )
    assert np.all(np.isfinite(out.data))
    if name == "softmax":
        np.testing.assert_allclose(out.data.sum(axis=dim), 1.0, rtol=1e-6)


def test_log_softmax_never_takes_log_of_zero():
    y = log_softmax(cn.tensor(np.array([0.0, -1e4, 1e4])), dim=0)
    np.testing.assert_array_equal(y.data, [-1e4, -2e4, 0.0])


@pytest.mark.parametrize("name", SOFTMAX)
@pytest.mark.parametrize("ndim, expected_dim", [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1), (5, 1)])
def test_softmax_dim_none_uses_the_legacy_rule(name, ndim, expected_dim):
    x = np.asarray(np.random.default_rng(ndim).standard_normal((2, 3, 4, 2, 3)[:ndim]))
    ours, theirs = SOFTMAX[name]

    def torch_implicit(t):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return theirs(t)

    with pytest.warns(
        UserWarning,
        match=rf"^{name}: implicit dimension choice \(dim=None\) is deprecated.*"
        rf"using dim={expected_dim} for a {ndim}-D input",
    ):
        out, _ = compare_with_torch(ours, torch_implicit, [x], what=f"{name} dim=None {ndim}-D")
    np.testing.assert_array_equal(out.data, ours(cn.tensor(x), expected_dim).data)


# ============================================================================================
# Errors
# ============================================================================================


@pytest.mark.parametrize(
    "name, fn",
    [
        ("relu", relu),
        ("leaky_relu", leaky_relu),
        ("elu", elu),
        ("gelu", gelu),
        ("sigmoid", sigmoid),
        ("tanh", tanh),
        ("softmax", lambda x: softmax(x, 0)),
        ("log_softmax", lambda x: log_softmax(x, 0)),
        ("prelu", lambda x: prelu(x, cn.tensor([0.25]))),
    ],
)
def test_input_type_errors(name, fn):
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating-point input\. Received: input of dtype int64"):
        fn(cn.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match=rf"^{name}: expected input to be a tensor\. Received: str"):
        fn("abc")


def test_parameter_type_errors():
    x = cn.tensor([1.0, -1.0])
    with pytest.raises(
        TypeError,
        match=r"^leaky_relu: negative_slope must be a real number\. "
        r"Received: negative_slope='a'",
    ):
        leaky_relu(x, "a")
    with pytest.raises(
        TypeError,
        match=r"^leaky_relu: negative_slope must be a real number\. "
        r"Received: negative_slope=True",
    ):
        leaky_relu(x, True)
    with pytest.raises(TypeError, match=r"^elu: alpha must be a real number\. Received: alpha=None"):
        elu(x, alpha=None)
    with pytest.raises(
        ValueError,
        match=r"^gelu: approximate must be 'none' or 'tanh'\. "
        r"Received: approximate='erf'",
    ):
        gelu(x, approximate="erf")
    with pytest.raises(ValueError, match=r"^gelu: approximate must be .*Received: approximate=None"):
        gelu(x, approximate=None)


def test_prelu_errors():
    x4 = cn.tensor(np.ones((2, 3, 4, 4)))
    with pytest.raises(
        ValueError,
        match=r"^prelu: expected weight with 1 element or C = input.shape\[1\] = 3 "
        r"elements .*Received: weight with 2 elements for input of shape "
        r"\(2, 3, 4, 4\)",
    ):
        prelu(x4, cn.tensor(np.ones(2)))
    with pytest.raises(
        ValueError,
        match=r"^prelu: expected weight with 1 element or C = input.shape\[1\] = 1 "
        r"elements \(inputs with fewer than 2 dimensions have C = 1\)\. "
        r"Received: weight with 5 elements for input of shape \(5,\)",
    ):
        prelu(cn.tensor(np.ones(5)), cn.tensor(np.ones(5)))
    with pytest.raises(
        ValueError,
        match=r"^prelu: expected weight to be a scalar or a 1-D tensor\. "
        r"Received: weight of shape \(1, 3\)",
    ):
        prelu(x4, cn.tensor(np.ones((1, 3))))
    with pytest.raises(
        TypeError,
        match=r"^prelu: expected weight to have the input's dtype float64\. "
        r"Received: weight of dtype float32",
    ):
        prelu(x4, cn.tensor(np.ones(3, np.float32)))
    with pytest.raises(
        TypeError,
        match=r"^prelu: expected a floating-point weight\. "
        r"Received: weight of dtype int64",
    ):
        prelu(x4, cn.tensor([1, 2, 3]))


@pytest.mark.parametrize("name, fn", [("softmax", softmax), ("log_softmax", log_softmax)])
def test_softmax_dim_errors(name, fn):
    x = cn.tensor(np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=rf"^{name}: dim out of range for an input with 2 dimensions "
        rf"\(expected -2 <= dim < 2\)\. Received: dim=2",
    ):
        fn(x, 2)
    with pytest.raises(ValueError, match=rf"^{name}: dim out of range .*Received: dim=-3"):
        fn(x, -3)
    with pytest.raises(
        ValueError,
        match=rf"^{name}: dim out of range for an input with 0 dimensions "
        rf"\(expected -1 <= dim < 1\)\. Received: dim=1",
    ):
        fn(cn.tensor(1.0), 1)
    with pytest.raises(TypeError, match=rf"^{name}: dim must be an int or None\. Received: dim=1.0"):
        fn(x, 1.0)
    with pytest.raises(TypeError, match=rf"^{name}: dim must be an int or None\. Received: dim=True"):
        fn(x, True)


# ============================================================================================
# relu: bit-exact PyTorch semantics on every path (small, large on the worker threads, the row
# block and its tail, non-contiguous input; the kernel's thresholds: tests/kernels/test_activation.py)
# ============================================================================================


def _relu_inputs(rng, shape, dtype):
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    specials = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45], dtype)
    idx = rng.choice(flat.size, size=min(flat.size, 64), replace=False)
    flat[idx] = np.resize(specials, idx.size)
    return x


def _check_relu_exactly(x, g, sign_of_zero=True):
    """Output and gradient bit for bit as torch (NaN payloads aside): values, sign of zero, NaN."""
    cx = cn.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    y, ty = relu(cx), TF.relu(tx)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for ours, theirs in ((y.data, ty.detach().numpy()), (cx.grad, tx.grad.numpy())):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        ok = ~np.isnan(theirs)
        np.testing.assert_array_equal(ours[ok], theirs[ok])
        if sign_of_zero:
            np.testing.assert_array_equal(np.signbit(ours[ok]), np.signbit(theirs[ok]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape",
    [
        (),
        (1,),
        (7,),
        (3, 5),
        (1, 3, 5, 7),  # one thread, under one row block
        (2, 3, 150, 151),  # one thread, a row block and a tail
        (5, 3, 257, 275),  # >= 2^20: worker threads, a tail
        (1, 1100, 1000),
    ],
)  # large, batch of one: one slice
def test_relu_is_bit_exact_like_torch_above_and_below_the_thresholds(shape, dtype):
    rng = np.random.default_rng(len(shape) + sum(shape))
    x = _relu_inputs(rng, shape, dtype)
    g = rng.standard_normal(shape).astype(dtype)
    if g.size:
        g.reshape(-1)[: min(g.size, 6)] = [np.inf, -np.inf, np.nan, np.inf, np.nan, -np.inf][: min(g.size, 6)]
    _check_relu_exactly(x, g)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_blocked_gradient_is_zero_even_for_inf_and_nan_upstream(dtype):
    # threshold_backward: (y <= 0) ? 0 : g, so a blocked inf or NaN gives 0, not inf * 0 = NaN;
    # a NaN output passes its gradient
    x = np.array([-1.0, -1.0, 0.0, -0.0, np.nan, 2.0, -np.inf, np.inf], dtype)
    g = np.array([np.inf, np.nan, -np.inf, np.nan, 3.0, np.nan, np.inf, -2.0], dtype)
    _check_relu_exactly(x, g)
    cx = cn.tensor(x, requires_grad=True)
    relu(cx).backward(g)
    np.testing.assert_array_equal(cx.grad[:4], 0.0)
    assert cx.grad[4] == 3.0 and np.isnan(cx.grad[5]) and cx.grad[6] == 0.0 and cx.grad[7] == -2.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_of_non_contiguous_input(dtype):
    rng = np.random.default_rng(3)
    base = _relu_inputs(rng, (6, 40, 30), dtype)
    for x in (base.transpose(2, 0, 1), base[:, ::3, 1::2]):
        _check_relu_exactly(x, rng.standard_normal(x.shape).astype(dtype))


def test_relu_keeps_float16():
    # NumPy's float16 maximum is not the SIMD loop: relu(-0.0) is +0.0 there (equal to torch's -0.0)
    x = np.array([-1.5, 0.0, -0.0, 2.5, np.nan], np.float16)
    _check_relu_exactly(x, np.array([1.0, 2.0, 3.0, np.inf, 5.0], np.float16), sign_of_zero=False)


def test_relu_context_offers_its_mask_for_guided_backprop():
    # convnp.inspect's guided backprop multiplies by pass_mask of the recorded node (not (y <= 0)),
    # the lecture Relu's or its kernel's (whichever the engine ran)
    x = np.array([-1.0, 0.0, -0.0, 2.0, np.nan])
    y = relu(cn.tensor(x, requires_grad=True))
    assert y._node.function is (activation_module.Relu if cn.get_engine("activation") == "reference" else BitmaskRelu)
    mask = y._node.function.pass_mask(y._node.ctx)
    assert mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, [False, False, False, True, True])
    np.testing.assert_array_equal(np.ones(5) * mask, [0.0, 0.0, 0.0, 1.0, 1.0])


def test_relu_long_double():
    x = np.array([-1.5, 0.0, -0.0, 2.5, np.nan, -np.inf], np.longdouble)
    g = np.array([1.0, np.inf, np.nan, 4.0, 5.0, np.nan], np.longdouble)
    cx = cn.tensor(x, requires_grad=True)
    y = relu(cx)
    assert y.dtype == np.longdouble
    y.backward(g)
    np.testing.assert_array_equal(cx.grad, [0.0, 0.0, 0.0, 4.0, 5.0, 0.0])


def test_lecture_relu_saves_its_mask():
    ctx = type("Ctx", (), {"needs_input_grad": (True,)})()
    out = activation_module.Relu.forward(ctx, np.array([-1.0, 0.0, -0.0, 2.0, np.nan, -np.inf]))
    np.testing.assert_array_equal(ctx.mask, [False, False, False, True, True, False])
    np.testing.assert_array_equal(
        activation_module.Relu.backward(ctx, np.full(6, np.inf)), [0.0, 0.0, 0.0, np.inf, np.inf, 0.0]
    )
    assert np.isnan(out[4]) and np.signbit(out[2]) and out[5] == 0.0
