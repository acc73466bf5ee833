"""locally_connected2d: PyTorch parity (a reference built from unfold + einsum), gradcheck, equality
with conv2d when every position has the same filter, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import TOL, assert_close, check_gradcheck, compare_with_torch

import convnp as cn
from convnp.ops.locally_connected import locally_connected2d


def torch_locally_connected2d(x, weight, bias=None, stride=1, padding=0):
    """Reference: unfold every window, then each position p applies its own weight[p]."""
    oh, ow, co, ci, kh, kw = weight.shape
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (N, C*kh*kw, L)
    assert cols.shape[-1] == oh * ow
    w = weight.reshape(oh * ow, co, ci * kh * kw)  # (L, Co, C*kh*kw)
    y = torch.einsum("nkl,lok->nol", cols, w).reshape(x.shape[0], co, oh, ow)
    return y if bias is None else y + bias


def _out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


# (N, C_in, H, W, C_out, kh, kw, stride, padding, bias)
EDGE_CASES = [
    (2, 3, 7, 7, 4, 3, 3, 2, 0, True),  # stride 2 does not divide 7 - 3
    (2, 2, 8, 8, 3, 3, 3, 3, 1, True),  # stride 3 does not divide, padding
    (1, 1, 5, 5, 1, 3, 3, 1, 1, True),  # batch 1, one channel
    (3, 2, 6, 9, 2, 2, 4, (1, 2), (1, 0), False),  # non-square input, kernel, stride, padding; no bias
    (2, 3, 4, 5, 2, 6, 7, 1, 1, True),  # kernel as large as the padded input: one position
    (1, 4, 5, 3, 5, 1, 1, 1, 0, True),  # 1x1 kernel
    (2, 1, 9, 4, 3, 4, 2, 3, 2, True),  # padding wider than the stride step
]


def _random_configs(count, seed):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        n, c, co = (int(v) for v in rng.integers(1, 4, size=3))
        h, w = (int(v) for v in rng.integers(2, 10, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 5, size=2))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
        padding = tuple(int(v) for v in rng.integers(0, 3, size=2))
        if min(_out(h, kh, stride[0], padding[0]), _out(w, kw, stride[1], padding[1])) < 1:
            continue
        configs.append((n, c, h, w, co, kh, kw, stride, padding, bool(rng.integers(2))))
    return configs


CONFIGS = EDGE_CASES + _random_configs(12, seed=11)


def _inputs(config, seed=0):
    n, c, h, w, co, kh, kw, stride, padding, bias = config
    s = stride if isinstance(stride, tuple) else (stride, stride)
    p = padding if isinstance(padding, tuple) else (padding, padding)
    oh, ow = _out(h, kh, s[0], p[0]), _out(w, kw, s[1], p[1])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w))
    weight = rng.standard_normal((oh, ow, co, c, kh, kw))
    b = rng.standard_normal((co, oh, ow)) if bias else None
    return x, weight, b, stride, padding


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_matches_torch(config, dtype):
    x, weight, b, stride, padding = _inputs(config, seed=CONFIGS.index(config))
    if b is None:
        compare_with_torch(
            lambda x, w: locally_connected2d(x, w, None, stride, padding),
            lambda x, w: torch_locally_connected2d(x, w, None, stride, padding),
            [x, weight],
            dtype=dtype,
            what=str(config),
        )
    else:
        compare_with_torch(
            lambda x, w, b: locally_connected2d(x, w, b, stride, padding),
            lambda x, w, b: torch_locally_connected2d(x, w, b, stride, padding),
            [x, weight, b],
            dtype=dtype,
            what=str(config),
        )


GRADCHECK = [
    (2, 2, 4, 4, 2, 2, 2, 2, 0, True),
    (1, 1, 5, 4, 2, 3, 2, (2, 1), (1, 0), True),
    (2, 2, 3, 3, 1, 2, 2, 1, 1, True),
    (1, 2, 4, 3, 2, 3, 3, 1, 0, False),
]


@pytest.mark.parametrize("config", GRADCHECK, ids=[str(c) for c in GRADCHECK])
def test_gradcheck(config):
    x, weight, b, stride, padding = _inputs(config, seed=3)
    if b is None:
        check_gradcheck(lambda x, w: locally_connected2d(x, w, None, stride, padding), [x, weight])
    else:
        check_gradcheck(lambda x, w, b: locally_connected2d(x, w, b, stride, padding), [x, weight, b])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", [CONFIGS[0], CONFIGS[1], CONFIGS[3], CONFIGS[6]], ids=str)
def test_shared_filter_is_a_convolution(config, dtype):
    """With the same filter at every position (weight sharing) the layer is conv2d."""
    x, weight, b, stride, padding = _inputs(config, seed=5)
    oh, ow, co, c, kh, kw = weight.shape
    kernel = weight[0, 0]  # (Co, C, kh, kw)
    shared = np.broadcast_to(kernel, weight.shape).astype(dtype)
    bias = np.random.default_rng(1).standard_normal(co)
    xt = cn.tensor(x.astype(dtype), requires_grad=True)
    wt = cn.tensor(shared, requires_grad=True)
    y = locally_connected2d(
        xt, wt, cn.tensor(np.broadcast_to(bias[:, None, None], (co, oh, ow)).astype(dtype)), stride, padding
    )
    tx = torch.tensor(x.astype(dtype), requires_grad=True)
    tk = torch.tensor(kernel.astype(dtype), requires_grad=True)
    expected = F.conv2d(tx, tk, torch.tensor(bias.astype(dtype)), stride=stride, padding=padding)
    tol = TOL[np.dtype(dtype)]
    assert_close(y, expected, tol, "forward")
    upstream = np.random.default_rng(2).standard_normal(y.shape).astype(dtype)
    y.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert_close(xt.grad, tx.grad, tol, "input gradient")
    # the shared kernel's gradient is the sum of the per-position gradients
    assert_close(wt.grad.sum(axis=(0, 1)), tk.grad, tol, "summed weight gradient")


def test_positions_are_independent():
    """Changing the filter of one position changes only that output pixel (no weight sharing)."""
    x, weight, b, stride, padding = _inputs(CONFIGS[0], seed=8)
    before = locally_connected2d(x, weight, b, stride, padding).data
    changed = weight.copy()
    changed[1, 2] += 1.0
    after = locally_connected2d(x, changed, b, stride, padding).data
    diff = np.abs(after - before).sum(axis=(0, 1))
    assert diff[1, 2] > 0 and np.count_nonzero(diff) == 1


def test_keeps_float32():
    x, weight, b, stride, padding = _inputs(CONFIGS[2])
    out = locally_connected2d(
        cn.tensor(x.astype(np.float32)),
        cn.tensor(weight.astype(np.float32)),
        cn.tensor(b.astype(np.float32)),
        stride,
        padding,
    )
    assert out.dtype == np.float32


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_errors():
    x = cn.zeros(2, 3, 7, 7)
    w = cn.zeros(5, 5, 4, 3, 3, 3)
    with pytest.raises(
        ValueError,
        match=r"locally_connected2d: expected a 4-D input \(N, C_in, H, W\). "
        r"Received: input of shape \(3, 7, 7\)",
    ):
        locally_connected2d(cn.zeros(3, 7, 7), w)
    with pytest.raises(
        ValueError,
        match=r"locally_connected2d: expected a 6-D weight \(out_h, out_w, out_channels, "
        r"in_channels, kh, kw\), one filter bank per output position. "
        r"Received: weight of shape \(4, 3, 3, 3\)",
    ):
        locally_connected2d(x, cn.zeros(4, 3, 3, 3))
    with pytest.raises(
        ValueError,
        match=r"locally_connected2d: expected input with 2 channels \(weight.shape\[3\] = "
        r"2\). Received: input of shape \(2, 3, 7, 7\)",
    ):
        locally_connected2d(x, cn.zeros(5, 5, 4, 2, 3, 3))
    with pytest.raises(
        ValueError,
        match=r"locally_connected2d: the weight has filters for a 5x5 output, but the input, "
        r"kernel, stride and padding give a 3x3 output .*\(7 \+ 2\*0 - 3\) // 2 \+ 1.*"
        r"Received: weight of shape \(5, 5, 4, 3, 3, 3\) for input of shape "
        r"\(2, 3, 7, 7\)",
    ):
        locally_connected2d(x, w, stride=2)
    with pytest.raises(ValueError, match=r"filters for a 5x5 output, but .* give a 7x5 output"):
        locally_connected2d(x, w, padding=(1, 0))
    with pytest.raises(
        ValueError,
        match=r"locally_connected2d: expected bias of shape \(out_channels, out_h, out_w\) "
        r"= \(4, 5, 5\) or None. Received: bias of shape \(4,\)",
    ):
        locally_connected2d(x, w, cn.zeros(4))
    with pytest.raises(
        ValueError,
        match=r"locally_connected2d: the 9x3 kernel does not fit in the padded input "
        r"\(7x7\), so there is no output position. Received: input of shape "
        r"\(2, 3, 7, 7\), weight of shape \(1, 5, 4, 3, 9, 3\), padding=\(0, 0\)",
    ):
        locally_connected2d(x, cn.zeros(1, 5, 4, 3, 9, 3))
    with pytest.raises(
        ValueError,
        match=r"locally_connected2d: the weight must have at least one output channel and a "
        r"kernel of at least 1x1. Received: weight of shape \(5, 5, 0, 3, 3, 3\)",
    ):
        locally_connected2d(x, cn.zeros(5, 5, 0, 3, 3, 3))
    with pytest.raises(ValueError, match=r"locally_connected2d: stride must be at least 1. Received: stride=0"):
        locally_connected2d(x, w, stride=0)
    with pytest.raises(
        ValueError, match=r"locally_connected2d: padding must be at least 0. Received: padding=\(-1, 0\)"
    ):
        locally_connected2d(x, w, padding=(-1, 0))
    with pytest.raises(
        TypeError,
        match=r"locally_connected2d: stride must be an int or a tuple of 2 ints. "
        r"Received: stride=1.5",
    ):
        locally_connected2d(x, w, stride=1.5)
    with pytest.raises(
        TypeError,
        match=r"locally_connected2d: input must be a real numeric tensor. "
        r"Received: input of dtype <U1",
    ):
        locally_connected2d(np.array([["a"]]), w)
