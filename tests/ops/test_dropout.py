"""dropout / dropout2d: statistics of the mask, inverted scaling, gradients, reproducibility, errors.

Masks come from NumPy's generator, not PyTorch's, so the parity checked here is of semantics
(the formula y = x * m / (1 - p) and its gradient), not of the random draws.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import assert_close, check_gradcheck

import convnp as cn
from convnp.ops.dropout import dropout, dropout2d

DTYPES = [np.float64, np.float32]


def _nonzero(rng, shape, dtype=np.float64):
    """Inputs bounded away from 0, so that y == 0 exactly where the mask dropped."""
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)
    return x.astype(dtype)


# ============================================================================================
# dropout
# ============================================================================================


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_kept_fraction_is_one_minus_p(p):
    n = 1_000_000
    y = dropout(cn.ones(n, dtype=np.float64), p, generator=np.random.default_rng(int(p * 10)))
    kept = np.count_nonzero(y.data) / n
    sigma = np.sqrt(p * (1 - p) / n)  # binomial standard deviation of the fraction
    assert abs(kept - (1 - p)) < 5 * sigma, f"kept {kept}, expected {1 - p} +- {5 * sigma:.1e}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.75])
def test_kept_values_are_scaled_and_gradient_is_mask_times_scale(p, dtype):
    rng = np.random.default_rng(0)
    data = _nonzero(rng, (4, 3, 5, 6), dtype)
    x = cn.tensor(data, requires_grad=True)
    y = dropout(x, p, generator=np.random.default_rng(1))
    assert y.dtype == dtype and y.shape == data.shape
    kept = y.data != 0
    assert 0 < kept.sum() < kept.size
    rtol = 1e-15 if dtype == np.float64 else 3e-7  # two roundings at most
    np.testing.assert_allclose(y.data[kept], data[kept] / (1 - p), rtol=rtol)
    upstream = rng.standard_normal(data.shape).astype(dtype)
    y.backward(upstream)
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad, upstream * kept / (1 - p), rtol=rtol)
    # the same formula in PyTorch, with our mask: forward and gradient agree
    mask = torch.tensor(kept.astype(dtype))
    tx = torch.tensor(data, requires_grad=True)
    ty = tx * mask / (1 - p)
    ty.backward(torch.tensor(upstream))
    assert_close(y, ty, 1e-12 if dtype == np.float64 else 1e-6, "dropout forward vs torch formula")
    assert_close(x.grad, tx.grad, 1e-12 if dtype == np.float64 else 1e-6, "dropout grad vs torch formula")


def test_expected_value_is_preserved():
    # inverted dropout: E[y] = x, so evaluation needs no rescaling
    x = cn.full((400_000,), 3.0, dtype=np.float64)
    y = dropout(x, 0.3, generator=np.random.default_rng(5))
    sigma = 3.0 * np.sqrt(0.3 / 0.7 / x.numel())
    assert abs(y.data.mean() - 3.0) < 5 * sigma


@pytest.mark.parametrize("p", [0.3, 0.6])
def test_dropout_gradcheck_with_a_fixed_mask(p):
    x = _nonzero(np.random.default_rng(2), (3, 4))
    check_gradcheck(lambda t: dropout(t, p, generator=np.random.default_rng(11)), [x])


def test_same_seed_same_mask():
    x = cn.ones(50, 40, dtype=np.float64)
    cn.manual_seed(123)
    a = dropout(x, 0.5).data
    b = dropout(x, 0.5).data
    cn.manual_seed(123)
    np.testing.assert_array_equal(dropout(x, 0.5).data, a)
    np.testing.assert_array_equal(dropout(x, 0.5).data, b)
    assert not np.array_equal(a, b)  # the default generator advances
    c = dropout(x, 0.5, generator=np.random.default_rng(9)).data
    np.testing.assert_array_equal(dropout(x, 0.5, generator=np.random.default_rng(9)).data, c)
    assert not np.array_equal(c, dropout(x, 0.5, generator=np.random.default_rng(10)).data)
    # the mask does not depend on the dtype
    c32 = dropout(x.float(), 0.5, generator=np.random.default_rng(9)).data
    np.testing.assert_array_equal(c32 != 0, c != 0)


@pytest.mark.parametrize("fn", [dropout, dropout2d])
def test_eval_and_p_zero_return_the_input(fn):
    x = cn.tensor(_nonzero(np.random.default_rng(0), (2, 3, 4, 4)), requires_grad=True)
    assert fn(x, 0.5, training=False) is x
    assert fn(x, 0.0) is x
    assert fn(x, 0, training=True) is x
    y = fn(x, 0.0) * 2.0
    y.backward(np.ones(x.shape))
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 2.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn", [dropout, dropout2d])
def test_p_one_gives_zeros_and_zero_gradient(fn, dtype):
    x = cn.tensor(_nonzero(np.random.default_rng(0), (2, 3, 4, 4), dtype), requires_grad=True)
    y = fn(x, 1.0)
    assert y.dtype == dtype and np.all(y.data == 0) and np.all(np.isfinite(y.data))
    y.backward(np.ones(x.shape))
    np.testing.assert_array_equal(x.grad, np.zeros(x.shape))


@pytest.mark.parametrize("fn", [dropout, dropout2d])
def test_inplace_is_accepted_and_computed_out_of_place(fn):
    data = _nonzero(np.random.default_rng(0), (2, 3, 4, 4))
    x = cn.tensor(data)
    y = fn(x, 0.5, inplace=True, generator=np.random.default_rng(0))
    np.testing.assert_array_equal(x.data, data)
    np.testing.assert_array_equal(y.data, fn(x, 0.5, generator=np.random.default_rng(0)).data)


# ============================================================================================
# dropout2d
# ============================================================================================


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 6, 5, 3), (1, 1, 2, 2), (8, 3, 1, 7), (6, 4, 3)])
def test_dropout2d_zeroes_whole_channels(shape, dtype):
    rng = np.random.default_rng(len(shape))
    p = 0.4
    data = _nonzero(rng, shape, dtype)
    x = cn.tensor(data, requires_grad=True)
    y = dropout2d(x, p, generator=np.random.default_rng(3))
    kept = y.data != 0
    per_channel = kept.reshape(shape[:-2] + (-1,))  # (N, C, H*W) or (C, H*W)
    assert np.all(per_channel.all(axis=-1) | ~per_channel.any(axis=-1)), "a channel was partly dropped"
    rtol = 1e-15 if dtype == np.float64 else 3e-7  # two roundings at most
    np.testing.assert_allclose(y.data[kept], data[kept] / (1 - p), rtol=rtol)
    upstream = rng.standard_normal(shape).astype(dtype)
    y.backward(upstream)
    np.testing.assert_allclose(x.grad, upstream * kept / (1 - p), rtol=rtol)


def test_dropout2d_channel_statistics_and_gradcheck():
    n, c, p = 500, 400, 0.3
    y = dropout2d(cn.ones(n, c, 2, 2, dtype=np.float64), p, generator=np.random.default_rng(4))
    kept = y.data[:, :, 0, 0] != 0
    sigma = np.sqrt(p * (1 - p) / (n * c))
    assert abs(kept.mean() - (1 - p)) < 5 * sigma
    assert kept.any(axis=0).all() and (~kept).any(axis=0).all()  # the mask varies over samples too
    x = _nonzero(np.random.default_rng(3), (2, 3, 2, 2))
    check_gradcheck(lambda t: dropout2d(t, 0.5, generator=np.random.default_rng(6)), [x])


def test_dropout2d_same_seed_same_mask():
    x = cn.ones(4, 8, 3, 3, dtype=np.float64)
    cn.manual_seed(7)
    a = dropout2d(x, 0.5).data
    cn.manual_seed(7)
    np.testing.assert_array_equal(dropout2d(x, 0.5).data, a)


def test_dropout2d_matches_torch_on_4d_semantics():
    # with torch's own mask read back from its output, torch's result is x * m / (1 - p) per channel
    torch.manual_seed(0)
    data = _nonzero(np.random.default_rng(0), (3, 5, 4, 4))
    t = TF.dropout2d(torch.tensor(data), 0.5)
    m = t.numpy()[:, :, :1, :1] != 0  # (N, C, 1, 1)
    ours = cn.tensor(data) * cn.tensor(m.astype(np.float64) / 0.5)
    assert_close(ours, t, 1e-15, "dropout2d formula")


# ============================================================================================
# Errors
# ============================================================================================


@pytest.mark.parametrize("name, fn", [("dropout", dropout), ("dropout2d", dropout2d)])
def test_errors(name, fn):
    x = cn.tensor(np.ones((2, 3, 4, 4)))
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(
            ValueError,
            match=rf"^{name}: dropout probability p must be between 0 and 1\. "
            rf"Received: p={bad}",
        ):
            fn(x, bad)
    with pytest.raises(TypeError, match=rf"^{name}: p must be a real number in \[0, 1\]\. Received: p='0.5'"):
        fn(x, "0.5")
    with pytest.raises(TypeError, match=rf"^{name}: p must be a real number in \[0, 1\]\. Received: p=True"):
        fn(x, True)
    with pytest.raises(TypeError, match=rf"^{name}: training must be a bool\. Received: training='yes'"):
        fn(x, 0.5, training="yes")
    with pytest.raises(
        TypeError,
        match=rf"^{name}: generator must be a numpy.random.Generator or None\. "
        rf"Received: int",
    ):
        fn(x, 0.5, generator=42)
    with pytest.raises(
        TypeError,
        match=rf"^{name}: expected a floating-point input\. "
        rf"Received: input of dtype int64",
    ):
        fn(cn.tensor(np.ones((2, 3, 4, 4), np.int64)), 0.5)
    with pytest.raises(TypeError, match=rf"^{name}: expected input to be a tensor\. Received: str"):
        fn("abc", 0.5)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (1, 2, 3, 4, 5)])
def test_dropout2d_rank_error(shape):
    with pytest.raises(
        ValueError,
        match=r"^dropout2d: expected input of shape \(N, C, H, W\) or \(C, H, W\)\. "
        rf"Received: input of shape {re_escape(shape)}",
    ):
        dropout2d(cn.tensor(np.ones(shape)), 0.5)
    with pytest.raises(ValueError, match=r"^dropout2d: expected input of shape"):
        dropout2d(cn.tensor(np.ones(shape)), 0.5, training=False)  # checked even in eval


def re_escape(shape):
    import re

    return re.escape(str(shape))


# ============================================================================================
# dropout1d, dropout3d (channel dropout) and alpha_dropout
# ============================================================================================
import re  # noqa: E402

from convnp.ops.dropout import SELU_ALPHA_PRIME, alpha_dropout, dropout1d, dropout3d  # noqa: E402


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "fn, shape",
    [
        (dropout1d, (4, 6, 5)),
        (dropout1d, (1, 1, 3)),
        (dropout1d, (7, 9)),
        (dropout3d, (3, 4, 2, 3, 5)),
        (dropout3d, (1, 2, 1, 1, 3)),
        (dropout3d, (6, 2, 3, 2)),
    ],
)
def test_dropout1d_and_3d_zero_whole_channels(fn, shape, dtype):
    rng = np.random.default_rng(len(shape))
    p = 0.4
    data = _nonzero(rng, shape, dtype)
    x = cn.tensor(data, requires_grad=True)
    y = fn(x, p, generator=np.random.default_rng(3))
    assert y.dtype == dtype and y.shape == shape
    kept = y.data != 0
    spatial = 1 if fn is dropout1d else 3
    per_channel = kept.reshape(shape[:-spatial] + (-1,))
    assert np.all(per_channel.all(axis=-1) | ~per_channel.any(axis=-1)), "a channel was partly dropped"
    rtol = 1e-15 if dtype == np.float64 else 3e-7
    np.testing.assert_allclose(y.data[kept], data[kept] / (1 - p), rtol=rtol)
    upstream = rng.standard_normal(shape).astype(dtype)
    y.backward(upstream)
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad, upstream * kept / (1 - p), rtol=rtol)


@pytest.mark.parametrize("fn, shape", [(dropout1d, (300, 400, 2)), (dropout3d, (300, 400, 1, 1, 2))])
def test_dropout1d_and_3d_channel_statistics_gradcheck_and_torch_formula(fn, shape):
    p = 0.3
    y = fn(cn.ones(*shape, dtype=np.float64), p, generator=np.random.default_rng(4))
    kept = y.data.reshape(shape[:2] + (-1,))[:, :, 0] != 0
    sigma = np.sqrt(p * (1 - p) / kept.size)
    assert abs(kept.mean() - (1 - p)) < 5 * sigma
    assert kept.any(axis=0).all() and (~kept).any(axis=0).all()  # the mask varies over samples too
    small = (2, 3, 4) if fn is dropout1d else (2, 3, 2, 2, 2)
    x = _nonzero(np.random.default_rng(3), small)
    check_gradcheck(lambda t: fn(t, 0.5, generator=np.random.default_rng(6)), [x])
    # torch's result, with its mask read back from its output, is x * m / (1 - p) per channel
    torch.manual_seed(0)
    data = _nonzero(np.random.default_rng(0), small)
    t = (TF.dropout1d if fn is dropout1d else TF.dropout3d)(torch.tensor(data), 0.5)
    m = t.numpy().reshape(small[:2] + (-1,))[:, :, :1] != 0
    assert np.all((t.numpy().reshape(small[:2] + (-1,)) != 0) == m)
    ours = fn(cn.tensor(data), 0.5, generator=np.random.default_rng(0))
    ours_m = ours.data.reshape(small[:2] + (-1,))[:, :, :1] != 0
    assert_close(ours, data * ours_m.reshape(small[:2] + (1,) * (len(small) - 2)) / 0.5, 1e-15, "formula")


@pytest.mark.parametrize("fn", [dropout1d, dropout3d, alpha_dropout])
def test_new_dropouts_eval_p_zero_and_p_one(fn):
    shape = (2, 3, 4) if fn is dropout1d else (2, 3, 2, 2, 2)
    x = cn.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    assert fn(x, 0.5, training=False) is x
    assert fn(x, 0.0, training=True) is x
    y = fn(x, 1.0, training=True)
    np.testing.assert_array_equal(y.data, 0.0)
    y.backward(np.ones(shape))
    np.testing.assert_array_equal(x.grad, 0.0)


def test_alpha_dropout_defaults_to_eval_like_torch():
    x = cn.randn(3, 4)
    assert alpha_dropout(x) is x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_alpha_dropout_mask_rule_and_gradient(p, dtype):
    rng = np.random.default_rng(int(p * 100))
    data = rng.standard_normal((50, 40)).astype(dtype)
    x = cn.tensor(data, requires_grad=True)
    y = alpha_dropout(x, p, training=True, generator=np.random.default_rng(1))
    assert y.dtype == dtype
    alpha = SELU_ALPHA_PRIME
    a = 1 / np.sqrt((1 - p) * (1 + p * alpha**2))
    kept_value = a * data + a * alpha * p  # m = 1
    dropped_value = a * alpha * (p - 1)  # m = 0: a (-alpha') + b
    tol = 1e-12 if dtype == np.float64 else 1e-5
    kept = np.random.default_rng(1).random(data.shape) >= p  # the mask drawn: P(keep) = 1 - p
    assert 0 < kept.sum() < kept.size
    assert_close(y.data[kept], kept_value[kept], tol, "kept units")
    np.testing.assert_allclose(y.data[~kept], dropped_value, rtol=tol)
    upstream = rng.standard_normal(data.shape).astype(dtype)
    y.backward(upstream)
    np.testing.assert_allclose(x.grad, upstream * a * kept, rtol=tol, atol=0)
    # the same rule in PyTorch's alpha_dropout, with its mask read back from its output
    torch.manual_seed(0)
    t = TF.alpha_dropout(torch.tensor(data.astype(np.float64)), p, True).numpy()
    t_kept = np.abs(t - kept_value.astype(np.float64)) <= 1e-5
    assert np.all(t_kept | (np.abs(t - dropped_value) <= 1e-12))


@pytest.mark.parametrize("p", [0.1, 0.3, 0.6])
def test_alpha_dropout_keeps_zero_mean_and_unit_variance(p):
    data = np.random.default_rng(0).standard_normal(2_000_000)
    y = alpha_dropout(cn.tensor(data), p, training=True, generator=np.random.default_rng(5)).data
    assert abs(y.mean()) < 5e-3 and abs(y.var() - 1) < 5e-3, (y.mean(), y.var())


def test_alpha_dropout_gradcheck_and_same_seed_same_mask():
    x = np.random.default_rng(2).standard_normal((3, 5))
    check_gradcheck(lambda t: alpha_dropout(t, 0.4, True, generator=np.random.default_rng(6)), [x])
    cn.manual_seed(7)
    first = alpha_dropout(cn.tensor(x), 0.5, True).data
    cn.manual_seed(7)
    np.testing.assert_array_equal(alpha_dropout(cn.tensor(x), 0.5, True).data, first)


@pytest.mark.parametrize(
    "name, fn", [("dropout1d", dropout1d), ("dropout3d", dropout3d), ("alpha_dropout", alpha_dropout)]
)
def test_errors_of_the_new_dropouts(name, fn):
    test_errors(name, fn)
    if fn is alpha_dropout:  # any shape: nothing more to refuse
        return
    bad = (2, 3, 4, 4) if fn is dropout1d else (2, 3, 4)
    with pytest.raises(
        ValueError,
        match=rf"^{name}: expected input of shape .*Received: input of shape "
        rf"{re.escape(str(bad))}$",
    ):
        fn(cn.ones(*bad), 0.5)


# ============================================================================================
# The layers Dropout1d, Dropout3d, AlphaDropout (convnp/nn/dropout.py)
# ============================================================================================
from convnp import nn  # noqa: E402


@pytest.mark.parametrize(
    "cls, shape",
    [
        ("Dropout1d", (3, 4, 5)),
        ("Dropout1d", (4, 5)),
        ("Dropout3d", (2, 3, 2, 2, 2)),
        ("Dropout3d", (3, 2, 2, 2)),
        ("AlphaDropout", (2, 3, 4)),
    ],
)
def test_dropout_layers_train_eval_repr_and_output_shape(cls, shape):
    ours, theirs = getattr(nn, cls)(0.3), getattr(torch.nn, cls)(0.3)
    assert repr(ours) == repr(theirs)
    x = cn.tensor(_nonzero(np.random.default_rng(0), shape))
    assert ours.eval()(x) is x
    cn.manual_seed(3)
    y = ours.train()(x)
    fn = {"Dropout1d": dropout1d, "Dropout3d": dropout3d, "AlphaDropout": alpha_dropout}[cls]
    cn.manual_seed(3)
    np.testing.assert_array_equal(y.data, fn(x, 0.3, True).data)  # the layer is its function
    assert ours.output_shape(shape) == shape


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (nn.Dropout1d(), (2, 3, 4, 4), "expected 2D or 3D input (C, L) or (N, C, L), received shape (2, 3, 4, 4)"),
        (
            nn.Dropout3d(),
            (2, 3, 4),
            "expected 4D or 5D input (C, D, H, W) or (N, C, D, H, W), received shape (2, 3, 4)",
        ),
    ],
)
def test_dropout_layer_input_errors(layer, shape, message):
    for call in (lambda: layer(cn.zeros(*shape)), lambda: layer.output_shape(shape)):
        with pytest.raises(nn.LayerInputError) as err:
            call()
        assert message in str(err.value)


@pytest.mark.parametrize("cls", ["Dropout1d", "Dropout3d", "AlphaDropout"])
def test_dropout_layer_constructor_errors(cls):
    with pytest.raises(ValueError, match=rf"^{cls}: dropout probability p must be between 0 and 1\. Received: p=1.5"):
        getattr(nn, cls)(1.5)
    with pytest.raises(TypeError, match=rf"^{cls}: p must be a number between 0 and 1\. Received: p='a'"):
        getattr(nn, cls)("a")
    with pytest.raises(TypeError, match=rf"^{cls}: inplace must be a bool\. Received: inplace=1"):
        getattr(nn, cls)(0.5, 1)
