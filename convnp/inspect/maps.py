"""Filters and feature maps: what a layer looks for, and what it finds in an image.

"Filters are feature extractors": a conv layer's weight (K, C, kh, kw) is K filters, each a small
image of C channels. The first layer of a network trained on photographs learns oriented edges and
colour blobs (the lectures' VGG16 and ZFNet layer-1 figures). Its feature maps, the layer's output
(N, K, H', W'), show where in an image each filter found its pattern.
"""

from __future__ import annotations

import numpy as np

from convnp.autograd.tensor import Tensor
from convnp.inspect.figures import feature_maps_figure, filter_images, filters_figure
from convnp.inspect.trace import as_input, conv_like, output_tensor, trace
from convnp.nn.module import Module

__all__ = ["FilterImages", "filters", "FeatureMaps", "feature_maps", "conv_layers", "filter_weight"]


class FilterImages(np.ndarray):
    """The filters of one layer as images, normalised per filter to [0, 1]: (K, kh, kw, 3) for a
    3-channel layer, else (K, C, kh, kw). ``.weight`` holds the raw weights, ``.layer`` the name;
    ``.plot()`` draws the grid."""

    def __new__(cls, images: np.ndarray, weight: np.ndarray, layer: str):
        obj = np.asarray(images).view(cls)
        obj.weight = weight
        obj.layer = layer
        return obj

    def __array_finalize__(self, obj):
        self.weight = getattr(obj, "weight", None)
        self.layer = getattr(obj, "layer", None)

    def plot(self, max_filters: int = 128):
        """The grid as a matplotlib Figure, titled with the layer's name and weight shape."""
        return filters_figure(self.weight, self.layer, max_filters=max_filters)


def filter_weight(module: Module) -> np.ndarray:
    """A conv layer's filters (out, in/groups, kh, kw) as an array (LeNet-5's C3: the dense kernel,
    zeros where its connection table has no link)."""
    w = module.dense_weight() if callable(getattr(module, "dense_weight", None)) else module.weight
    return np.array(w.data if isinstance(w, Tensor) else w)


def conv_layers(model: Module) -> list[str]:
    """The dotted names of the layers with a bank of 2-D filters, in definition order."""
    return [name for name, m in model.named_modules() if name and conv_like(m)]


def filters(model: Module, layer: str) -> FilterImages:
    """The filters of conv layer ``layer`` as images (see :class:`FilterImages`).

    >>> from convnp.nn import Conv2d, Sequential
    >>> f = filters(Sequential(Conv2d(3, 8, 5)), "0")
    >>> f.shape, f.weight.shape, float(f.min()), float(f.max())
    ((8, 5, 5, 3), (8, 3, 5, 5), 0.0, 1.0)
    """
    if not isinstance(model, Module):
        raise TypeError(f"filters: expected a convnp Module. Received: {type(model).__name__}")
    modules = dict(model.named_modules())
    if layer not in modules:
        names = conv_layers(model)
        raise ValueError(
            f"filters: no layer named {layer!r} (conv layers: {', '.join(names) or 'none'}). Received: layer={layer!r}"
        )
    module = modules[layer]
    if not conv_like(module):
        raise ValueError(
            f"filters: layer {layer!r} is a {type(module).__name__}, not a convolution; conv layers: "
            f"{', '.join(conv_layers(model)) or 'none'}. Received: layer={layer!r}"
        )
    w = filter_weight(module)
    return FilterImages(filter_images(w), w, layer)


class FeatureMaps(dict):
    """name -> (N, C, H, W) array of that layer's output; ``.plot(name, n=0)`` draws image n's maps."""

    def __init__(self, maps: dict, images: np.ndarray):
        super().__init__(maps)
        self.images = images

    def plot(self, layer: str, n: int = 0, mean=None, std=None, max_channels: int = 64):
        return feature_maps_figure(self[layer][n], layer, self.images[n], mean, std, max_channels)


def feature_maps(model: Module, x, layers) -> FeatureMaps:
    """The outputs of ``layers`` (a name or a list of names) for images ``x`` (N, C, H, W), in one
    forward pass that stops after the last of them.

    >>> import numpy as np
    >>> from convnp.nn import Conv2d, ReLU, Sequential
    >>> fm = feature_maps(Sequential(Conv2d(1, 4, 3), ReLU()), np.zeros((2, 1, 8, 8), np.float32), ["0", "1"])
    >>> fm["1"].shape
    (2, 4, 6, 6)
    """
    arr = as_input(model, x, "feature_maps")
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError("feature_maps: expected at least one layer. Received: layers=[]")
    tr = trace(model, arr, stop_after=names)
    return FeatureMaps({n: output_tensor(tr[n], "feature_maps").data for n in names}, arr)
