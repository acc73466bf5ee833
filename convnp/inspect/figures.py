"""The pictures: filters, feature maps, top-k patches, heatmaps, predictions, confusion.

Drawn with matplotlib's Agg canvas on ``matplotlib.figure.Figure`` objects (never pyplot: no
display is needed and a notebook's backend is left alone). Grids of many small images (filters,
feature maps, patches) are assembled as one NumPy mosaic and drawn with a single ``imshow``, so a
grid of 16 channels x 9 patches costs one axes, not 144.

Every function returns a Figure; :func:`save_png` writes one (and closes nothing: Figures without
pyplot are freed with their last reference).
"""

from __future__ import annotations

import io
import math

import numpy as np

__all__ = [
    "filter_images",
    "mosaic",
    "to_display",
    "filters_figure",
    "feature_maps_figure",
    "top_patches_figure",
    "heatmap_figure",
    "predictions_figure",
    "confusion_figure",
    "confused_pairs_figure",
    "curves_figure",
    "save_png",
    "png_bytes",
]

_NAN_RGB = np.array([0.86, 0.88, 0.92])  # outside the image (clipped receptive fields): pale blue-grey
_GAP_RGB = np.array([1.0, 1.0, 1.0])  # between tiles


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(width, 1.0), max(height, 1.0)), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig, dpi: int = 100) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def save_png(fig, path, dpi: int = 100) -> bytes:
    """Write ``fig`` as PNG to ``path``; returns the bytes (for embedding)."""
    data = png_bytes(fig, dpi)
    with open(path, "wb") as f:
        f.write(data)
    return data


# --------------------------------------------------------------------------------------------
# Turning arrays into pictures
# --------------------------------------------------------------------------------------------
def filter_images(weight: np.ndarray) -> np.ndarray:
    """Filters as images, each normalised on its own to [0, 1]: w' = (w - min w) / (max w - min w)
    over all of that filter's weights (a constant filter becomes 0.5).

    (K, 3, kh, kw) -> (K, kh, kw, 3) colour images; (K, C, kh, kw) with C != 3 -> (K, C, kh, kw),
    one grey slice per input channel.
    """
    w = np.asarray(weight, dtype=np.float64)
    k = w.shape[0]
    flat = w.reshape(k, -1)
    lo = flat.min(axis=1).reshape(k, 1, 1, 1)
    hi = flat.max(axis=1).reshape(k, 1, 1, 1)
    span = hi - lo
    img = np.where(span > 0, (w - lo) / np.where(span > 0, span, 1), 0.5)
    if w.shape[1] == 3:
        return img.transpose(0, 2, 3, 1)  # (K, 3, kh, kw) -> (K, kh, kw, 3)
    return img


def to_display(images: np.ndarray, mean=None, std=None, per_image: bool = False) -> np.ndarray:
    """Model inputs (M, C, H, W) -> displayable (M, H, W, 3) in [0, 1] (NaN kept).

    With the normalisation ``mean``/``std``: x * std + mean, clipped to [0, 1]. Without it, each
    image (``per_image``) or the whole set is stretched from its min to its max.
    """
    x = np.asarray(images, dtype=np.float64)
    c = x.shape[1]
    if mean is not None and std is not None:
        m = np.asarray(mean, dtype=np.float64).reshape(1, -1, 1, 1)
        s = np.asarray(std, dtype=np.float64).reshape(1, -1, 1, 1)
        x = np.clip(x * s + m, 0, 1)
    else:
        axes = (1, 2, 3) if per_image else None
        with np.errstate(all="ignore"):
            lo = np.nanmin(x, axis=axes, keepdims=True) if np.isfinite(x).any() else 0.0
            hi = np.nanmax(x, axis=axes, keepdims=True) if np.isfinite(x).any() else 1.0
            span = np.where(hi - lo > 0, hi - lo, 1.0)
            x = (x - lo) / span
    if c == 1:
        x = np.repeat(x, 3, axis=1)
    elif c != 3:
        x = np.repeat(x.mean(axis=1, keepdims=True), 3, axis=1)
    return x.transpose(0, 2, 3, 1)  # (M, C, H, W) -> (M, H, W, 3)


def _signed_display(p: np.ndarray) -> np.ndarray:
    """Projections (M, C, h, w) -> (M, h, w, 3): 0.5 + 0.5 p / max|p| per projection (grey is zero)."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(all="ignore"):
        peak = np.nanmax(np.abs(p).reshape(p.shape[0], -1), axis=1).reshape(-1, 1, 1, 1)
    peak = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
    d = 0.5 + 0.5 * p / peak
    if d.shape[1] == 1:
        d = np.repeat(d, 3, axis=1)
    elif d.shape[1] != 3:
        d = np.repeat(d.mean(axis=1, keepdims=True), 3, axis=1)
    return d.transpose(0, 2, 3, 1)


def _colormap(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps[cmap](np.clip(values, 0, 1))[..., :3]


def mosaic(tiles: np.ndarray, cols: int, pad: int = 1, fill=_GAP_RGB) -> np.ndarray:
    """(M, h, w, 3) tiles -> one (rows*(h+pad)+pad, cols*(w+pad)+pad, 3) image, row by row; NaN pixels
    get the 'outside the image' colour."""
    m, h, w, _ = tiles.shape
    cols = max(1, min(cols, m))
    rows = max(1, math.ceil(m / cols))
    out = np.empty((rows * (h + pad) + pad, cols * (w + pad) + pad, 3))
    out[...] = fill
    t = np.where(np.isnan(tiles), _NAN_RGB, tiles)
    full = np.empty((rows * cols, h, w, 3))
    full[...] = fill
    full[:m] = t
    grid = full.reshape(rows, cols, h, w, 3).transpose(0, 2, 1, 3, 4)  # (rows, h, cols, w, 3)
    body = np.concatenate([grid, np.broadcast_to(fill, (rows, h, cols, pad, 3))], axis=3)  # pad right of tiles
    body = body.reshape(rows, h, cols * (w + pad), 3)
    body = np.concatenate([body, np.broadcast_to(fill, (rows, pad, cols * (w + pad), 3))], axis=1)
    out[pad:, pad:] = body.reshape(rows * (h + pad), cols * (w + pad), 3)
    return out


def _upscale(img: np.ndarray, factor: int) -> np.ndarray:
    return img if factor <= 1 else np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def _show(ax, img) -> None:
    ax.imshow(np.clip(img, 0, 1), interpolation="nearest")
    ax.set_axis_off()


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def filters_figure(weight: np.ndarray, layer: str, max_filters: int = 128):
    """The filters of a conv layer: colour for 3 input channels, otherwise one grey slice per input
    channel (a row per filter, at most 16 slices shown). Title: the layer's name and weight shape."""
    w = np.asarray(weight)
    k, c, kh, kw = w.shape
    imgs = filter_images(w[:max_filters])
    shown = imgs.shape[0]
    if c == 3:
        tiles = imgs  # (K, kh, kw, 3)
        cols = int(math.ceil(math.sqrt(shown)))
        grid = mosaic(tiles, cols)
    else:
        cs = min(c, 16)
        tiles = np.repeat(imgs[:, :cs, :, :, None], 3, axis=4).reshape(shown * cs, kh, kw, 3)
        if cs == 1:
            cols = int(math.ceil(math.sqrt(shown)))
            grid = mosaic(tiles, cols)
        else:
            grid = mosaic(tiles, cs)  # a row per filter
    scale = max(1, int(math.ceil(320 / max(grid.shape[:2]))))
    grid = _upscale(grid, min(scale, 12))
    h, w_ = grid.shape[:2]
    fig = _figure(min(12, max(5.5, 1.0 + w_ / 70)), min(16, max(2.8, 1.3 + h / 70)))
    ax = fig.add_subplot(1, 1, 1)
    _show(ax, grid)
    more = f" (first {shown} of {k})" if shown < k else ""
    layout = (
        "colour"
        if c == 3
        else (f"a row per filter, a column per input channel{' (first 16)' if c > 16 else ''}" if c > 1 else "grey")
    )
    ax.set_title(
        f"{layer}: weight {k}x{c}x{kh}x{kw}{more}\n{layout};\neach filter normalised to its own range", fontsize=9
    )
    fig.tight_layout()
    return fig


def feature_maps_figure(
    maps: np.ndarray,
    layer: str,
    image: np.ndarray | None = None,
    mean=None,
    std=None,
    max_channels: int = 64,
    label: str = "",
):
    """One tile per channel of (C, h, w) feature maps, on one colour scale for the layer (viridis,
    min to max of the layer); the input image beside them."""
    maps = np.asarray(maps, dtype=np.float64)[:max_channels]
    c, h, w = maps.shape
    lo, hi = float(np.nanmin(maps)), float(np.nanmax(maps))
    norm = (maps - lo) / (hi - lo) if hi > lo else np.zeros_like(maps)
    tiles = _colormap(norm)  # (C, h, w, 3)
    cols = int(math.ceil(math.sqrt(c)))
    grid = mosaic(tiles, cols)
    scale = max(1, int(240 // max(grid.shape[:2])))
    grid = _upscale(grid, scale)
    has_img = image is not None
    fig = _figure(min(13, 2.5 + grid.shape[1] / 60 + (2.5 if has_img else 0)), min(14, 1.5 + grid.shape[0] / 60))
    if has_img:
        ax0, ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 3]})
        _show(ax0, to_display(image[None], mean, std)[0])
        ax0.set_title(f"input{label}", fontsize=9)
    else:
        ax = fig.add_subplot(1, 1, 1)
    _show(ax, grid)
    ax.set_title(f"{layer}: {c} feature maps of {h}x{w} (one scale for the layer: {lo:.3g} .. {hi:.3g})", fontsize=9)
    fig.tight_layout()
    return fig


def top_patches_figure(
    tp, channels=None, projections: bool | None = None, per_row: int | None = None, max_channels: int = 64
):
    """Zeiler & Fergus's grids: for each channel a block of its k crops (k=9: 3x3), the strongest
    first; with ``projections`` each crop has its deconvnet projection on its left."""
    sel = (
        np.arange(len(tp.channels))
        if channels is None
        else np.array([int(np.nonzero(tp.channels == c)[0][0]) for c in np.atleast_1d(channels)])
    )
    sel = sel[:max_channels]
    proj = tp.projections is not None if projections is None else bool(projections and tp.projections is not None)
    crops = tp.crops[sel]  # (S, k, C_in, rh, rw)
    s, k = crops.shape[:2]
    rh, rw = crops.shape[3:]
    disp = to_display(crops.reshape(s * k, *crops.shape[2:]), tp.mean, tp.std, per_image=tp.mean is None).reshape(
        s, k, rh, rw, 3
    )
    empty = tp.index[sel] < 0
    disp[empty] = np.nan
    if proj:
        pdisp = _signed_display(np.nan_to_num(tp.projections[sel].reshape(s * k, *crops.shape[2:])))
        pdisp = pdisp.reshape(s, k, rh, rw, 3)
        pdisp[empty] = np.nan
        pairs = np.concatenate([pdisp, np.ones((s, k, rh, 1, 3)), disp], axis=3)  # projection | crop
        tiles = pairs
    else:
        tiles = disp
    kc = int(math.ceil(math.sqrt(k)))
    blocks = np.stack([mosaic(tiles[i], kc, pad=1) for i in range(s)])  # (S, bh, bw, 3) per channel
    per_row = per_row or max(1, min(8 if not proj else 4, int(math.ceil(math.sqrt(s * 1.5)))))
    grid = mosaic(blocks, per_row, pad=4, fill=np.array([0.35, 0.35, 0.35]))
    scale = max(1, int(900 // max(grid.shape[:2])))
    grid = _upscale(grid, min(scale, 6))
    fig = _figure(min(16, 1 + grid.shape[1] / 70), min(22, 1.2 + grid.shape[0] / 70))
    ax = fig.add_subplot(1, 1, 1)
    _show(ax, grid)
    bh, bw = blocks.shape[1:3]
    f = grid.shape[0] / mosaic(blocks, per_row, pad=4).shape[0]
    for i, ch in enumerate(tp.channels[sel]):
        r, c = divmod(i, per_row)
        ax.text(
            (4 + c * (bw + 4)) * f + 1,
            (4 + r * (bh + 4)) * f + 1,
            f"{ch}",
            color="yellow",
            fontsize=7,
            va="top",
            ha="left",
            bbox=dict(facecolor="black", alpha=0.6, pad=1, linewidth=0),
        )
    what = "deconvnet projection | image patch" if proj else "image patches"
    ax.set_title(
        f"{tp.layer}: top-{k} {what} per channel over {tp.images_seen:,} images (receptive field {rh}x{rw} px)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def heatmap_figure(
    images: np.ndarray,
    maps: np.ndarray,
    titles: list[str],
    mean=None,
    std=None,
    suptitle: str = "",
    cmap: str = "jet",
    alpha: float = 0.45,
):
    """Images (N, C, H, W) with heatmaps (N, H, W) laid over them (each map scaled to its own max),
    side by side in one picture."""
    imgs = np.nan_to_num(to_display(images, mean, std, per_image=mean is None), nan=0.5)
    n, h, w, _ = imgs.shape
    m = np.asarray(maps, dtype=np.float64)
    peak = m.reshape(n, -1).max(axis=1).reshape(n, 1, 1)
    heat = _colormap(m / np.where(peak > 0, peak, 1.0), cmap)  # (N, H, W, 3)
    tiles = (1 - alpha) * imgs + alpha * heat
    scale = max(1, int(140 // max(h, w)))
    tiles = np.stack([_upscale(t, scale) for t in tiles])
    pad = max(2, scale)
    grid = mosaic(tiles, n, pad=pad)
    fig = _figure(min(18, 0.3 + n * (tiles.shape[2] + pad) / 70), 0.9 + (tiles.shape[1] + pad) / 70)
    ax = fig.add_axes((0.01, 0.02, 0.98, 0.78 if suptitle else 0.85))
    _show(ax, grid)
    for i, t in enumerate(titles[:n]):
        ax.text(pad + i * (tiles.shape[2] + pad) + tiles.shape[2] / 2, -2, t, ha="center", va="bottom", fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    return fig


def predictions_figure(images: np.ndarray, labels: np.ndarray, top, classes: list[str], mean=None, std=None):
    """Each sample image above a bar chart of its top-k classes and probabilities (the true class
    green, a wrong top-1 red), like the lectures' ImageNet figure."""
    n = images.shape[0]
    imgs = to_display(images, mean, std, per_image=mean is None)
    cols = min(n, 4)
    rows = max(1, math.ceil(n / cols))
    fig = _figure(3.0 * cols, 3.3 * rows)
    gs = fig.add_gridspec(rows * 2, cols, height_ratios=[1.25, 1] * rows, hspace=0.35)
    for i in range(n):
        r, c = divmod(i, cols)
        ax_img = fig.add_subplot(gs[2 * r, c])
        _show(ax_img, imgs[i])
        right = top.indices[i, 0] == labels[i]
        ax_img.set_title(
            f"true {classes[labels[i]]}, predicted {classes[top.indices[i, 0]]}",
            fontsize=8,
            color="green" if right else "red",
        )
        ax = fig.add_subplot(gs[2 * r + 1, c])
        k = top.indices.shape[1]
        names = [classes[j] for j in top.indices[i]]
        colors = [
            "tab:green" if j == labels[i] else ("tab:red" if t == 0 else "tab:blue")
            for t, j in enumerate(top.indices[i])
        ]
        ax.barh(np.arange(k)[::-1], top.probs[i], color=colors)
        ax.set_yticks(np.arange(k)[::-1])
        ax.set_yticklabels([s[:14] for s in names], fontsize=7)
        ax.set_xlim(0, 1)
        ax.tick_params(axis="x", labelsize=7)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.95, bottom=0.05, wspace=0.45)
    return fig


def confusion_figure(cm: np.ndarray, classes: list[str], title: str = "confusion matrix"):
    """Counts M[true, predicted], darker for more, with the numbers written in (up to 20 classes)."""
    k = cm.shape[0]
    size = min(12, 2.5 + 0.45 * k)
    fig = _figure(size, size * 0.9)
    ax = fig.add_subplot(1, 1, 1)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)  # row fractions for the colour
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(
                        j,
                        i,
                        str(int(cm[i, j])),
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black",
                    )
    names = [c[:12] for c in classes]
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names, rotation=90 if k > 10 or max(len(n) for n in names) > 3 else 0, fontsize=7)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def confused_pairs_figure(pairs: list, examples: dict, classes: list[str], mean=None, std=None):
    """A row per confused pair (true -> predicted, count) with its example images, in one picture."""
    per = max([len(examples.get((t, p), [])) for t, p, _ in pairs] + [1])
    fig = _figure(2.0 + 1.1 * per, 0.6 + 1.0 * max(1, len(pairs)))
    ax = fig.add_axes((0.3, 0.02, 0.68, 0.9))
    if not pairs:
        ax.set_axis_off()
        ax.text(0.0, 0.5, "no mistakes", fontsize=9)
        return fig
    first = next(np.asarray(examples[(t, p)]) for t, p, _ in pairs if len(examples.get((t, p), [])))
    _, c, h, w = first.shape
    tiles = np.full((len(pairs) * per, h, w, 3), np.nan)
    for r, (t, p, _) in enumerate(pairs):
        ex = examples.get((t, p))
        if ex is not None and len(ex):
            tiles[r * per : r * per + len(ex)] = to_display(np.asarray(ex), mean, std, per_image=mean is None)
    scale = max(1, int(60 // max(h, w)))
    tiles = np.stack([_upscale(t, scale) for t in tiles])
    grid = mosaic(tiles, per, pad=2, fill=np.array([1.0, 1.0, 1.0]))
    _show(ax, grid)
    th = tiles.shape[1] + 2
    for r, (t, p, count) in enumerate(pairs):
        ax.text(
            -6,
            2 + r * th + th / 2,
            f"true {classes[t]}\nseen as {classes[p]}: {count}x",
            fontsize=8,
            ha="right",
            va="center",
        )
    fig.suptitle("most confused pairs, with examples", fontsize=9)
    return fig


def curves_figure(history: list[dict]):
    """Training curves from metrics.json's history: loss and accuracy against the epoch."""
    fig = _figure(10, 3.6)
    ax_l, ax_a = fig.subplots(1, 2)
    for ax, keys, ylabel in (
        (ax_l, ("train_loss", "val_loss", "test_loss"), "loss"),
        (ax_a, ("train_accuracy", "val_accuracy", "test_accuracy", "test_top5"), "accuracy (%)"),
    ):
        for key in keys:
            pts = [(h.get("epoch"), h.get(key)) for h in history if isinstance(h.get(key), (int, float))]
            if pts:
                xs, ys = zip(*pts)
                ys = [100 * v for v in ys] if "accuracy" in key or "top5" in key else ys
                ax.plot(xs, ys, "-o", markersize=3, label=key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
