"""Loss functions: cross-entropy (index or probability targets), NLL, MSE, BCE with logits, focal loss.

Classification losses work on the class axis 1 of input (N, C) or (N, C, d1, ..., dk) (or (C,)
for one sample); internally the class axis is moved last and every other axis flattened, so a loss
sees M = N * d1 * ... * dk rows of C scores. Probabilities come from a stable log-softmax,

    log p_c = (x_c - m) - log sum_j exp(x_j - m),   m = max_j x_j,

so logits of +-1e4 never overflow. Reductions: 'none' (one value per row, shape (N, d1, ...)),
'sum', and 'mean' (see each loss for its denominator; class weights follow PyTorch). The row
layout (rows, unrows, the reductions) is convnp.arraymath.loss_config's, shared with the kernels.

cross_entropy with class indices runs the lecture IndexCrossEntropy below under
``cn.set_engine("reference")``; otherwise its kernel (no one-hot, exp(z) reused in the backward):
convnp/kernels/loss.py.
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from convnp.arraymath.broadcast import is_float, unbroadcast
from convnp.arraymath.loss_config import CrossEntropyConfig
from convnp.arraymath.loss_config import index_shape as _index_shape
from convnp.arraymath.loss_config import reduce_rows as _reduce_rows
from convnp.arraymath.loss_config import row_grad as _row_grad
from convnp.arraymath.loss_config import rows as _rows
from convnp.arraymath.loss_config import unrows as _unrows
from convnp.autograd.function import Function
from convnp.autograd.tensor import Tensor
from convnp.kernels import loss as _kernels
from convnp.ops.checks import float_array

_REDUCTIONS = ("mean", "sum", "none")


# ============================================================================================
# Helpers
# ============================================================================================


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _target_array(op: str, target) -> np.ndarray:
    if isinstance(target, Tensor):
        return target.data
    try:
        t = np.asarray(target)
    except Exception:
        t = None
    if t is None or t.dtype.kind not in "biuf":
        raise TypeError(
            f"{op}: expected target to be a convnp Tensor or a NumPy array of numbers. "
            f"Received: {type(target).__name__}"
        )
    return t


def _check_reduction(op: str, reduction) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: expected reduction to be 'mean', 'sum' or 'none'. Received: {reduction!r}")


def _class_weight(op: str, weight, C: int, dtype) -> np.ndarray | None:
    """Per-class weights (C,) in the input's dtype, or None."""
    if weight is None:
        return None
    w = _data(weight) if isinstance(weight, Tensor) else np.asarray(weight)
    if w.dtype.kind not in "biuf" or w.shape != (C,):
        raise ValueError(
            f"{op}: expected weight of shape ({C},) (one weight per class of the {C} classes). "
            f"Received: weight of shape {w.shape} and dtype {w.dtype}"
        )
    return w.astype(dtype)


def _log_softmax_rows(x2: np.ndarray) -> np.ndarray:
    """log softmax along axis 1 of (M, C), with the row maximum subtracted (no overflow)."""
    z = x2 - x2.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _check_indices(
    op: str, x: np.ndarray, t: np.ndarray, ignore_index: int | None, *, allow_probabilities: bool = False
) -> np.ndarray:
    """Validate class-index targets (integer, shape (N, d1, ...), values in [0, C) or ignore_index)."""
    want = _index_shape(x)
    if t.shape != want:
        extra = f" (class indices) or {x.shape} (class probabilities)" if allow_probabilities else " (class indices)"
        raise ValueError(
            f"{op}: expected target of shape {want}{extra} for input of shape {x.shape}. "
            f"Received: target of shape {t.shape}"
        )
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: expected target of integer class indices for input of shape {x.shape} "
            f"(a float target of input's shape means class probabilities). "
            f"Received: target of dtype {t.dtype} and shape {t.shape}"
        )
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    flat = t.reshape(-1).astype(np.int64)
    valid = flat != ignore_index if ignore_index is not None else np.ones(flat.shape, bool)
    bad = valid & ((flat < 0) | (flat >= C))
    if bad.any():
        value = int(flat[np.argmax(bad)])
        ign = f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        raise ValueError(
            f"{op}: target contains class index {value}, outside [0, {C}) for {C} classes{ign}. "
            f"Received: target value {value}"
        )
    return flat


# ============================================================================================
# Cross-entropy, the general soft form
# ============================================================================================


class SoftCrossEntropy(Function):
    """Row loss l = -sum_c q_c log p_c with p = softmax(x); q built by the caller from the target.

    Every variant of cross_entropy is this form (index targets give a one-hot q scaled by the
    class weight, plus the smoothing term; probability targets give q = w * t'). With
    Q = sum_c q_c,  dl/dx_j = p_j Q - q_j.  For probability targets t (q = w_c ((1 - eps) t_c + eps/C))
    dl/dt_c = -(1 - eps) w_c log p_c.
    """

    @staticmethod
    def forward(ctx, x, soft_target, *, q, target_scale, reduction, denominator):
        x2 = _rows(x)  # (N, C, d1, ...) -> (M, C)
        logp = _log_softmax_rows(x2)
        loss_rows = -(q * logp).sum(axis=1)  # (M, C) -> (M,)
        ctx.shape, ctx.dtype = x.shape, x.dtype
        ctx.logp, ctx.q, ctx.target_scale = logp, q, target_scale
        ctx.reduction, ctx.denominator = reduction, denominator
        return _reduce_rows(loss_rows, reduction, denominator, _index_shape(x), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        M = ctx.logp.shape[0]
        g = _row_grad(grad, ctx.reduction, ctx.denominator, M, ctx.dtype)  # (M, 1)
        dx = dt = None
        if ctx.needs_input_grad[0]:
            p = np.exp(ctx.logp)
            dx = _unrows(g * (p * ctx.q.sum(axis=1, keepdims=True) - ctx.q), ctx.shape)
        if ctx.needs_input_grad[1]:
            dt = _unrows(-g * ctx.target_scale * ctx.logp, ctx.shape)
        return dx, dt


class IndexCrossEntropy(Function):
    """Cross-entropy with class-index targets y. Per row, log p = log_softmax(x) (max subtracted),
    eps the label smoothing, w the class weights (all 1 without), v = [y is not ignored]:

        l = v ((1 - eps) w_y (-log p_y) + (eps / C) sum_c w_c (-log p_c))
        dl/dx = v (Q p - q),   q_c = (1 - eps) w_y [c = y] + (eps / C) w_c,   Q = sum_c q_c

    so without weights and smoothing dl/dx = p - onehot(y): the softmax minus the target.
    """

    @staticmethod
    def forward(ctx, x, *, index, valid, weight, denominator, config):
        logp = _log_softmax_rows(_rows(x))  # (N, C, d1, ...) -> (M, C)
        M, C = logp.shape
        w = np.ones(C, x.dtype) if weight is None else weight
        eps = config.smoothing
        loss = (1 - eps) * w[index] * -logp[np.arange(M), index]  # (M,)
        if eps:
            loss = loss + (eps / C) * -(logp @ w)
        v = np.ones(M, bool) if valid is None else valid
        loss = np.where(v, loss, 0).astype(x.dtype)  # an ignored row is 0 (even where x is NaN)
        ctx.config, ctx.shape, ctx.p, ctx.index, ctx.v, ctx.w = config, x.shape, np.exp(logp), index, v, w
        ctx.denominator = denominator
        return _reduce_rows(loss, config.reduction, denominator, _index_shape(x), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        p, w, eps, index = ctx.p, ctx.w, ctx.config.smoothing, ctx.index
        M, C = p.shape
        g = np.where(ctx.v[:, None], _row_grad(grad, ctx.config.reduction, ctx.denominator, M, p.dtype), 0)
        q = np.tile((eps / C) * w, (M, 1))  # the target distribution q, (M, C) ...
        q[np.arange(M), index] += (1 - eps) * w[index]  # ... its one-hot part
        return _unrows((g * (q.sum(axis=1, keepdims=True) * p - q)).astype(p.dtype, copy=False), ctx.shape)


def _check_smoothing(op: str, label_smoothing) -> float:
    if (
        not isinstance(label_smoothing, numbers.Real)
        or isinstance(label_smoothing, bool)
        or not 0.0 <= label_smoothing <= 1.0
    ):
        raise ValueError(f"{op}: expected label_smoothing between 0.0 and 1.0. Received: {label_smoothing!r}")
    return float(label_smoothing)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy of softmax(input) along the class axis 1, PyTorch's definition.

    Class-index targets y (integer, shape (N, d1, ...)), class weights w, smoothing eps:
        l_n = (1 - eps) * w_{y_n} * (-log p_{n,y_n}) + (eps / C) * sum_c w_c * (-log p_{n,c})
    (0 where y_n == ignore_index); 'mean' divides the sum by sum_{n not ignored} w_{y_n}
    (the number of non-ignored targets without weights), for both terms, as PyTorch.

    Class-probability targets t (float, input's shape), t' = (1 - eps) t + eps / C:
        l_n = -sum_c w_c t'_{n,c} log p_{n,c};   'mean' divides by the number of rows N * d1 * ...

    >>> x = Tensor(np.random.randn(4, 5))
    >>> cross_entropy(x, np.array([0, 4, 2, 1])).shape
    ()
    """
    op = "cross_entropy"
    x = float_array(op, input)
    t = _target_array(op, target)
    _check_reduction(op, reduction)
    eps = _check_smoothing(op, label_smoothing)
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    w = _class_weight(op, weight, C, x.dtype)
    if t.shape == x.shape:  # class probabilities
        if not is_float(t.dtype):
            raise TypeError(
                f"{op}: expected a floating-point target of class probabilities (target of "
                f"input's shape {x.shape}). Received: target of dtype {t.dtype}"
            )
        if ignore_index >= 0:
            raise ValueError(
                f"{op}: ignore_index is not supported for class-probability targets; expected "
                f"a negative ignore_index. Received: ignore_index={ignore_index}"
            )
        ws = np.ones(C, x.dtype) if w is None else w
        q = ws * ((1 - eps) * _rows(t.astype(x.dtype, copy=False)) + eps / C)  # (M, C)
        return SoftCrossEntropy.apply(
            input,
            target if isinstance(target, Tensor) else t,
            q=q,
            target_scale=(1 - eps) * ws,
            reduction=reduction,
            denominator=int(np.prod(_index_shape(x), dtype=np.int64)),
        )
    flat, valid = _index_targets(op, x, t, ignore_index)
    if valid is None:  # every row counts
        denominator = flat.size if w is None else w[flat].sum(dtype=x.dtype)
    else:
        denominator = (valid if w is None else w[flat] * valid).sum(dtype=x.dtype)
    config = _cross_entropy_config(reduction, eps)
    return (_kernels.select(x, config) or IndexCrossEntropy).apply(
        input, index=flat, valid=valid, weight=w, denominator=denominator, config=config
    )


@functools.lru_cache(maxsize=64)
def _cross_entropy_config(reduction: str, smoothing: float) -> CrossEntropyConfig:
    """One CrossEntropyConfig per setting (a frozen dataclass costs about 1 us to make; a lookup 0.1)."""
    return CrossEntropyConfig(reduction, smoothing)


def _index_targets(op: str, x: np.ndarray, t: np.ndarray, ignore_index) -> tuple[np.ndarray, np.ndarray | None]:
    """(M,) int64 class indices with ignored rows set to 0, and the (M,) mask of rows that count
    (None when every row counts). Validation as _check_indices, the common case in two reductions."""
    want = _index_shape(x)
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    if t.shape == want and t.dtype.kind in "iu" and t.size:
        flat = t.reshape(-1).astype(np.int64, copy=False)
        lo, hi = int(flat.min()), int(flat.max())
        if 0 <= lo and hi < C and not lo <= ignore_index <= hi:
            return flat, None  # all in range, none ignored
    flat = _check_indices(op, x, t, ignore_index, allow_probabilities=True)
    valid = flat != ignore_index
    return np.where(valid, flat, 0), valid


# ============================================================================================
# Negative log-likelihood
# ============================================================================================


class NLLLoss(Function):
    """l_n = -w_{y_n} x_{n, y_n} (input holds log-probabilities); dl_n/dx_{n,c} = -w_{y_n} [c = y_n]."""

    @staticmethod
    def forward(ctx, x, *, index, wt, reduction, denominator):
        x2 = _rows(x)  # (N, C, d1, ...) -> (M, C)
        M = x2.shape[0]
        loss_rows = -wt * x2[np.arange(M), index]  # (M,)
        ctx.shape, ctx.dtype, ctx.C = x.shape, x.dtype, x2.shape[1]
        ctx.index, ctx.wt, ctx.reduction, ctx.denominator = index, wt, reduction, denominator
        return _reduce_rows(loss_rows, reduction, denominator, _index_shape(x), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        M = ctx.index.size
        g = _row_grad(grad, ctx.reduction, ctx.denominator, M, ctx.dtype)[:, 0]
        d2 = np.zeros((M, ctx.C), ctx.dtype)
        d2[np.arange(M), ctx.index] = -ctx.wt * g  # one entry per row: no collisions
        return _unrows(d2, ctx.shape)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at the target classes, PyTorch's definition.

        l_n = -w_{y_n} * input[n, y_n]   (0 where y_n == ignore_index)
        'mean' = sum_n l_n / sum_{n not ignored} w_{y_n}

    input (N, C) or (N, C, d1, ...) (or (C,)); target (N, d1, ...) integer class indices.

    >>> nll_loss(Tensor(np.log(np.full((2, 4), 0.25))), np.array([1, 3])).item()
    1.3862943611198906
    """
    op = "nll_loss"
    x = float_array(op, input)
    t = _target_array(op, target)
    _check_reduction(op, reduction)
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    w = _class_weight(op, weight, C, x.dtype)
    flat = _check_indices(op, x, t, ignore_index)
    valid = flat != ignore_index
    safe = np.where(valid, flat, 0)
    wt = (np.ones(C, x.dtype) if w is None else w)[safe] * valid
    return NLLLoss.apply(
        input, index=safe, wt=wt.astype(x.dtype, copy=False), reduction=reduction, denominator=wt.sum(dtype=x.dtype)
    )


# ============================================================================================
# Mean squared error
# ============================================================================================


class MSELoss(Function):
    """l = (x - t)^2 elementwise (broadcast); dl/dx = 2 (x - t), dl/dt = -2 (x - t)."""

    @staticmethod
    def forward(ctx, x, t, *, reduction, dtype):
        diff = (x - t).astype(dtype, copy=False)
        ctx.diff, ctx.x_shape, ctx.t_shape, ctx.reduction = diff, np.shape(x), np.shape(t), reduction
        sq = diff * diff
        if reduction == "none":
            return sq
        total = sq.sum(dtype=dtype)
        return np.asarray(total if reduction == "sum" else total / dtype.type(sq.size), dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        diff = ctx.diff
        scale = 2 * grad if ctx.reduction == "none" else 2 * np.asarray(grad, diff.dtype)
        if ctx.reduction == "mean":
            scale = scale / diff.dtype.type(diff.size)
        d = scale * diff
        dx = unbroadcast(d, ctx.x_shape) if ctx.needs_input_grad[0] else None
        dt = unbroadcast(-d, ctx.t_shape) if ctx.needs_input_grad[1] else None
        return dx, dt


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, PyTorch's definition: l = (input - target)^2, then reduced.

    Different but broadcastable shapes are broadcast (with PyTorch's warning); 'mean' divides by
    the number of elements of the broadcast result.

    >>> mse_loss(Tensor(np.zeros((2, 3))), np.ones((2, 3))).item()
    1.0
    """
    tt, dtype = _regression_pair("mse_loss", input, target, reduction)
    return MSELoss.apply(input, tt, reduction=reduction, dtype=dtype)


# ============================================================================================
# Binary cross-entropy with logits
# ============================================================================================


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log sigma(x) = -(max(-x, 0) + log1p(exp(-|x|))): no overflow for any x."""
    return -(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))


class BCEWithLogits(Function):
    """l = w * [(1 - t) x - (1 + (pw - 1) t) log sigma(x)]   (elementwise; pw broadcast on the last axis).

    dl/dx = w * [(1 - t) - (1 + (pw - 1) t) sigma(-x)],   dl/dt = w * [-x - (pw - 1) log sigma(x)].
    """

    @staticmethod
    def forward(ctx, x, t, *, weight, pos_weight, reduction):
        t = t.astype(x.dtype, copy=False)
        ls = _log_sigmoid(x)
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        loss = (1 - t) * x - lw * ls
        if weight is not None:
            loss = loss * weight
        ctx.x, ctx.t, ctx.ls, ctx.lw = x, t, ls, lw
        ctx.weight, ctx.pos_weight, ctx.reduction = weight, pos_weight, reduction
        if reduction == "none":
            return loss.astype(x.dtype, copy=False)
        total = loss.sum(dtype=x.dtype)
        return np.asarray(total if reduction == "sum" else total / x.dtype.type(loss.size), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.x, ctx.t
        g = grad if ctx.reduction == "none" else np.asarray(grad, x.dtype)
        if ctx.reduction == "mean":
            g = g / x.dtype.type(x.size)
        if ctx.weight is not None:
            g = g * ctx.weight
        dx = dt = None
        if ctx.needs_input_grad[0]:
            sig_neg = np.exp(_log_sigmoid(-x))  # sigma(-x) = 1 - sigma(x), stably
            dx = np.broadcast_to(g * ((1 - t) - ctx.lw * sig_neg), x.shape).astype(x.dtype)
        if ctx.needs_input_grad[1]:
            dl = -x if ctx.pos_weight is None else -x - (ctx.pos_weight - 1) * ctx.ls
            dt = np.broadcast_to(g * dl, x.shape).astype(x.dtype)
        return dx, dt


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Binary cross-entropy on logits, PyTorch's stable form.

        l = w * [ -pw * t * log sigma(x) - (1 - t) * log(1 - sigma(x)) ]
          = w * [ (1 - t) x - (1 + (pw - 1) t) log sigma(x) ],
        log sigma(x) = -(max(-x, 0) + log(1 + exp(-|x|)))

    target of input's shape; weight broadcastable to input; pos_weight broadcastable to input
    (one per class along the last axis, e.g. (C,) for input (N, C)). 'mean' averages all elements.

    >>> binary_cross_entropy_with_logits(Tensor(np.zeros(3)), np.ones(3)).item()    # log 2
    0.6931471805599453
    """
    op = "binary_cross_entropy_with_logits"
    x = float_array(op, input, 0)
    t = _target_array(op, target)
    _check_reduction(op, reduction)
    if t.shape != x.shape:
        raise ValueError(
            f"{op}: expected target of the same shape as input {x.shape}. Received: target of shape {t.shape}"
        )
    extras = {}
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        if value is None:
            extras[name] = None
            continue
        v = np.asarray(_data(value))
        try:
            if np.broadcast_shapes(v.shape, x.shape) != x.shape:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{op}: expected {name} broadcastable to input's shape {x.shape}. Received: {name} of shape {v.shape}"
            ) from None
        extras[name] = v.astype(x.dtype)
    tt = target if isinstance(target, Tensor) else t
    return BCEWithLogits.apply(input, tt, reduction=reduction, **extras)


# ============================================================================================
# Focal loss
# ============================================================================================


class FocalLoss(Function):
    """Row loss f = -a_t (1 - p_t)^gamma log p_t, log p_t = log_softmax(x)[y].

    With u = log p_t, p_t = e^u:  df/du = -a_t [(1 - p_t)^gamma - gamma p_t u (1 - p_t)^(gamma - 1)],
    and du/dx_j = [j = y] - p_j, so dl/dx = df/du * (onehot(y) - p).
    (1 - p_t) is computed as -expm1(u); where it is 0 (then u = 0 too) the second term is 0.
    """

    @staticmethod
    def forward(ctx, x, *, index, alpha_t, gamma, reduction):
        x2 = _rows(x)  # (N, C, d1, ...) -> (M, C)
        M = x2.shape[0]
        logp = _log_softmax_rows(x2)
        u = logp[np.arange(M), index]  # (M,) log p_t
        pt = np.exp(u)
        one_minus = -np.expm1(u)  # 1 - p_t, accurate when p_t ~ 1
        mod = one_minus**gamma if gamma != 0 else np.ones_like(u)
        loss_rows = -alpha_t * mod * u
        ctx.shape, ctx.dtype, ctx.logp, ctx.index = x.shape, x.dtype, logp, index
        ctx.u, ctx.pt, ctx.one_minus, ctx.mod = u, pt, one_minus, mod
        ctx.alpha_t, ctx.gamma, ctx.reduction = alpha_t, gamma, reduction
        return _reduce_rows(loss_rows, reduction, M, _index_shape(x), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        M = ctx.index.size
        g = _row_grad(grad, ctx.reduction, M, M, ctx.dtype)[:, 0]
        gamma, u, om = ctx.gamma, ctx.u, ctx.one_minus
        if gamma != 0:
            positive = om > 0
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                second = np.where(positive, gamma * ctx.pt * u * om ** (gamma - 1), 0)
        else:
            second = 0
        dfdu = -ctx.alpha_t * (ctx.mod - second) * g  # (M,)
        d2 = -np.exp(ctx.logp) * dfdu[:, None]  # -p_j df/du
        d2[np.arange(M), ctx.index] += dfdu  # + [j = y] df/du
        return _unrows(d2.astype(ctx.dtype, copy=False), ctx.shape)


def focal_loss(input, target, gamma=2.0, alpha=None, reduction="mean"):
    """Multi-class focal loss (Lin et al. 2017): cross-entropy that down-weights easy examples.

        FL_n = -alpha_{y_n} (1 - p_{n,y_n})^gamma log p_{n,y_n},   p = softmax(input) along axis 1

    alpha None (1 for every class), a number (the same for every class) or C per-class weights.
    'mean' averages over the N * d1 * ... rows (Lin et al. normalise by the number of examples,
    not by the alpha weights); gamma = 0 with alpha None is cross_entropy. log p_t comes from a
    stable log-softmax and p_t = exp(log p_t), so logits of +-1e4 are safe.

    input (N, C) or (N, C, d1, ...); target (N, d1, ...) integer class indices.

    >>> focal_loss(Tensor(np.random.randn(4, 3)), np.array([0, 2, 1, 1]), gamma=2.0).shape
    ()
    """
    op = "focal_loss"
    x = float_array(op, input)
    t = _target_array(op, target)
    _check_reduction(op, reduction)
    if not isinstance(gamma, numbers.Real) or isinstance(gamma, bool) or not gamma >= 0:
        raise ValueError(f"{op}: expected gamma to be a non-negative number. Received: {gamma!r}")
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    if alpha is None:
        a = np.ones(C, x.dtype)
    elif isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        a = np.full(C, alpha, x.dtype)
    else:
        a = np.asarray(_data(alpha))
        if a.dtype.kind not in "iuf" or a.shape != (C,):
            raise ValueError(
                f"{op}: expected alpha to be None, a number, or {C} per-class weights (shape "
                f"({C},)). Received: alpha of shape {a.shape} and dtype {a.dtype}"
            )
        a = a.astype(x.dtype)
    flat = _check_indices(op, x, t, None)
    return FocalLoss.apply(input, index=flat, alpha_t=a[flat], gamma=float(gamma), reduction=reduction)


# ============================================================================================
# Elementwise regression losses: L1, smooth L1, Huber (input and target broadcast, as mse_loss)
# ============================================================================================


def _reduce_elementwise(loss: np.ndarray, reduction: str, dtype) -> np.ndarray:
    """'none': the elementwise loss; 'sum'; 'mean' over every element (of the broadcast shape)."""
    loss = loss.astype(dtype, copy=False)
    if reduction == "none":
        return loss
    total = loss.sum(dtype=dtype)
    return np.asarray(total if reduction == "sum" else total / dtype.type(loss.size), dtype=dtype)


def _elementwise_grad(grad, reduction: str, size: int, dtype):
    """The upstream gradient of each element: grad itself ('none'), the scalar ('sum'), / size ('mean')."""
    if reduction == "none":
        return grad
    g = np.asarray(grad, dtype)
    return g / dtype.type(size) if reduction == "mean" else g


def _pair_grads(ctx, d: np.ndarray):
    """dl/dx = d and dl/dt = -d, each summed back to its own shape (d has the broadcast shape)."""
    dx = unbroadcast(d, ctx.x_shape).astype(ctx.dtype, copy=False) if ctx.needs_input_grad[0] else None
    dt = unbroadcast(-d, ctx.t_shape).astype(ctx.dtype, copy=False) if ctx.needs_input_grad[1] else None
    return dx, dt


class L1Loss(Function):
    """l = |x - t| elementwise (broadcast); dl/dx = sign(x - t) (0 at x = t, as PyTorch), dl/dt = -dl/dx."""

    @staticmethod
    def forward(ctx, x, t, *, reduction, dtype):
        diff = (x - t).astype(dtype, copy=False)
        ctx.diff, ctx.x_shape, ctx.t_shape, ctx.dtype, ctx.reduction = diff, np.shape(x), np.shape(t), dtype, reduction
        return _reduce_elementwise(np.abs(diff), reduction, dtype)

    @staticmethod
    def backward(ctx, grad):
        g = _elementwise_grad(grad, ctx.reduction, ctx.diff.size, ctx.dtype)
        return _pair_grads(ctx, g * np.sign(ctx.diff))


class SmoothL1Loss(Function):
    """With d = x - t and beta > 0:

        l = 0.5 d^2 / beta   if |d| < beta,      |d| - 0.5 beta   otherwise
        dl/dx = clip(d / beta, -1, 1),           dl/dt = -dl/dx

    (both pieces give +-1 at the kink |d| = beta, as PyTorch). beta = 0 is the L1 loss (dl/dx = sign d).
    """

    @staticmethod
    def forward(ctx, x, t, *, beta, reduction, dtype):
        diff = (x - t).astype(dtype, copy=False)
        a = np.abs(diff)
        loss = a if beta == 0 else np.where(a < beta, 0.5 * diff * diff / beta, a - 0.5 * beta)
        ctx.diff, ctx.x_shape, ctx.t_shape, ctx.dtype, ctx.reduction = diff, np.shape(x), np.shape(t), dtype, reduction
        ctx.beta = beta
        return _reduce_elementwise(loss, reduction, dtype)

    @staticmethod
    def backward(ctx, grad):
        g = _elementwise_grad(grad, ctx.reduction, ctx.diff.size, ctx.dtype)
        slope = np.sign(ctx.diff) if ctx.beta == 0 else np.clip(ctx.diff / ctx.dtype.type(ctx.beta), -1, 1)
        return _pair_grads(ctx, g * slope)


class HuberLoss(Function):
    """With d = x - t and delta > 0:

        l = 0.5 d^2   if |d| <= delta,    delta (|d| - 0.5 delta)   otherwise
        dl/dx = clip(d, -delta, delta),   dl/dt = -dl/dx

    (delta * smooth_l1 with beta = delta; the slope is +-delta at the kink |d| = delta, as PyTorch).
    """

    @staticmethod
    def forward(ctx, x, t, *, delta, reduction, dtype):
        diff = (x - t).astype(dtype, copy=False)
        a = np.abs(diff)
        loss = np.where(a <= delta, 0.5 * diff * diff, delta * (a - 0.5 * delta))
        ctx.diff, ctx.x_shape, ctx.t_shape, ctx.dtype, ctx.reduction = diff, np.shape(x), np.shape(t), dtype, reduction
        ctx.delta = delta
        return _reduce_elementwise(loss, reduction, dtype)

    @staticmethod
    def backward(ctx, grad):
        g = _elementwise_grad(grad, ctx.reduction, ctx.diff.size, ctx.dtype)
        return _pair_grads(ctx, g * np.clip(ctx.diff, -ctx.delta, ctx.delta))


def _regression_pair(op: str, input, target, reduction):
    """(target for apply, dtype) of an elementwise loss: checks, and PyTorch's warning on broadcasting."""
    x = float_array(op, input, 0)
    t = _target_array(op, target)
    _check_reduction(op, reduction)
    try:
        shape = np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise ValueError(
            f"{op}: expected target broadcastable to input's shape {x.shape} (ideally the same "
            f"shape). Received: target of shape {t.shape}"
        ) from None
    if t.shape != x.shape:
        warnings.warn(
            f"{op}: using a target size {t.shape} that is different to the input size {x.shape}; "
            f"they are broadcast to {shape}, which is likely not intended. Please ensure they "
            f"have the same size.",
            UserWarning,
            stacklevel=3,
        )
    dtype = np.result_type(x.dtype, t.dtype) if is_float(t.dtype) else x.dtype
    return (target if isinstance(target, Tensor) else t), np.dtype(dtype)


def _check_width(op: str, name: str, value, *, zero_ok: bool) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (value >= 0 if zero_ok else value > 0)
        or not np.isfinite(value)
    ):
        want = "a non-negative" if zero_ok else "a positive"
        raise ValueError(f"{op}: expected {name} to be {want} finite number. Received: {name}={value!r}")
    return float(value)


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error, PyTorch's definition: l = |input - target|, then reduced.

    Broadcast and 'mean' as mse_loss. The gradient at input == target is 0 (sign(0)).

    >>> l1_loss(Tensor(np.zeros((2, 3))), -2 * np.ones((2, 3))).item()
    2.0
    """
    tt, dtype = _regression_pair("l1_loss", input, target, reduction)
    return L1Loss.apply(input, tt, reduction=reduction, dtype=dtype)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """Smooth L1 loss, PyTorch's definition: with d = input - target,

        l = 0.5 d^2 / beta  if |d| < beta,   |d| - 0.5 beta  otherwise   (beta >= 0; beta = 0 is l1_loss)

    >>> smooth_l1_loss(Tensor(np.array([0.5, 3.0])), np.zeros(2), reduction="none").data.tolist()
    [0.125, 2.5]
    """
    op = "smooth_l1_loss"
    tt, dtype = _regression_pair(op, input, target, reduction)
    beta = _check_width(op, "beta", beta, zero_ok=True)
    return SmoothL1Loss.apply(input, tt, beta=beta, reduction=reduction, dtype=dtype)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """Huber loss, PyTorch's definition: with d = input - target,

        l = 0.5 d^2  if |d| <= delta,   delta (|d| - 0.5 delta)  otherwise   (delta > 0)

    >>> huber_loss(Tensor(np.array([0.5, 3.0])), np.zeros(2), reduction="none", delta=2.0).data.tolist()
    [0.125, 4.0]
    """
    op = "huber_loss"
    tt, dtype = _regression_pair(op, input, target, reduction)
    delta = _check_width(op, "delta", delta, zero_ok=False)
    return HuberLoss.apply(input, tt, delta=delta, reduction=reduction, dtype=dtype)


# ============================================================================================
# Binary cross-entropy on probabilities
# ============================================================================================

_BCE_EPS = np.float32(1e-12)  # PyTorch's floor on x (1 - x) in the backward (a float32 constant)


class BinaryCrossEntropy(Function):
    """With probabilities x in [0, 1], targets t and weights w (broadcast):

    l = -w [t max(log x, -100) + (1 - t) max(log(1 - x), -100)]      (the clamp: l is finite at x = 0, 1)
    dl/dx = w (x - t) / max(x (1 - x), 1e-12),    dl/dt = w log((1 - x) / x)   (= -logit x, unclamped)
    """

    @staticmethod
    def forward(ctx, x, t, *, weight, reduction):
        t = t.astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):
            loss = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))
        if weight is not None:
            loss = loss * weight
        ctx.x, ctx.t, ctx.weight, ctx.reduction = x, t, weight, reduction
        return _reduce_elementwise(loss, reduction, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.x, ctx.t
        g = _elementwise_grad(grad, ctx.reduction, x.size, x.dtype)
        if ctx.weight is not None:
            g = g * ctx.weight
        dx = dt = None
        if ctx.needs_input_grad[0]:
            dx = g * (x - t) / np.maximum(x * (1 - x), _BCE_EPS.astype(x.dtype))
            dx = np.broadcast_to(dx, x.shape).astype(x.dtype)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                dt = np.broadcast_to(g * -np.log(x / (1 - x)), x.shape).astype(x.dtype)
        return dx, dt


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities, PyTorch's definition (logs clamped at -100):

        l = -w [ t log x + (1 - t) log(1 - x) ],   input x in [0, 1], target of input's shape,
        weight w broadcastable to input. For logits use binary_cross_entropy_with_logits (stabler).

    >>> binary_cross_entropy(Tensor(np.array([0.5, 0.0])), np.array([1.0, 1.0]), reduction="none").data.tolist()
    [0.6931471805599453, 100.0]
    """
    op = "binary_cross_entropy"
    x = float_array(op, input, 0)
    t = _target_array(op, target)
    _check_reduction(op, reduction)
    if t.shape != x.shape:
        raise ValueError(
            f"{op}: expected target of the same shape as input {x.shape}. Received: target of shape {t.shape}"
        )
    if x.size and not ((x >= 0) & (x <= 1)).all():
        raise ValueError(
            f"{op}: expected input of probabilities between 0 and 1 (for logits use "
            f"binary_cross_entropy_with_logits). Received: input values from {x.min()} to {x.max()}"
        )
    w = None
    if weight is not None:
        w = np.asarray(_data(weight))
        try:
            if w.dtype.kind not in "biuf" or np.broadcast_shapes(w.shape, x.shape) != x.shape:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{op}: expected weight of numbers broadcastable to input's shape {x.shape}. "
                f"Received: weight of shape {w.shape} and dtype {w.dtype}"
            ) from None
        w = w.astype(x.dtype)
    tt = target if isinstance(target, Tensor) else t
    return BinaryCrossEntropy.apply(input, tt, weight=w, reduction=reduction)


# ============================================================================================
# Kullback-Leibler divergence
# ============================================================================================


class KLDiv(Function):
    """Pointwise KL term of log-probabilities x and target t (broadcast), PyTorch's definition:

        t probabilities (log_target=False):  l = t log t - t x   (0 where t = 0)
            dl/dx = -t,       dl/dt = [t != 0] log t + t / t - x    (NaN at t = 0, as PyTorch)
        t log-probabilities (log_target=True):  l = e^t (t - x)
            dl/dx = -e^t,     dl/dt = e^t (t - x + 1)

    'batchmean' divides the sum by input.shape[0] (the KL divergence per sample), 'mean' by the
    number of elements.
    """

    @staticmethod
    def forward(ctx, x, t, *, log_target, reduction, denominator):
        t = t.astype(x.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            if log_target:
                loss = np.exp(t) * (t - x)
            else:
                loss = np.where(t == 0, 0, t * np.log(np.where(t == 0, 1, t))) - t * x
        ctx.x, ctx.t, ctx.log_target, ctx.reduction, ctx.denominator = x, t, log_target, reduction, denominator
        loss = loss.astype(x.dtype, copy=False)
        ctx.shape = loss.shape  # the broadcast shape
        if reduction == "none":
            return loss
        total = loss.sum(dtype=x.dtype)
        return np.asarray(total if reduction == "sum" else total / x.dtype.type(denominator), dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.x, ctx.t
        g = grad if ctx.reduction == "none" else np.asarray(grad, x.dtype)
        if ctx.reduction in ("mean", "batchmean"):
            g = g / x.dtype.type(ctx.denominator)
        dx = dt = None
        if ctx.needs_input_grad[0]:
            d = np.broadcast_to(g * -(np.exp(t) if ctx.log_target else t), ctx.shape)
            dx = unbroadcast(d, x.shape).astype(x.dtype, copy=False)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                if ctx.log_target:
                    d = np.exp(t) * (t - x + 1)
                else:
                    d = np.where(t != 0, np.log(np.where(t != 0, t, 1)), 0) + t / t - x
            dt = unbroadcast(np.broadcast_to(g * d, ctx.shape), t.shape).astype(x.dtype, copy=False)
        return dx, dt


def kl_div(input, target, reduction="mean", log_target=False):
    """Kullback-Leibler divergence KL(target || exp(input)), pointwise, PyTorch's definition:

        l = t (log t - x)   (log_target=False; 0 where t = 0),    l = e^t (t - x)   (log_target=True)

    input x holds log-probabilities (e.g. log_softmax); target and input broadcast. Reductions:
    'none', 'sum', 'batchmean' (sum / batch size input.shape[0]: the mathematical KL divergence per
    sample) and 'mean' (sum / number of elements; PyTorch warns that this is not 'batchmean').

    >>> x = Tensor(np.log(np.array([[0.5, 0.5]])))
    >>> round(kl_div(x, np.array([[0.75, 0.25]]), reduction="batchmean").item(), 6)
    0.130812
    """
    op = "kl_div"
    x = float_array(op, input, 0)
    t = _target_array(op, target)
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(
            f"{op}: expected reduction to be 'mean', 'batchmean', 'sum' or 'none'. Received: {reduction!r}"
        )
    if not isinstance(log_target, (bool, np.bool_)):
        raise TypeError(f"{op}: expected log_target to be True or False. Received: {log_target!r}")
    try:
        shape = np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise ValueError(
            f"{op}: expected target broadcastable to input's shape {x.shape} (ideally the same "
            f"shape). Received: target of shape {t.shape}"
        ) from None
    if reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by both the batch size and the support size; "
            "'batchmean' divides only by the batch size, and aligns with the KL divergence's definition "
            "(PyTorch's warning).",
            UserWarning,
            stacklevel=2,
        )
    denominator = int(np.prod(shape, dtype=np.int64)) if reduction == "mean" else (x.shape[0] if x.ndim else 1)
    tt = target if isinstance(target, Tensor) else t
    return KLDiv.apply(input, tt, log_target=bool(log_target), reduction=reduction, denominator=denominator)
