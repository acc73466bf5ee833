"""Classification metrics on whole batches: top-k accuracy, the confusion matrix, per-class accuracy.

Every function takes NumPy arrays (or tensors) and is vectorised over the batch:

    top-k correct(n)   = [ y_n is among the k largest of logits[n, :] ]
    accuracy@k         = (1/N) sum_n top-k correct(n)
    confusion[i, j]    = #{ n : y_n = i and argmax_j logits[n, j] = j }      (rows: truth, columns: prediction)
    per-class acc[i]   = confusion[i, i] / sum_j confusion[i, j]             (NaN for a class with no sample)

>>> import numpy as np
>>> logits = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5]])
>>> y = np.array([1, 2, 2])
>>> topk_correct(logits, y, (1, 2)).tolist()
[2, 2]
>>> confusion_matrix(logits.argmax(1), y, 3).tolist()
[[0, 0, 0], [0, 1, 0], [1, 0, 1]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convnp.autograd.tensor import Tensor

__all__ = ["topk_correct", "accuracy", "confusion_matrix", "per_class_accuracy", "MetricAccumulator"]


def _array(x, name: str, op: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.data
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    return x


def _check_logits_targets(logits, targets, op: str) -> tuple[np.ndarray, np.ndarray]:
    logits = _array(logits, "logits", op)
    targets = _array(targets, "targets", op)
    if logits.ndim != 2:
        raise ValueError(f"{op}: expected logits of shape (N, num_classes). Received: shape {logits.shape}")
    if targets.shape != (logits.shape[0],):
        raise ValueError(
            f"{op}: expected one integer target per row of logits, shape ({logits.shape[0]},). "
            f"Received: targets of shape {targets.shape}"
        )
    if targets.size and not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"{op}: targets must be integer class indices. Received: dtype {targets.dtype}")
    return logits, targets.astype(np.int64, copy=False)


def topk_correct(logits, targets, ks: Sequence[int] = (1,)) -> np.ndarray:
    """How many rows have their target among the k highest logits, for every k in ``ks``.

    The rank of the target is the number of classes scoring strictly higher than it (ties count
    in the target's favour, as ``argmax`` picks the first of tied maxima only for top-1):
    ``rank[n] = #{j : logits[n, j] > logits[n, y_n]}``; top-k correct iff ``rank < k``.
    For top-1 the rule is exactly ``argmax(logits) == y`` (the first maximum wins ties).
    A row with a non-finite logit (NaN, +-inf: a diverged network) is never correct.
    (N, K) logits, (N,) targets -> (len(ks),) int64 counts.
    """
    logits, targets = _check_logits_targets(logits, targets, "topk_correct")
    ks = [int(k) for k in ks]
    if any(k < 1 for k in ks):
        raise ValueError(f"topk_correct: every k must be at least 1. Received: ks={ks}")
    n = logits.shape[0]
    if n == 0:
        return np.zeros(len(ks), dtype=np.int64)
    rows = np.arange(n)
    target_score = logits[rows, targets][:, None]  # (N, 1)
    higher = (logits > target_score).sum(axis=1)  # (N,) classes strictly above the target
    # classes tied with the target that come before it (argmax's first-maximum rule)
    tied_before = ((logits == target_score) & (np.arange(logits.shape[1])[None, :] < targets[:, None])).sum(axis=1)
    rank = higher + tied_before  # (N,) 0 = predicted class
    # a row holding a NaN or an infinity is no prediction: every comparison with NaN is false, so
    # without this a NaN row would rank its target first and count as correct
    rank[~np.isfinite(logits).all(axis=1)] = logits.shape[1]
    return np.array([int((rank < k).sum()) for k in ks], dtype=np.int64)


def accuracy(logits, targets, topk: Sequence[int] | int = 1):
    """Top-k accuracy in [0, 1]: a float for one k, a list for several.

    >>> accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0]))
    0.5
    """
    single = isinstance(topk, (int, np.integer))
    ks = [int(topk)] if single else list(topk)
    logits_arr, targets_arr = _check_logits_targets(logits, targets, "accuracy")
    n = max(logits_arr.shape[0], 1)
    counts = topk_correct(logits_arr, targets_arr, ks)
    values = [float(c) / n for c in counts]
    return values[0] if single else values


def confusion_matrix(predictions, targets, num_classes: int) -> np.ndarray:
    """(K, K) int64 counts, rows the true class and columns the predicted class, in one bincount:
    ``confusion.ravel()[y * K + p] += 1``."""
    predictions = _array(predictions, "predictions", "confusion_matrix").astype(np.int64, copy=False).ravel()
    targets = _array(targets, "targets", "confusion_matrix").astype(np.int64, copy=False).ravel()
    if predictions.shape != targets.shape:
        raise ValueError(
            f"confusion_matrix: predictions and targets must have the same length. "
            f"Received: {predictions.shape[0]} predictions, {targets.shape[0]} targets"
        )
    k = int(num_classes)
    if k < 1:
        raise ValueError(f"confusion_matrix: num_classes must be at least 1. Received: num_classes={num_classes!r}")
    for name, v in (("predictions", predictions), ("targets", targets)):
        if v.size and (v.min() < 0 or v.max() >= k):
            raise ValueError(
                f"confusion_matrix: {name} must lie in [0, {k}). Received: values from {v.min()} to {v.max()}"
            )
    return np.bincount(targets * k + predictions, minlength=k * k).reshape(k, k)  # (K*K,) -> (K, K)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """(K,) float64: the diagonal over the row sums (recall per class); NaN where a class has no sample."""
    confusion = np.asarray(confusion)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"per_class_accuracy: expected a square confusion matrix. Received: shape {confusion.shape}")
    totals = confusion.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.where(totals > 0, totals, 1), np.nan)


class MetricAccumulator:
    """Running sums over the batches of an epoch: loss (weighted by batch size), top-k hits, and
    optionally the confusion matrix. ``update`` takes the batch's mean loss, logits and targets.
    Rows with a non-finite logit count as wrong in the accuracy, are counted in ``nonfinite`` and
    are left out of the confusion matrix (they predict no class)."""

    def __init__(self, num_classes: int | None = None, topk: Sequence[int] = (1, 5), confusion: bool = False):
        self.topk = tuple(int(k) for k in topk)
        self.num_classes = num_classes
        self.want_confusion = confusion
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.nonfinite = 0  # rows whose logits hold NaN or infinity: never correct
        self.loss_sum = 0.0
        self.hits = np.zeros(len(self.topk), dtype=np.int64)
        self.confusion = None

    def update(self, loss: float | None, logits, targets) -> None:
        logits, targets = _check_logits_targets(logits, targets, "MetricAccumulator.update")
        b = logits.shape[0]
        self.n += b
        if loss is not None:
            self.loss_sum += float(loss) * b
        ks = [min(k, logits.shape[1]) for k in self.topk]  # top-5 of 3 classes = top-3
        self.hits += topk_correct(logits, targets, ks)
        finite = np.isfinite(logits).all(axis=1)  # (B,)
        bad = int(b - finite.sum())
        self.nonfinite += bad
        if self.want_confusion:
            k = self.num_classes or logits.shape[1]
            if bad:  # no prediction to place in a column
                logits, targets = logits[finite], targets[finite]
            cm = confusion_matrix(logits.argmax(axis=1), targets, k)
            self.confusion = cm if self.confusion is None else self.confusion + cm

    @property
    def loss(self) -> float:
        return self.loss_sum / self.n if self.n else float("nan")

    def accuracy(self, k: int = 1) -> float:
        return float(self.hits[self.topk.index(k)]) / self.n if self.n else float("nan")
