"""ops/sliding.py, the oracle both tiers are held to: its convolution against the lecture's
ConvNd (and so, through test_convolution.py, against PyTorch), its pooling against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from ops.test_convolution import CONV_PARITY, _inputs

import convnp as cn
from convnp.ops import sliding
from convnp.ops.convolution import ConvNd

# ============================================================================================
# The sliding dot product against the lecture's im2col + GEMM
# ============================================================================================


@pytest.mark.parametrize("name", list(CONV_PARITY))
def test_sliding_conv_equals_the_lecture(name):
    cfg = CONV_PARITY[name]
    ours = {1: cn.nn.functional.conv1d, 2: cn.nn.functional.conv2d, 3: cn.nn.functional.conv3d}[cfg["nd"]]
    x, w, _ = _inputs(cfg, seed=len(name))
    xt, wt = cn.tensor(x, requires_grad=True), cn.tensor(w, requires_grad=True)
    with cn.engine(conv="reference"):
        y = ours(xt, wt, **cfg["kw"])
    assert y._node.function is ConvNd
    config = y._node.ctx.config
    win = config.window
    args = (win.padding, win.stride, win.dilation, config.groups)
    xb = x.reshape(config.input_shape)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    g = g.reshape(config.output_shape(w.shape))
    assert_close(y.data.reshape(g.shape), sliding.conv_forward(xb, w, *args), 1e-12, f"forward {name}")
    assert_close(xt.grad.reshape(xb.shape), sliding.conv_input_grad(g, w, xb.shape, *args), 1e-12, f"dx {name}")
    assert_close(wt.grad, sliding.conv_weight_grad(g, xb, w.shape, *args), 1e-12, f"dw {name}")


# ============================================================================================
# The sliding pooling functions against PyTorch
# ============================================================================================

POOLS = [
    (2, (2, 3, 7, 8), dict(kernel=2, stride=2)),
    (2, (1, 2, 7, 8), dict(kernel=3, stride=2, padding=1, ceil_mode=True)),
    (2, (2, 1, 9, 6), dict(kernel=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True)),
    (1, (2, 3, 10), dict(kernel=4, stride=3, padding=2, ceil_mode=True)),
    (3, (1, 2, 5, 6, 7), dict(kernel=(2, 3, 2), stride=(2, 2, 3), padding=(1, 1, 0))),
    (2, (1, 1, 5, 5), dict(kernel=5, stride=1)),
]


@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("case", range(len(POOLS)))
def test_sliding_max_pool_matches_torch(case, dilation):
    nd, shape, kw = POOLS[case]
    k = np.broadcast_to(kw["kernel"], (nd,))
    p = np.broadcast_to(kw.get("padding", 0), (nd,))
    if any(2 * pp > kk for pp, kk in zip(p, k)) or any(
        dilation * (kk - 1) + 1 > s + 2 * pp for kk, s, pp in zip(k, shape[2:], p)
    ):
        dilation = 1  # PyTorch's limits: padding <= kernel/2, window fits
    x = np.random.default_rng(case).standard_normal(shape)
    ours = sliding.max_pool_forward(
        x, kw["kernel"], kw["stride"], kw.get("padding", 0), dilation, kw.get("ceil_mode", False)
    )
    fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[nd]
    theirs = fn(
        torch.tensor(x),
        kw["kernel"],
        kw["stride"],
        kw.get("padding", 0),
        dilation,
        ceil_mode=kw.get("ceil_mode", False),
    )
    assert_close(ours, theirs, 1e-12, f"max_pool {POOLS[case]}")


@pytest.mark.parametrize("include_pad", [True, False])
@pytest.mark.parametrize("divisor", [None, 3])
@pytest.mark.parametrize("case", range(len(POOLS)))
def test_sliding_avg_pool_matches_torch(case, include_pad, divisor):
    nd, shape, kw = POOLS[case]
    x = np.random.default_rng(case).standard_normal(shape)
    k, s, p, c = kw["kernel"], kw["stride"], kw.get("padding", 0), kw.get("ceil_mode", False)
    ours = sliding.avg_pool_forward(x, k, s, p, c, include_pad, divisor)
    if nd == 1:  # avg_pool1d has no divisor_override: the same pooling as a 2-D one of height 1
        theirs = F.avg_pool2d(
            torch.tensor(x)[:, :, None], (1, k), (1, s), (0, p), c, include_pad, divisor_override=divisor
        )[:, :, 0]
    else:
        fn = {2: F.avg_pool2d, 3: F.avg_pool3d}[nd]
        theirs = fn(torch.tensor(x), k, s, p, c, include_pad, divisor_override=divisor)
    assert_close(ours, theirs, 1e-12, f"avg_pool {POOLS[case]} include_pad={include_pad} divisor={divisor}")
