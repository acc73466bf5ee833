"""Pictures of a run, drawn headless with matplotlib's Agg canvas (no display, and no change to the
pyplot backend of a notebook that imports convnp): the training curves and the confusion matrix.
Both are written atomically.
"""

from __future__ import annotations

import io

import numpy as np

from convnp.train.files import atomic_write_bytes

__all__ = ["plot_curves", "plot_confusion_matrix"]


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())


def _series(history: list[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(h["epoch"], h[key]) for h in history if h.get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_curves(history: list[dict], path, title: str | None = None, eval_name: str = "test") -> None:
    """curves.png: loss (left) and accuracy in % (right) against epoch, train and evaluation."""
    fig = _figure(10, 4)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for key, label, style in (("train_loss", "train", "-o"), (f"{eval_name}_loss", eval_name, "-s")):
        x, y = _series(history, key)
        if x:
            ax_loss.plot(x, y, style, label=label, markersize=3)
    for key, label, style in (
        ("train_accuracy", "train", "-o"),
        (f"{eval_name}_accuracy", f"{eval_name} top-1", "-s"),
        (f"{eval_name}_top5", f"{eval_name} top-5", ":^"),
    ):
        x, y = _series(history, key)
        if x:
            ax_acc.plot(x, [100 * v for v in y], style, label=label, markersize=3)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    x, y = _series(history, f"{eval_name}_accuracy")
    if y:
        best = int(np.argmax(y))
        ax_acc.annotate(
            f"{100 * y[best]:.2f}%",
            (x[best], 100 * y[best]),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=8,
        )
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        if history:
            ax.set_xlim(0.5, max(h["epoch"] for h in history) + 0.5)
    ax_loss.set_yscale("log")
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.13, top=0.84 if title else 0.9, wspace=0.25)
    _save(fig, path)


def plot_confusion_matrix(confusion: np.ndarray, classes: list[str], path, title: str | None = None) -> None:
    """The confusion matrix as an image: rows the true class, columns the prediction, each row
    coloured by its share (so rare classes show as clearly as common ones), counts written in the
    cells when there are at most 20 classes."""
    confusion = np.asarray(confusion)
    k = confusion.shape[0]
    totals = confusion.sum(axis=1, keepdims=True)
    share = confusion / np.maximum(totals, 1)  # (K, K) row-normalised
    size = min(max(4.0, 0.45 * k + 2.5), 16.0)
    fig = _figure(size + 1.2, size)
    ax = fig.subplots()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    labels = [str(c) for c in classes] if len(classes) == k else [str(i) for i in range(k)]
    if k <= 40:
        ax.set_xticks(range(k), labels, rotation=90 if max(map(len, labels)) > 3 else 0, fontsize=8)
        ax.set_yticks(range(k), labels, fontsize=8)
    if k <= 20:
        for i in range(k):  # loop over cells of a small matrix for the text labels only
            for j in range(k):
                if confusion[i, j]:
                    ax.text(
                        j,
                        i,
                        str(int(confusion[i, j])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black",
                    )
    ax.set(xlabel="predicted class", ylabel="true class")
    acc = np.trace(confusion) / max(confusion.sum(), 1)
    ax.set_title(title or f"confusion matrix (accuracy {100 * acc:.2f}%)")
    fig.tight_layout()
    _save(fig, path)
