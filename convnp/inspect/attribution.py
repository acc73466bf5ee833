"""Which pixels, which places, made the network say "7": saliency maps and Grad-CAM.

Saliency (Simonyan, Vedaldi & Zisserman 2013, "Deep inside convolutional networks"): the class
score S_c(x) (the logit, before the softmax) is, near the image x0, roughly linear,
S_c(x) ~ w^T x + b with w = dS_c/dx at x0. The magnitude of w says how much each pixel matters:

    M[i, j] = max_ch | w[ch, i, j] |                                (one backward pass)

Grad-CAM (Selvaraju et al. 2017): with A^k the k-th feature map of a convolutional layer (h x w)
and y^c the class score,

    alpha_k = 1/(h w) sum_{i, j} dy^c / dA^k[i, j]                  (global-average-pooled gradient)
    L^c     = ReLU( sum_k alpha_k A^k )                              (h x w; upsampled to the image)

Both run the model in evaluation mode; the parameters get no gradient (their ``.grad`` is left as
it was). ``target`` is one class per image (an int for all) or None for the predicted class.
"""

from __future__ import annotations

import numpy as np

from convnp.autograd.tensor import Tensor
from convnp.inspect.trace import ModelTrace, as_input, spatial_output, trace
from convnp.nn.module import Module

__all__ = ["input_gradient", "saliency", "grad_cam", "default_cam_layer", "upsample", "class_scores"]


def _logits(tr: ModelTrace, op: str) -> Tensor:
    out = tr.output
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        out = out[0]  # (logits, aux...) namedtuples
    if not isinstance(out, Tensor) or out.ndim != 2:
        shape = getattr(out, "shape", None)
        raise ValueError(
            f"{op}: expected the model to return class scores of shape (N, classes). "
            f"Received: {type(out).__name__} of shape {shape}"
        )
    return out


def _targets(op: str, target, scores: np.ndarray) -> np.ndarray:
    n, k = scores.shape
    if target is None:
        return np.argmax(scores, axis=1)
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim > 1:
        raise TypeError(f"{op}: target must be a class index or one per image. Received: target={target!r}")
    t = np.broadcast_to(t.astype(np.int64), (n,)) if t.ndim == 0 else t.astype(np.int64)
    if t.shape != (n,):
        raise ValueError(f"{op}: expected one target per image ({n}). Received: {t.shape[0]} targets")
    if t.min() < 0 or t.max() >= k:
        raise ValueError(f"{op}: target must lie in [0, {k}) for a model of {k} classes. Received: target={target!r}")
    return t


def _backward_score(tr: ModelTrace, op: str, target) -> tuple[np.ndarray, np.ndarray]:
    """Backward of sum_n S_{t_n}(x_n) (images are independent in evaluation mode)."""
    logits = _logits(tr, op)
    t = _targets(op, target, logits.data)
    seed = np.zeros_like(logits.data)
    seed[np.arange(seed.shape[0]), t] = 1.0  # dS_t / d(logits): one-hot
    logits.backward(seed)
    return t, logits.data


def class_scores(model: Module, x) -> np.ndarray:
    """The model's class scores (logits) for ``x``: (N, classes)."""
    tr = trace(model, as_input(model, x, "class_scores"))
    return _logits(tr, "class_scores").data


def input_gradient(model: Module, x, target=None) -> np.ndarray:
    """dS_target / dx: the gradient of each image's class score w.r.t. its pixels, (N, C, H, W)."""
    arr = as_input(model, x, "saliency")
    tr = trace(model, arr, grad=True)
    _backward_score(tr, "saliency", target)
    return tr.input.grad if tr.input.grad is not None else np.zeros_like(arr)


def saliency(model: Module, x, target=None) -> np.ndarray:
    """Simonyan et al.'s saliency map: max over channels of |dS_target/dx|, (N, H, W).

    >>> import numpy as np
    >>> from convnp.nn import Conv2d, Flatten, Linear, Sequential
    >>> net = Sequential(Conv2d(1, 2, 3), Flatten(), Linear(2 * 6 * 6, 4))
    >>> saliency(net, np.ones((2, 1, 8, 8), np.float32), target=3).shape
    (2, 8, 8)
    """
    return np.abs(input_gradient(model, x, target)).max(axis=1)


def default_cam_layer(tr: ModelTrace) -> str:
    """The last layer with feature maps larger than 1x1 (Grad-CAM's "last convolutional layer")."""
    best = None
    for c in tr.calls:
        if not c.path or not c.is_leaf:
            continue
        out = c.output
        if isinstance(out, Tensor) and out.ndim == 4 and out.shape[2] * out.shape[3] > 1:
            best = c
    if best is None:
        raise ValueError(
            "grad_cam: the model has no layer with feature maps larger than 1x1. "
            "Received: a model without spatial layers"
        )
    return best.key


def grad_cam(model: Module, x, target=None, layer: str | None = None, *, return_target: bool = False):
    """Grad-CAM of ``layer`` (default: the last layer with feature maps larger than 1x1): (N, h, w),
    L = ReLU(sum_k alpha_k A^k) with alpha_k the spatial mean of dS_target/dA^k. Use
    :func:`upsample` to bring it to the image's size.
    """
    arr = as_input(model, x, "grad_cam")
    tr = trace(model, arr, grad=True)
    if layer is None:
        layer = default_cam_layer(tr)
    act = spatial_output(tr[layer], "grad_cam")
    if not act.requires_grad:
        raise ValueError(f"grad_cam: layer {layer!r} does not depend on the input. Received: layer={layer!r}")
    act.retain_grad()
    t, _ = _backward_score(tr, "grad_cam", target)
    g = act.grad if act.grad is not None else np.zeros_like(act.data)  # (N, K, h, w)
    alpha = g.mean(axis=(2, 3), keepdims=True)  # (N, K, 1, 1)
    cam = np.maximum((alpha * act.data).sum(axis=1), 0)  # (N, h, w)
    return (cam, t) if return_target else cam


def upsample(maps: np.ndarray, size) -> np.ndarray:
    """Bilinear resize of (N, h, w) maps to (N, H, W) (pixel centres aligned, as
    ``align_corners=False``): sample at ((i + 0.5) h / H - 0.5), clamped to the edge."""
    maps = np.asarray(maps, dtype=np.float64)
    n, h, w = maps.shape
    H, W = int(size[0]), int(size[1])

    def coords(out, inp):
        c = np.clip((np.arange(out) + 0.5) * inp / out - 0.5, 0, inp - 1)
        i0 = np.floor(c).astype(np.int64)
        i1 = np.minimum(i0 + 1, inp - 1)
        return i0, i1, c - i0

    y0, y1, fy = coords(H, h)
    x0, x1, fx = coords(W, w)
    top = maps[:, y0][:, :, x0] * (1 - fx) + maps[:, y0][:, :, x1] * fx  # (N, H, W)
    bottom = maps[:, y1][:, :, x0] * (1 - fx) + maps[:, y1][:, :, x1] * fx
    return top * (1 - fy)[None, :, None] + bottom * fy[None, :, None]
