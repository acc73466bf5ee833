"""Losses as modules: CrossEntropyLoss, NLLLoss, MSELoss, BCEWithLogitsLoss, FocalLoss.

Each holds its options and calls the functional loss in ``forward(input, target)``. Class
weights (``weight``, ``pos_weight``, FocalLoss's per-class ``alpha``) are registered as buffers,
as PyTorch registers them, so they follow ``.double()`` and appear in ``state_dict()``.

The deprecated ``size_average`` / ``reduce`` arguments are accepted as in PyTorch (with its
warning) and turned into ``reduction``.

>>> import numpy as np, convnp as cn
>>> loss = CrossEntropyLoss()(cn.randn(4, 10), np.array([1, 0, 9, 3]))
>>> loss.shape
()
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from convnp.autograd.tensor import Tensor
from convnp.nn import functional as F
from convnp.nn.layer_utils import _check_real, _layer_call
from convnp.nn.module import Module

__all__ = [
    "CrossEntropyLoss",
    "NLLLoss",
    "MSELoss",
    "BCEWithLogitsLoss",
    "FocalLoss",
    "L1Loss",
    "SmoothL1Loss",
    "HuberLoss",
    "BCELoss",
    "KLDivLoss",
]

_REDUCTIONS = ("mean", "sum", "none")


def _legacy_reduction(size_average, reduce) -> str:
    """PyTorch's _Reduction.legacy_get_string: the old two flags as one reduction string."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
        UserWarning,
        stacklevel=4,
    )
    return reduction


def _weight_array(name: str, what: str, value):
    """A weight buffer: None, or a 1-D-or-more float array (a Tensor's array; sequences -> float32)."""
    if value is None:
        return None
    given = type(value).__name__
    if isinstance(value, Tensor):
        value = value.data
    elif not isinstance(value, np.ndarray):
        value = np.asarray(value)
        if value.dtype.kind in "biuf":
            value = value.astype(np.float32)  # Python numbers: float32, torch's default
    if value.dtype.kind not in "iuf":
        raise TypeError(
            f"{name}: {what} must be an array of numbers. Received: {what} of type {given} and dtype {value.dtype}"
        )
    if value.dtype.kind != "f":
        value = value.astype(np.float32)
    return np.array(value)


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none'. Received: reduction={reduction!r}"
            )
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        w = _weight_array(type(self).__name__, "weight", weight)
        if w is not None and w.ndim != 1:
            raise ValueError(
                f"{type(self).__name__}: weight must be 1-D, one weight per class. Received: weight of shape {w.shape}"
            )
        self.register_buffer("weight", w)


def _check_ignore_index(name: str, ignore_index) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"{name}: ignore_index must be an int. Received: ignore_index={ignore_index!r}")
    return int(ignore_index)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of softmax(input) along the class axis 1, with class indices or probabilities.

        l_n = -w_{y_n} log( exp(x_{n, y_n}) / sum_c exp(x_{n, c}) )     ('mean': / sum_n w_{y_n})

    Args (PyTorch's): weight=None (C,), size_average, ignore_index=-100, reduce, reduction='mean',
    label_smoothing=0.0. Buffer: ``weight``.
    Shape: input (N, C) or (N, C, d1, ...), target (N, d1, ...) integer or input's shape float.
    """

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        name = type(self).__name__
        self.ignore_index = _check_ignore_index(name, ignore_index)
        _check_real(name, "label_smoothing", label_smoothing)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"{name}: label_smoothing must be between 0.0 and 1.0. Received: label_smoothing={label_smoothing}"
            )
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return _layer_call(
            self,
            F.cross_entropy,
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities: l_n = -w_{y_n} input[n, y_n].

    Args (PyTorch's): weight=None, size_average, ignore_index=-100, reduce, reduction='mean'.
    Shape: input (N, C) or (N, C, d1, ...), target (N, d1, ...) integer class indices.
    """

    def __init__(
        self, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction: str = "mean"
    ) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = _check_ignore_index(type(self).__name__, ignore_index)

    def forward(self, input, target):
        return _layer_call(
            self,
            F.nll_loss,
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class MSELoss(_Loss):
    """Mean squared error: l = (input - target)^2, reduced ('mean' over every element).

    Args (PyTorch's): size_average, reduce, reduction='mean'. Shape: input and target alike.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return _layer_call(self, F.mse_loss, input, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, stable: l = w [ -pw t log sigma(x) - (1 - t) log(1 - sigma(x)) ].

    Args (PyTorch's): weight=None (broadcast to input), size_average, reduce, reduction='mean',
    pos_weight=None (one per class along the last axis). Buffers: ``weight``, ``pos_weight``.
    Shape: input and target alike.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None) -> None:
        super().__init__(size_average, reduce, reduction)
        name = type(self).__name__
        self.register_buffer("weight", _weight_array(name, "weight", weight))
        self.register_buffer("pos_weight", _weight_array(name, "pos_weight", pos_weight))

    def forward(self, input, target):
        return _layer_call(
            self,
            F.binary_cross_entropy_with_logits,
            input,
            target,
            self.weight,
            reduction=self.reduction,
            pos_weight=self.pos_weight,
        )


class FocalLoss(_Loss):
    """Multi-class focal loss (Lin et al. 2017): FL_n = -alpha_{y_n} (1 - p_{n, y_n})^gamma log p_{n, y_n}.

    Down-weights easy, well-classified examples; gamma=0 and alpha=None is cross-entropy.
    Args: gamma=2.0 (>= 0), alpha=None (1 for every class), a number, or C per-class weights
    (then a buffer ``alpha``), reduction='mean' (over the N * d1 * ... rows).
    Shape: input (N, C) or (N, C, d1, ...), target (N, d1, ...) integer class indices.
    (Not in torch.nn; the functional form is :func:`convnp.nn.functional.focal_loss`.)
    """

    def __init__(self, gamma: float = 2.0, alpha=None, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        name = type(self).__name__
        _check_real(name, "gamma", gamma)
        if not gamma >= 0:
            raise ValueError(f"{name}: gamma must be a non-negative number. Received: gamma={gamma}")
        self.gamma = gamma
        if alpha is None or (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)):
            self.alpha = alpha
        else:
            a = _weight_array(name, "alpha", alpha)
            if a.ndim != 1:
                raise ValueError(
                    f"{name}: alpha must be None, a number, or 1-D per-class weights. "
                    f"Received: alpha of shape {a.shape}"
                )
            self.register_buffer("alpha", a)

    def forward(self, input, target):
        return _layer_call(
            self, F.focal_loss, input, target, gamma=self.gamma, alpha=self.alpha, reduction=self.reduction
        )

    def extra_repr(self) -> str:
        if isinstance(self.alpha, np.ndarray):
            return f"gamma={self.gamma}, alpha=<{self.alpha.shape[0]} per-class weights>"
        return f"gamma={self.gamma}, alpha={self.alpha}"


class L1Loss(_Loss):
    """Mean absolute error: l = |input - target|, reduced ('mean' over every element).

    Args (PyTorch's): size_average, reduce, reduction='mean'. Shape: input and target alike.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)

    def forward(self, input, target):
        return _layer_call(self, F.l1_loss, input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1: l = 0.5 d^2 / beta if |d| < beta, else |d| - 0.5 beta, with d = input - target.

    Args (PyTorch's): size_average, reduce, reduction='mean', beta=1.0 (>= 0; 0 is L1Loss).
    Shape: input and target alike.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        name = type(self).__name__
        _check_real(name, "beta", beta)
        if not 0 <= beta < float("inf"):
            raise ValueError(f"{name}: beta must be a non-negative finite number. Received: beta={beta}")
        self.beta = beta

    def forward(self, input, target):
        return _layer_call(self, F.smooth_l1_loss, input, target, reduction=self.reduction, beta=self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class HuberLoss(_Loss):
    """Huber loss: l = 0.5 d^2 if |d| <= delta, else delta (|d| - 0.5 delta), with d = input - target.

    Args (PyTorch's): reduction='mean', delta=1.0 (> 0). Shape: input and target alike.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(None, None, reduction)
        name = type(self).__name__
        _check_real(name, "delta", delta)
        if not 0 < delta < float("inf"):
            raise ValueError(f"{name}: delta must be a positive finite number. Received: delta={delta}")
        self.delta = delta

    def forward(self, input, target):
        return _layer_call(self, F.huber_loss, input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self) -> str:
        return f"delta={self.delta}"


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities: l = -w [t log x + (1 - t) log(1 - x)], logs clamped at -100.

    Args (PyTorch's): weight=None (broadcast to input), size_average, reduce, reduction='mean'.
    Buffer: ``weight``. Shape: input (probabilities in [0, 1]) and target alike.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _weight_array(type(self).__name__, "weight", weight))

    def forward(self, input, target):
        return _layer_call(self, F.binary_cross_entropy, input, target, self.weight, reduction=self.reduction)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of log-probabilities input from target: l = t (log t - input).

    Args (PyTorch's): size_average, reduce, reduction='mean' ('none', 'sum', 'mean' or 'batchmean':
    the sum over the batch size, the KL divergence per sample), log_target=False (target holds
    log-probabilities: l = e^t (t - input)). Shape: input and target alike.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False) -> None:
        name = type(self).__name__
        if reduction not in _REDUCTIONS + ("batchmean",):
            raise ValueError(
                f"{name}: reduction must be 'mean', 'batchmean', 'sum' or 'none'. Received: reduction={reduction!r}"
            )
        super().__init__(size_average, reduce, "mean" if reduction == "batchmean" else reduction)
        if reduction == "batchmean" and size_average is None and reduce is None:
            self.reduction = reduction
        if not isinstance(log_target, bool):
            raise TypeError(f"{name}: log_target must be True or False. Received: log_target={log_target!r}")
        self.log_target = log_target

    def forward(self, input, target):
        return _layer_call(self, F.kl_div, input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
