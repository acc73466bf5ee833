"""Top-k patches: for each channel of a layer, the k images of a data set that excite it most.

Zeiler & Fergus (2014) show, for a feature map, the 9 image patches with the strongest activation
over the validation set. Here, for each channel c of ``layer`` and each image n, the activation of
the channel in that image is its strongest position,

    a[n, c] = max_{y, x} A[n, c, y, x]        (the first maximum in row-major order on ties),

and the channel's top-k are the k images with the largest a[n, c] (the earlier image on ties). The
patch of each is the receptive field of its position (``convnp.inspect.receptive``), cropped from
the image and clipped at the border (pixels outside the image are NaN in the crop, which keeps
the field's full size so that crops line up).

One pass over the loader, memory independent of the data set's size: per channel a bounded
buffer of the k best (value, image index, position) seen so far -- the job of a size-k min-heap,
done for all channels at once: each batch's B candidates are merged with the k kept ones and the
best k of the k + B are kept (one ``np.lexsort`` per batch). Crops are cut only for the entries
that get into a buffer, into k preallocated slots per channel. With ``deconv=True`` the deconvnet
projection of each final top activation is computed once at the end, from its crop alone (an
activation depends only on the pixels of its field; see ``_add_projections``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from convnp.autograd.tensor import Tensor
from convnp.inspect.receptive import ReceptiveField, receptive_fields
from convnp.inspect.trace import as_input, spatial_output, trace
from convnp.nn.module import Module

__all__ = ["StreamingTopK", "TopPatches", "top_patches", "crop_fields", "images_from_crops", "iterate_batches"]

_NO_INDEX = np.iinfo(np.int64).max  # an empty slot: loses every tie


class StreamingTopK:
    """Per channel, the k largest values seen so far, with their stream index and a payload slot.

    ``push(values, index)``: values (B, C), index (B,) increasing stream positions. Returns
    ``(chan, rank, batch_row, slot)`` for the entries that entered the buffers in this push (the
    caller writes their payload into ``slot``). Order: larger value first, then smaller index.
    NaN counts as -inf.
    """

    def __init__(self, channels: int, k: int):
        if k < 1:
            raise ValueError(f"top_patches: k must be at least 1. Received: k={k}")
        self.k = k
        self.values = np.full((channels, k), -np.inf)  # (C, k), best first
        self.index = np.full((channels, k), _NO_INDEX, dtype=np.int64)
        self.slot = np.tile(np.arange(k, dtype=np.int64), (channels, 1))  # payload slot of each rank
        self.extra: dict[str, np.ndarray] = {}

    def push(self, values: np.ndarray, index: np.ndarray, **extra) -> tuple[np.ndarray, ...]:
        c, k = self.values.shape
        b = values.shape[0]
        v = np.where(np.isnan(values), -np.inf, values).T.astype(np.float64)  # (B, C) -> (C, B)
        cand_v = np.concatenate([self.values, v], axis=1)  # (C, k + B)
        cand_i = np.concatenate([self.index, np.broadcast_to(index[None, :], (c, b))], axis=1)
        order = np.lexsort((cand_i, -cand_v), axis=-1)[:, :k]  # (C, k) best first
        rows = np.arange(c)[:, None]
        self.values = cand_v[rows, order]
        self.index = cand_i[rows, order]
        for name, arr in extra.items():  # (B, C) per-entry data
            kept = self.extra.get(name)
            if kept is None:
                kept = np.zeros((c, k), dtype=arr.dtype)
            cand = np.concatenate([kept, arr.T], axis=1)
            self.extra[name] = cand[rows, order]
        # payload slots: kept entries keep theirs, new entries take the slots of the evicted ones
        old = order < k  # (C, k)
        kept_old = np.zeros((c, k), dtype=bool)
        kept_old[np.nonzero(old)[0], order[old]] = True
        free_c, free_r = np.nonzero(~kept_old)  # evicted, by channel
        new_c, new_rank = np.nonzero(~old)  # entered, by channel
        new_slot = np.empty((c, k), dtype=np.int64)
        new_slot[old] = self.slot[np.nonzero(old)[0], order[old]]
        new_slot[new_c, new_rank] = self.slot[free_c, free_r]  # same count per channel
        self.slot = new_slot
        return new_c, new_rank, order[new_c, new_rank] - k, new_slot[new_c, new_rank]


# --------------------------------------------------------------------------------------------
# Crops
# --------------------------------------------------------------------------------------------
def crop_fields(
    images: np.ndarray, rf: ReceptiveField, ys: np.ndarray, xs: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """The receptive-field crops of positions (ys[m], xs[m]) of images[rows[m]], in canvases of the
    field's full size ``rf.size``; pixels outside the image (or outside a clipped field) are NaN.

    (B, C, H, W), M positions -> (M, C, rh, rw).
    """
    rows = np.arange(len(ys)) if rows is None else rows
    rh, rw = rf.size
    m = len(ys)
    _, c, h, w = images.shape
    if m == 0:
        return np.zeros((0, c, rh, rw), dtype=images.dtype)
    ny0, _, nx0, _ = rf.nominal_box(ys, xs)  # (M,) nominal top-left corners
    y0, y1, x0, x1 = rf.box(ys, xs)  # (M,) clipped, half-open
    r = np.asarray(ny0)[:, None] + np.arange(rh)[None, :]  # (M, rh) image rows
    q = np.asarray(nx0)[:, None] + np.arange(rw)[None, :]  # (M, rw) image columns
    row_ok = (r >= np.asarray(y0)[:, None]) & (r < np.asarray(y1)[:, None]) & (r >= 0) & (r < h)
    col_ok = (q >= np.asarray(x0)[:, None]) & (q < np.asarray(x1)[:, None]) & (q >= 0) & (q < w)
    rc, qc = np.clip(r, 0, h - 1), np.clip(q, 0, w - 1)
    crops = images[
        rows[:, None, None, None], np.arange(c)[None, :, None, None], rc[:, None, :, None], qc[:, None, None, :]
    ].astype(np.float32)  # (M, C, rh, rw)
    ok = row_ok[:, None, :, None] & col_ok[:, None, None, :]
    return np.where(ok, crops, np.float32(np.nan))


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------
@dataclass
class TopPatches:
    """The top-k of every channel of one layer.

    Arrays are (C, k) for the C channels asked for (``channels``), best first; a slot that was never
    filled (a data set of fewer than k images) has index -1 and value -inf.

    values      the activation a[n, c]
    index       the image's position in the loader's order (0-based)
    labels      its label (-1 when the loader gave none)
    positions   (C, k, 2): (y, x) of the strongest position in the feature map
    boxes       (C, k, 4): (y0, y1, x0, x1) of its receptive field in the image, half-open, clipped
    crops       (C, k, C_in, rh, rw): the field cut from the image (NaN outside the image)
    projections (C, k, C_in, rh, rw) or None: the deconvnet projection of the activation, same crop
    """

    layer: str
    channels: np.ndarray
    values: np.ndarray
    index: np.ndarray
    labels: np.ndarray
    positions: np.ndarray
    boxes: np.ndarray
    crops: np.ndarray
    projections: np.ndarray | None
    field: ReceptiveField
    images_seen: int
    mean: tuple | None = None
    std: tuple | None = None
    classes: list | None = field(default=None, repr=False)

    @property
    def k(self) -> int:
        return self.values.shape[1]

    def plot(self, channels=None, projections: bool | None = None, **kw):
        """Zeiler & Fergus's grid: one block of k crops per channel (with ``projections`` the
        deconvnet projection beside each crop). Returns a matplotlib Figure."""
        from convnp.inspect.figures import top_patches_figure

        return top_patches_figure(self, channels=channels, projections=projections, **kw)


def iterate_batches(data, batch_size: int = 256):
    """(x, y) batches from a DataLoader (or any iterable of (x, y) / x), or from an array of images."""
    if isinstance(data, (np.ndarray, Tensor)):
        arr = data.data if isinstance(data, Tensor) else data
        for i in range(0, arr.shape[0], batch_size):
            yield arr[i : i + batch_size], None
        return
    for batch in data:
        if isinstance(batch, (tuple, list)):
            x = batch[0]
            y = batch[1] if len(batch) > 1 else None
        else:
            x, y = batch, None
        yield (x.data if isinstance(x, Tensor) else x), (y.data if isinstance(y, Tensor) else y)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_patches: k must be a positive whole number. Received: k={k!r}")
    return int(k)


def top_patches(
    model: Module,
    loader,
    layer,
    k: int = 9,
    *,
    channels=None,
    limit: int | None = None,
    deconv: bool = False,
    mean=None,
    std=None,
    classes=None,
):
    """Per channel of ``layer``, the ``k`` images of ``loader`` that activate it most, and their patches.

    ``loader``: a DataLoader (or any iterable of (x, y) batches, or an (N, C, H, W) array) of
    model inputs, read once. ``layer``: a layer name, or a list of names (one pass for all of them;
    a dict name -> TopPatches comes back). ``channels``: the channels to keep (default all);
    ``limit``: read at most this many images; ``deconv``: also the deconvnet projection of each
    top activation. ``mean``/``std``: the normalisation of the inputs, kept for display.

    >>> import numpy as np
    >>> from convnp.nn import Conv2d, Sequential
    >>> x = np.random.default_rng(0).random((20, 1, 8, 8)).astype(np.float32)
    >>> tp = top_patches(Sequential(Conv2d(1, 3, 3)), x, "0", k=4)
    >>> tp.values.shape, tp.crops.shape
    ((3, 4), (3, 4, 1, 3, 3))
    """
    if not isinstance(model, Module):
        raise TypeError(f"top_patches: expected a convnp Module. Received: {type(model).__name__}")
    k = _check_k(k)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"top_patches: limit must be a positive whole number of images. Received: limit={limit!r}")
    layers = [layer] if isinstance(layer, str) else list(layer)
    if not layers:
        raise ValueError("top_patches: expected at least one layer. Received: layer=[]")
    state: dict[str, dict] = {}
    seen = 0
    for xb, yb in iterate_batches(loader):
        if limit is not None and seen >= limit:
            break
        xb = as_input(model, xb, "top_patches")
        if limit is not None:
            xb = xb[: limit - seen]
            yb = None if yb is None else yb[: limit - seen]
        b = xb.shape[0]
        labels = np.full(b, -1, dtype=np.int64) if yb is None else np.asarray(yb, dtype=np.int64).reshape(b)
        if not state:  # first batch: fields and buffers
            rfs = receptive_fields(model, xb[:1], layers)
        tr = trace(model, xb, stop_after=layers)
        for name in layers:
            act = spatial_output(tr[name], "top_patches").data  # (B, C, H, W)
            if name not in state:
                state[name] = _new_state(name, act, channels, k, rfs[name], xb.shape[1])
            st = state[name]
            _, c, h, w = act.shape
            a = act[:, st["channels"]].reshape(b, len(st["channels"]), h * w)  # (B, C', H*W)
            flat = np.argmax(np.where(np.isnan(a), -np.inf, a), axis=2)  # (B, C') first maximum
            vals = np.take_along_axis(a, flat[..., None], axis=2)[..., 0]  # (B, C')
            lab = np.broadcast_to(labels[:, None], vals.shape)
            new_c, _, rows, slots = st["heap"].push(vals, np.arange(seen, seen + b), flat=flat, label=lab)
            if rows.size:
                pos = flat[rows, new_c]
                ys, xs = pos // w, pos % w
                st["crops"][new_c, slots] = crop_fields(xb, st["field"], ys, xs, rows)
        seen += b
    if not state:
        raise ValueError("top_patches: the loader gave no images. Received: an empty loader")
    out = {name: _finish(state[name], seen, mean, std, classes) for name in layers}
    if deconv:
        for name in layers:
            _add_projections(model, name, out[name], xb.shape[1:])
    return out[layers[0]] if isinstance(layer, str) else out


def images_from_crops(crops: np.ndarray, rf: ReceptiveField, ys, xs, image_shape) -> np.ndarray:
    """Images (M, C, H, W) holding each crop where it was cut and zeros elsewhere: the inverse of
    :func:`crop_fields` on the field. (M, C, rh, rw) -> (M, C, H, W)."""
    m, c, rh, rw = crops.shape
    h, w = image_shape[-2:]
    canvas = np.zeros((m, c, h + 2 * rh, w + 2 * rw), dtype=np.float32)  # margins take what lies outside
    ny0, _, nx0, _ = rf.nominal_box(np.asarray(ys), np.asarray(xs))
    r = np.clip(np.asarray(ny0) + rh, 0, h + rh)[:, None] + np.arange(rh)[None, :]  # (M, rh)
    q = np.clip(np.asarray(nx0) + rw, 0, w + rw)[:, None] + np.arange(rw)[None, :]  # (M, rw)
    canvas[
        np.arange(m)[:, None, None, None], np.arange(c)[None, :, None, None], r[:, None, :, None], q[:, None, None, :]
    ] = np.nan_to_num(crops, nan=0.0)
    return canvas[:, :, rh : rh + h, rw : rw + w]


def _add_projections(model, name: str, tp: TopPatches, image_shape, chunk: int = 64) -> None:
    """The deconvnet projection of every top activation, cut to its field like the crops.

    An activation depends only on the pixels of its receptive field, and so do the ReLU masks and
    max-pooling switches of every unit it depends on: the projection computed from an image that
    holds only the crop (zeros elsewhere) is the projection from the full image. So the k images
    per channel need not be kept, and each projection is computed once, at the end.
    """
    from convnp.inspect.deconvnet import project

    c, k = tp.index.shape
    filled = (tp.index >= 0).ravel()
    chans = np.repeat(tp.channels, k)[filled]
    pos = tp.positions.reshape(c * k, 2)[filled]
    crops = tp.crops.reshape(c * k, *tp.crops.shape[2:])[filled]
    proj = np.zeros_like(tp.crops).reshape(c * k, *tp.crops.shape[2:])
    out = np.zeros((len(chans),) + tp.crops.shape[2:], dtype=np.float32)
    for s in range(0, len(chans), chunk):  # batches of projections
        sl = slice(s, s + chunk)
        images = images_from_crops(crops[sl], tp.field, pos[sl, 0], pos[sl, 1], image_shape)
        p = project(model, images, name, chans[sl], pos[sl])
        out[sl] = crop_fields(p, tp.field, pos[sl, 0], pos[sl, 1])
    proj[filled] = out
    tp.projections = proj.reshape(tp.crops.shape)


def _new_state(name, act, channels, k, rf, c_in) -> dict:
    c = act.shape[1]
    if channels is None:
        chans = np.arange(c)
    else:
        chans = np.atleast_1d(np.asarray(channels, dtype=np.int64))
        if chans.size == 0 or chans.min() < 0 or chans.max() >= c:
            raise ValueError(
                f"top_patches: channels must lie in [0, {c}) for layer {name!r} of {c} channels. "
                f"Received: channels={channels!r}"
            )
    rh, rw = rf.size
    crops = np.full((chans.size, k, c_in, rh, rw), np.nan, dtype=np.float32)
    return {"channels": chans, "heap": StreamingTopK(chans.size, k), "field": rf, "crops": crops, "shape": act.shape}


def _finish(st: dict, seen: int, mean, std, classes) -> TopPatches:
    heap: StreamingTopK = st["heap"]
    rf: ReceptiveField = st["field"]
    w = st["shape"][3]
    filled = heap.index != _NO_INDEX
    flat = heap.extra["flat"]
    ys, xs = np.where(filled, flat // w, 0), np.where(filled, flat % w, 0)
    y0, y1, x0, x1 = rf.box(ys, xs)
    boxes = np.stack([y0, y1, x0, x1], axis=-1)
    rows = np.arange(heap.slot.shape[0])[:, None]
    crops = st["crops"][rows, heap.slot]  # payload slots -> rank order
    return TopPatches(
        layer=rf.layer,
        channels=st["channels"],
        values=np.where(filled, heap.values, -np.inf),
        index=np.where(filled, heap.index, -1),
        labels=np.where(filled, heap.extra["label"], -1),
        positions=np.stack([ys, xs], axis=-1),
        boxes=np.where(filled[..., None], boxes, 0),
        crops=crops,
        projections=None,
        field=rf,
        images_seen=seen,
        mean=None if mean is None else tuple(np.atleast_1d(mean).tolist()),
        std=None if std is None else tuple(np.atleast_1d(std).tolist()),
        classes=classes,
    )
