"""What the network answers: top-k classes with probabilities, the confusion matrix, the most
confused pairs with example images.

    p = softmax(z),  p_c = exp(z_c - max z) / sum_j exp(z_j - max z)      (z: the class scores)

The top-k of an image are its k most probable classes (the lectures' ImageNet figure shows the top
5 of sample images, right and wrong). The confusion matrix counts, over a data set,
M[true, predicted]; the most confused pairs are its largest off-diagonal entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convnp.inspect.attribution import class_scores
from convnp.inspect.topk import iterate_batches
from convnp.inspect.trace import as_input
from convnp.nn.module import Module

__all__ = ["softmax", "predictions", "TopK", "Evaluation", "evaluate_predictions", "most_confused"]


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, K) scores, computed from z - max z (no overflow)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class TopK:
    """The k most probable classes per image: ``indices`` (N, k) and ``probs`` (N, k), best first."""

    indices: np.ndarray
    probs: np.ndarray
    classes: list | None = None

    def names(self) -> list[list[str]]:
        names = self.classes or [str(i) for i in range(int(self.indices.max()) + 1)]
        return [[names[j] for j in row] for row in self.indices]


def _topk(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]  # (N, k) best first
    return order, np.take_along_axis(probs, order, axis=1)


def predictions(model: Module, x, k: int = 5, classes=None) -> TopK:
    """The top-``k`` classes of each image of ``x`` with their softmax probabilities.

    >>> import numpy as np
    >>> from convnp.nn import Flatten, Linear, Sequential
    >>> p = predictions(Sequential(Flatten(), Linear(4, 6)), np.ones((2, 1, 2, 2), np.float32), k=3)
    >>> p.indices.shape, bool(np.all(np.diff(p.probs, axis=1) <= 0))
    ((2, 3), True)
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"predictions: k must be a positive whole number. Received: k={k!r}")
    probs = softmax(class_scores(model, as_input(model, x, "predictions")))
    idx, p = _topk(probs, int(k))
    return TopK(idx, p, list(classes) if classes is not None else None)


@dataclass
class Evaluation:
    """One pass of a model over a loader: the confusion matrix and examples to show.

    confusion   (K, K) int64, rows the true class, columns the predicted one
    samples     a few images (``samples_x`` (S, C, H, W)) with their labels and top-5 (``samples_top``),
                half correct and half wrong when there are wrong ones
    pairs       the most confused (true, predicted, count) pairs, largest first, and for each up to
                ``examples`` of its images in ``pair_examples[(true, predicted)]``
    """

    confusion: np.ndarray
    classes: list
    n: int
    correct: int
    samples_x: np.ndarray
    samples_y: np.ndarray
    samples_top: TopK
    pairs: list
    pair_examples: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")


def most_confused(confusion: np.ndarray, count: int = 6) -> list[tuple[int, int, int]]:
    """The ``count`` largest off-diagonal entries (true, predicted, n) of a confusion matrix, n > 0."""
    m = np.array(confusion, dtype=np.int64)
    np.fill_diagonal(m, 0)
    flat = np.argsort(-m, axis=None, kind="stable")[:count]
    k = m.shape[1]
    return [(int(f // k), int(f % k), int(m.flat[f])) for f in flat if m.flat[f] > 0]


def evaluate_predictions(
    model: Module,
    loader,
    num_classes: int | None = None,
    classes=None,
    *,
    samples: int = 8,
    pairs: int = 6,
    examples: int = 4,
    limit: int | None = None,
    k: int = 5,
) -> Evaluation:
    """Run ``model`` over ``loader`` ((x, y) batches) once: confusion matrix, sample top-k, confused pairs.

    Memory does not grow with the data set: the confusion matrix, ``samples`` sample images and, per
    (true, predicted) pair, the first ``examples`` images are kept (all pairs while streaming, then
    the ``pairs`` most confused are reported).
    """
    classes = list(classes) if classes is not None else None
    kk = num_classes or (len(classes) if classes else None)
    cm = None
    n = correct = 0
    good_x, good_y, bad_x, bad_y = [], [], [], []
    kept: dict[tuple[int, int], list] = {}
    for xb, yb in iterate_batches(loader):
        if limit is not None and n >= limit:
            break
        if yb is None:
            raise ValueError(
                "evaluate_predictions: the loader must give (images, labels) batches. Received: batches without labels"
            )
        xb = as_input(model, xb, "evaluate_predictions")
        yb = np.asarray(yb, dtype=np.int64).reshape(-1)
        if limit is not None:
            xb, yb = xb[: limit - n], yb[: limit - n]
        scores = class_scores(model, xb)
        if cm is None:
            kk = kk or scores.shape[1]
            cm = np.zeros((kk, kk), dtype=np.int64)
        pred = scores.argmax(axis=1)
        cm += np.bincount(yb * kk + pred, minlength=kk * kk).reshape(kk, kk)
        ok = pred == yb
        correct += int(ok.sum())
        n += len(yb)
        half = max(samples // 2, 1)
        if len(good_x) < samples:
            good_x += list(xb[ok][: samples - len(good_x)])
            good_y += list(yb[ok][: samples - len(good_y)])
        if len(bad_x) < half:
            bad_x += list(xb[~ok][: half - len(bad_x)])
            bad_y += list(yb[~ok][: half - len(bad_y)])
        wrong = np.nonzero(~ok)[0]
        if wrong.size:
            keys = yb[wrong] * kk + pred[wrong]
            for key in np.unique(keys):  # loop over the distinct pairs of the batch
                pair = (int(key // kk), int(key % kk))
                have = kept.setdefault(pair, [])
                if len(have) < examples:
                    have += list(xb[wrong[keys == key]][: examples - len(have)])
    if cm is None:
        raise ValueError("evaluate_predictions: the loader gave no images. Received: an empty loader")
    n_bad = min(len(bad_x), samples // 2)
    sx = np.array(good_x[: samples - n_bad] + bad_x[:n_bad])
    sy = np.array(good_y[: samples - n_bad] + bad_y[:n_bad], dtype=np.int64)
    probs = softmax(class_scores(model, sx)) if len(sx) else np.zeros((0, kk))
    idx, p = _topk(probs, k) if len(sx) else (np.zeros((0, 0), np.int64), np.zeros((0, 0)))
    names = classes or [str(i) for i in range(kk)]
    top_pairs = most_confused(cm, pairs)
    return Evaluation(
        cm,
        names,
        n,
        correct,
        sx,
        sy,
        TopK(idx, p, names),
        top_pairs,
        {(t, q): np.array(kept.get((t, q), [])) for t, q, _ in top_pairs},
    )
