"""linear: gradcheck, PyTorch parity of forward and every gradient (float64, float32), errors."""

import numpy as np
import pytest
import torch.nn.functional as TF
from helpers import check_gradcheck, compare_with_torch

import convnp as cn
from convnp.ops.linear import linear

DTYPES = [np.float64, np.float32]


def _make(rng, lead, in_features, out_features, bias):
    x = rng.standard_normal(lead + (in_features,))
    w = rng.standard_normal((out_features, in_features)) / np.sqrt(in_features)
    b = rng.standard_normal(out_features) if bias else None
    return x, w, b


@pytest.mark.parametrize(
    "lead, in_f, out_f", [((3,), 4, 2), ((2, 3, 2), 3, 4), ((), 3, 2), ((1, 1, 2, 1), 2, 1), ((4,), 1, 3)]
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(lead, in_f, out_f, bias):
    x, w, b = _make(np.random.default_rng(len(lead) + in_f), lead, in_f, out_f, bias)
    if bias:
        check_gradcheck(linear, [x, w, b])
    else:
        check_gradcheck(lambda x_, w_: linear(x_, w_), [x, w])


CONFIGS = [
    ((8,), 5, 3),  # plain batch of vectors
    ((), 6, 4),  # one unbatched vector
    ((1,), 7, 1),  # batch 1, one output
    ((4, 3), 1, 5),  # one input feature
    ((2, 3, 4), 9, 6),  # (N, H, W, in)
    ((2, 1, 3, 5), 4, 7),  # four leading axes, one of them 1
    ((0,), 3, 2),  # empty batch
    ((16,), 64, 10),  # bigger GEMM
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("config", range(len(CONFIGS)))
def test_linear_matches_torch(config, bias, dtype):
    lead, in_f, out_f = CONFIGS[config]
    x, w, b = _make(np.random.default_rng(config), lead, in_f, out_f, bias)
    inputs = [x, w, b] if bias else [x, w]
    out, _ = compare_with_torch(
        linear, TF.linear, inputs, dtype=dtype, seed=config, what=f"linear {lead}x{in_f}->{out_f} bias={bias}"
    )
    assert out.shape == lead + (out_f,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "requires_grad", [[True, False, False], [False, True, False], [False, False, True], [False, True, True]]
)
def test_linear_gradient_subsets(requires_grad, dtype):
    x, w, b = _make(np.random.default_rng(3), (2, 3), 5, 4, True)
    compare_with_torch(
        linear, TF.linear, [x, w, b], dtype=dtype, requires_grad=requires_grad, what=f"linear grads {requires_grad}"
    )


def test_linear_backward_formulas_explicitly():
    rng = np.random.default_rng(0)
    x, w, b = _make(rng, (2, 3), 4, 5, True)
    g = rng.standard_normal((2, 3, 5))
    tx, tw, tb = (cn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = linear(tx, tw, tb)
    np.testing.assert_allclose(y.data, np.einsum("abi,oi->abo", x, w) + b, rtol=1e-13)
    y.backward(g)
    np.testing.assert_allclose(tx.grad, g @ w, rtol=1e-13)
    np.testing.assert_allclose(tw.grad, np.einsum("abo,abi->oi", g, x), rtol=1e-13)
    np.testing.assert_allclose(tb.grad, g.sum(axis=(0, 1)), rtol=1e-13)


def test_linear_keeps_float32():
    x, w, b = (a.astype(np.float32) for a in _make(np.random.default_rng(1), (3,), 4, 2, True))
    y = linear(cn.tensor(x), cn.tensor(w), cn.tensor(b))
    assert y.dtype == np.float32


def test_linear_errors():
    x = cn.tensor(np.ones((2, 4)))
    w = cn.tensor(np.ones((3, 5)))
    with pytest.raises(
        ValueError,
        match=r"^linear: expected input with in_features=5 \(weight.shape\[1\]\) in its "
        r"last dimension, got 4\. Received: input of shape \(2, 4\), "
        r"weight of shape \(3, 5\)",
    ):
        linear(x, w)
    with pytest.raises(
        ValueError,
        match=r"^linear: expected a 2-D weight of shape \(out_features, in_features\)\. "
        r"Received: weight of shape \(4,\)",
    ):
        linear(x, cn.tensor(np.ones(4)))
    with pytest.raises(ValueError, match=r"^linear: expected a 2-D weight .*Received: weight of shape \(1, 3, 4\)"):
        linear(x, cn.tensor(np.ones((1, 3, 4))))
    with pytest.raises(
        ValueError,
        match=r"^linear: expected bias of shape \(out_features,\) = \(3,\)\. "
        r"Received: bias of shape \(4,\)",
    ):
        linear(x, cn.tensor(np.ones((3, 4))), cn.tensor(np.ones(4)))
    with pytest.raises(ValueError, match=r"^linear: expected bias of shape .*Received: bias of shape \(1, 3\)"):
        linear(x, cn.tensor(np.ones((3, 4))), cn.tensor(np.ones((1, 3))))
    with pytest.raises(
        ValueError,
        match=r"^linear: expected input of shape \(\*, in_features=4\) with at least "
        r"1 dimension\. Received: input of shape \(\)",
    ):
        linear(cn.tensor(np.float64(1.0)), cn.tensor(np.ones((3, 4))))
    with pytest.raises(
        TypeError,
        match=r"^linear: expected input, weight and bias of one dtype\. "
        r"Received: input float64, weight float32, bias float64",
    ):
        linear(x, cn.tensor(np.ones((3, 4), np.float32)), cn.tensor(np.ones(3)))
    with pytest.raises(
        TypeError,
        match=r"^linear: expected input, weight and bias of one dtype\. "
        r"Received: input float64, weight float32$",
    ):
        linear(x, cn.tensor(np.ones((3, 4), np.float32)))
    with pytest.raises(
        TypeError,
        match=r"^linear: expected a floating-point weight\. "
        r"Received: weight of dtype int64",
    ):
        linear(x, cn.tensor(np.ones((3, 4), np.int64)))
    with pytest.raises(TypeError, match=r"^linear: expected input to be a tensor\. Received: str"):
        linear("x", cn.tensor(np.ones((3, 4))))
