"""l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy, kl_div and their layers (L1Loss, SmoothL1Loss,
HuberLoss, BCELoss, KLDivLoss): PyTorch parity of the forward and of the input's and target's gradients
(float64 and float32, seeded random shapes, points exactly at the kinks), gradcheck, reductions, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import assert_close, check_gradcheck, compare_with_torch, layer_parity

import convnp as cn
from convnp import nn
from convnp.nn import functional as F

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*reduction.*'mean' divides:UserWarning"),
    pytest.mark.filterwarnings("ignore:kl_div. reduction='mean':UserWarning"),
]

DTYPES = [np.float64, np.float32]
REDUCTIONS = ["mean", "sum", "none"]
KL_REDUCTIONS = ["mean", "batchmean", "sum", "none"]


def _shape(rng):
    """A random shape of 0 to 4 axes of sizes 1 to 5, the first often 1 (a batch of one)."""
    shape = [int(s) for s in rng.integers(1, 6, int(rng.integers(0, 5)))]
    if shape and rng.random() < 0.3:
        shape[0] = 1
    return tuple(shape)


def _at_kinks(rng, shape, width):
    """(x, t) with t on a grid of 1/4 and about half of x exactly t +- width or t (|x - t| = width or 0)."""
    t = rng.integers(-8, 9, shape) / 4.0
    x = rng.standard_normal(shape) * 2 * max(width, 0.5)
    pick = rng.integers(0, 4, shape)  # 0: random, 1: t + width, 2: t - width, 3: t
    x = np.where(pick == 1, t + width, np.where(pick == 2, t - width, np.where(pick == 3, t, x)))
    return np.asarray(x, np.float64), np.asarray(t, np.float64)


# ============================================================================================
# l1_loss, smooth_l1_loss, huber_loss
# ============================================================================================

REGRESSION = {
    "l1": (lambda x, t, r, w: F.l1_loss(x, t, reduction=r), lambda x, t, r, w: TF.l1_loss(x, t, reduction=r)),
    "smooth_l1": (
        lambda x, t, r, w: F.smooth_l1_loss(x, t, reduction=r, beta=w),
        lambda x, t, r, w: TF.smooth_l1_loss(x, t, reduction=r, beta=w),
    ),
    "huber": (
        lambda x, t, r, w: F.huber_loss(x, t, reduction=r, delta=w),
        lambda x, t, r, w: TF.huber_loss(x, t, reduction=r, delta=w),
    ),
}
WIDTHS = {"l1": [1.0], "smooth_l1": [0.0, 0.25, 0.5, 1.0, 2.0], "huber": [0.25, 0.5, 1.0, 2.0]}  # on the grid


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("seed", range(6))
def test_regression_parity_at_kinks(name, reduction, dtype, seed):
    rng = np.random.default_rng(100 * seed + len(name))
    ours, theirs = REGRESSION[name]
    for width in WIDTHS[name]:
        x, t = _at_kinks(rng, _shape(rng), width)
        compare_with_torch(
            lambda a, b: ours(a, b, reduction, width),
            lambda a, b: theirs(a, b, reduction, width),
            [x, t],
            dtype=dtype,
            seed=seed,
            what=f"{name} width={width} {reduction} {x.shape}",
        )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_gradient_exactly_at_the_kink(name, dtype):
    """Every point of x - t in {0, +-w, +-w/2, +-2w}: PyTorch's gradient there, elementwise ('none')."""
    ours, theirs = REGRESSION[name]
    for width in WIDTHS[name]:
        w = width if width else 1.0
        t = np.array([0.25, -0.5, 1.0, 0.0, -1.25, 0.75, 2.0])
        x = t + np.array([0.0, w, -w, w / 2, -w / 2, 2 * w, -2 * w])
        _, th = compare_with_torch(
            lambda a, b: ours(a, b, "none", width),
            lambda a, b: theirs(a, b, "none", width),
            [x, t],
            dtype=dtype,
            what=f"{name} width={width}",
        )
        a = cn.tensor(x.astype(dtype), requires_grad=True)
        ours(a, t.astype(dtype), "sum", width).backward()
        tx = torch.tensor(x.astype(dtype), requires_grad=True)
        theirs(tx, torch.tensor(t.astype(dtype)), "sum", width).backward()
        np.testing.assert_array_equal(a.grad, tx.grad.numpy())  # the slopes at the kinks, exactly


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("seed", range(3))
def test_regression_gradcheck(name, reduction, seed):
    rng = np.random.default_rng(7 + seed)
    ours, _ = REGRESSION[name]
    width = float(rng.uniform(0.3, 2.0))
    shape = _shape(rng)
    x, t = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    check_gradcheck(lambda a, b: ours(a, b, reduction, width), [x, t])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_broadcast_target_warns_like_torch(name, dtype):
    rng = np.random.default_rng(3)
    ours, theirs = REGRESSION[name]
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((1, 4))
    with pytest.warns(UserWarning, match="different to the input size"):
        compare_with_torch(
            lambda a, b: ours(a, b, "mean", 0.5), lambda a, b: theirs(a, b, "mean", 0.5), [x, t], dtype=dtype
        )


def test_regression_errors():
    x = cn.tensor(np.zeros((2, 3)))
    for fn in (F.l1_loss, F.smooth_l1_loss, F.huber_loss):
        op = fn.__name__
        with pytest.raises(
            ValueError, match=rf"{op}: expected target broadcastable .*Received: target of shape \(4,\)"
        ):
            fn(x, np.zeros(4))
        with pytest.raises(ValueError, match=rf"{op}: expected reduction .*Received: 'avg'"):
            fn(x, np.zeros((2, 3)), reduction="avg")
        with pytest.raises(TypeError, match=rf"{op}: expected a floating-point input"):
            fn(np.zeros(3, np.int64), np.zeros(3))
        with pytest.raises(TypeError, match=rf"{op}: expected target .*Received: str"):
            fn(x, "zeros")
    for beta in (-0.5, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match=r"smooth_l1_loss: expected beta to be a non-negative finite number"):
            F.smooth_l1_loss(x, np.zeros((2, 3)), beta=beta)
    for delta in (0.0, -1.0, float("nan"), False, None):
        with pytest.raises(ValueError, match=r"huber_loss: expected delta to be a positive finite number"):
            F.huber_loss(x, np.zeros((2, 3)), delta=delta)


# ============================================================================================
# binary_cross_entropy
# ============================================================================================


def _bce_weight(rng, shape):
    """None, or a weight of the input's shape, of its last axis, or of shape (1,)."""
    kind = int(rng.integers(0, 4))
    if kind == 0 or not shape:
        return None if kind == 0 else rng.uniform(0.2, 3.0, shape)
    wshape = {1: shape, 2: shape[-1:], 3: (1,)}[kind]
    return rng.uniform(0.2, 3.0, wshape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", range(8))
def test_bce_parity(reduction, dtype, seed):
    rng = np.random.default_rng(300 + seed)
    shape = _shape(rng)
    x, t = rng.uniform(0.02, 0.98, shape), rng.uniform(0, 1, shape)
    if seed % 2:
        t = np.round(t)  # hard 0/1 labels
    w = _bce_weight(rng, shape)
    wc = None if w is None else w.astype(dtype)
    wt = None if w is None else torch.tensor(w.astype(dtype))
    compare_with_torch(
        lambda a, b: F.binary_cross_entropy(a, b, wc, reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(a, b, wt, reduction=reduction),
        [x, t],
        dtype=dtype,
        seed=seed,
        what=f"bce {shape} weight {None if w is None else w.shape}",
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_at_zero_and_one(dtype):
    """Probabilities exactly 0 and 1: the loss clamped at 100, the gradients as PyTorch's (the input's
    floored at 1e-12 in x (1 - x), the target's -logit(x), infinite)."""
    x = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.5, 1e-30])
    t = np.array([0.0, 1.0, 0.3, 0.0, 1.0, 0.7, 0.5, 0.5])
    for reduction in REDUCTIONS:
        ours, theirs = compare_with_torch(
            lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
            lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction),
            [x, t],
            dtype=dtype,
            what=f"bce edges {reduction}",
        )
    a, b = cn.tensor(x.astype(dtype), requires_grad=True), cn.tensor(t.astype(dtype), requires_grad=True)
    ta, tb = torch.tensor(x.astype(dtype), requires_grad=True), torch.tensor(t.astype(dtype), requires_grad=True)
    F.binary_cross_entropy(a, b, reduction="sum").backward()
    TF.binary_cross_entropy(ta, tb, reduction="sum").backward()
    np.testing.assert_array_equal(np.isinf(b.grad), np.isinf(tb.grad.numpy()))
    np.testing.assert_array_equal(np.sign(b.grad), np.sign(tb.grad.numpy()))  # +inf at x = 0, -inf at x = 1
    assert_close(a.grad, ta.grad, 1e-6, "bce input gradient at 0 and 1")
    assert_close(
        F.binary_cross_entropy(cn.tensor(x.astype(dtype)), t.astype(dtype), reduction="none"),
        [0, 100, 30, 100, 0, 30, np.log(2), 0.5 * -np.log(1e-30)],
        1e-6,
        "clamped loss",
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", range(3))
def test_bce_gradcheck(reduction, seed):
    rng = np.random.default_rng(40 + seed)
    shape = _shape(rng)
    w = _bce_weight(rng, shape)
    check_gradcheck(
        lambda a, b: F.binary_cross_entropy(a, b, w, reduction=reduction),
        [rng.uniform(0.1, 0.9, shape), rng.uniform(0, 1, shape)],
    )


def test_bce_errors():
    x = cn.tensor(np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: expected target of the same shape as input \(2, 3\)"):
        F.binary_cross_entropy(x, np.zeros((1, 3)))
    for bad in (1.5, -0.1, np.nan):
        with pytest.raises(ValueError, match=r"expected input of probabilities between 0 and 1 .*Received: input"):
            F.binary_cross_entropy(cn.tensor(np.array([0.5, bad])), np.zeros(2))
    with pytest.raises(
        ValueError, match=r"expected weight of numbers broadcastable .*Received: weight of shape \(2,\)"
    ):
        F.binary_cross_entropy(x, np.zeros((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match=r"expected weight of numbers .*dtype <U1"):
        F.binary_cross_entropy(x, np.zeros((2, 3)), np.array(["a"]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: expected reduction .*Received: 'batchmean'"):
        F.binary_cross_entropy(x, np.zeros((2, 3)), reduction="batchmean")


# ============================================================================================
# kl_div
# ============================================================================================


def _kl_data(rng, shape, log_target):
    z = rng.standard_normal(shape) * 1.5
    x = z - np.log(np.exp(z).sum(axis=-1, keepdims=True)) if shape else z  # log-probabilities
    t = rng.uniform(0.05, 1.0, shape)
    if log_target:
        t = np.log(t)
    elif t.size > 1:
        t = np.where(rng.random(shape) < 0.2, 0.0, t)  # zeros: loss 0, target gradient NaN (as PyTorch)
    return np.asarray(x, np.float64), np.asarray(t, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
@pytest.mark.parametrize("seed", range(6))
def test_kl_div_parity(reduction, log_target, dtype, seed):
    rng = np.random.default_rng(500 + seed)
    shape = _shape(rng)
    x, t = _kl_data(rng, shape, log_target)
    compare_with_torch(
        lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
        lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
        [x, t],
        dtype=dtype,
        seed=seed,
        what=f"kl_div {shape} {reduction} log_target={log_target}",
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
def test_kl_div_broadcast_and_zero_targets(reduction, log_target, dtype):
    rng = np.random.default_rng(9)
    x, t = _kl_data(rng, (4, 5), log_target)
    t = t[:1]  # (1, 5) against (4, 5)
    if not log_target:
        t[0, 0] = 0.0
    compare_with_torch(
        lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target),
        lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=log_target),
        [x, t],
        dtype=dtype,
    )


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
@pytest.mark.parametrize("seed", range(3))
def test_kl_div_gradcheck(reduction, log_target, seed):
    rng = np.random.default_rng(60 + seed)
    shape = _shape(rng)
    x, t = _kl_data(rng, shape, True)  # no zero targets (the target's gradient is NaN there)
    check_gradcheck(
        lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), [x, t if log_target else np.exp(t)]
    )


def test_kl_div_batchmean_is_per_sample_and_mean_warns():
    x = cn.tensor(np.log(np.full((2, 4), 0.25)))
    t = np.array([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    kl = (t * np.log(t / 0.25)).sum(axis=1)
    assert np.isclose(F.kl_div(x, t, reduction="batchmean").item(), kl.mean())
    with pytest.warns(UserWarning, match=r"kl_div: reduction='mean' divides .*'batchmean'"):
        assert np.isclose(F.kl_div(x, t).item(), kl.sum() / 8)


def test_kl_div_errors():
    x = cn.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"kl_div: expected reduction to be 'mean', 'batchmean', .*Received: 'avg'"):
        F.kl_div(x, np.zeros((2, 3)), reduction="avg")
    with pytest.raises(TypeError, match=r"kl_div: expected log_target to be True or False. Received: 1"):
        F.kl_div(x, np.zeros((2, 3)), reduction="sum", log_target=1)
    with pytest.raises(ValueError, match=r"kl_div: expected target broadcastable .*Received: target of shape \(3, 3\)"):
        F.kl_div(x, np.zeros((3, 3)), reduction="sum")


# ============================================================================================
# Layers
# ============================================================================================


def _layers(rng):
    beta, delta = float(rng.choice([0.0, 0.5, 1.0])), float(rng.choice([0.5, 1.0, 2.0]))
    r = str(rng.choice(REDUCTIONS))
    rk = str(rng.choice(KL_REDUCTIONS))
    lt = bool(rng.random() < 0.5)
    return [
        (nn.L1Loss(reduction=r), torch.nn.L1Loss(reduction=r), "reg"),
        (nn.SmoothL1Loss(reduction=r, beta=beta), torch.nn.SmoothL1Loss(reduction=r, beta=beta), "reg"),
        (nn.HuberLoss(reduction=r, delta=delta), torch.nn.HuberLoss(reduction=r, delta=delta), "reg"),
        (nn.BCELoss(reduction=r), torch.nn.BCELoss(reduction=r), "bce"),
        (nn.KLDivLoss(reduction=rk, log_target=lt), torch.nn.KLDivLoss(reduction=rk, log_target=lt), "kl"),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(5))
def test_layers_parity(seed, dtype):
    rng = np.random.default_rng(700 + seed)
    for ours, theirs, kind in _layers(rng):
        shape = _shape(rng)
        if kind == "reg":
            x, t = _at_kinks(rng, shape, 0.5)
        elif kind == "bce":
            x, t = rng.uniform(0.02, 0.98, shape), rng.uniform(0, 1, shape)
        else:
            x, t = _kl_data(rng, shape, theirs.log_target)
        layer_parity(ours, theirs, [x, t], dtype, seed=seed, what=f"{ours!r} {shape}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_layer_weight_buffer(dtype):
    rng = np.random.default_rng(11)
    w = rng.uniform(0.5, 2.0, 4)
    ours, theirs = (
        nn.BCELoss(weight=w.astype(np.float32)),
        torch.nn.BCELoss(weight=torch.tensor(w, dtype=torch.float32)),
    )
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    layer_parity(ours, theirs, [rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))], dtype)


@pytest.mark.parametrize("name", ["L1Loss", "SmoothL1Loss", "BCELoss", "KLDivLoss"])
@pytest.mark.parametrize("size_average, reduce", [(False, None), (None, False), (True, True), (False, True)])
def test_layers_legacy_arguments_name_reduction(name, size_average, reduce):
    with pytest.warns(UserWarning):
        want = getattr(torch.nn, name)(size_average=size_average, reduce=reduce).reduction
    with pytest.warns(
        UserWarning, match=rf"size_average and reduce args will be deprecated, please use reduction='{want}'"
    ):
        layer = getattr(nn, name)(size_average=size_average, reduce=reduce)
    assert layer.reduction == want


def test_huber_layer_has_no_legacy_arguments_as_torch():
    with pytest.raises(TypeError, match="size_average"):
        torch.nn.HuberLoss(size_average=False)
    with pytest.raises(TypeError, match="size_average"):
        nn.HuberLoss(size_average=False)


def test_layer_errors():
    with pytest.raises(ValueError, match=r"L1Loss: reduction must be 'mean', 'sum' or 'none'. Received: reduction='x'"):
        nn.L1Loss(reduction="x")
    with pytest.raises(ValueError, match=r"BCELoss: reduction must be .*Received: reduction='batchmean'"):
        nn.BCELoss(reduction="batchmean")
    with pytest.raises(ValueError, match=r"SmoothL1Loss: beta must be a non-negative finite number. Received: beta=-1"):
        nn.SmoothL1Loss(beta=-1)
    with pytest.raises(TypeError, match=r"SmoothL1Loss: beta must be a number. Received: beta='1'"):
        nn.SmoothL1Loss(beta="1")
    with pytest.raises(ValueError, match=r"HuberLoss: delta must be a positive finite number. Received: delta=0"):
        nn.HuberLoss(delta=0)
    with pytest.raises(TypeError, match=r"HuberLoss: delta must be a number. Received: delta=None"):
        nn.HuberLoss(delta=None)
    with pytest.raises(ValueError, match=r"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none'"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(TypeError, match=r"KLDivLoss: log_target must be True or False. Received: log_target=1"):
        nn.KLDivLoss(log_target=1)
    with pytest.raises(TypeError, match=r"BCELoss: weight must be an array of numbers"):
        nn.BCELoss(weight=["a"])
    with pytest.raises(cn.nn.LayerInputError, match=r"BCELoss.*binary_cross_entropy: expected input of probabilities"):
        nn.BCELoss()(cn.tensor(np.array([2.0])), np.array([1.0]))


def test_layers_output_shape_like_the_other_losses():
    """Loss layers take (input, target): output_shape runs the forward on one input, as MSELoss's does."""
    for layer in (nn.MSELoss(), nn.L1Loss(), nn.SmoothL1Loss(), nn.HuberLoss(), nn.BCELoss(), nn.KLDivLoss()):
        with pytest.raises(TypeError) as ours:
            layer.output_shape((2, 3))
        assert "target" in str(ours.value)
