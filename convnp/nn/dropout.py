"""Dropout layers: Dropout and Dropout2d (Srivastava et al. 2014), active only in training mode.

In training (``model.train()``) each unit (Dropout) or each whole feature map (Dropout2d) is
zeroed with probability p and the survivors are scaled by 1 / (1 - p) (inverted dropout), so
that E[y] = x; in evaluation (``model.eval()``) the layer is the identity. Masks are drawn from
convnp's default generator, so ``cn.manual_seed`` makes them reproducible.

>>> import convnp as cn
>>> d = Dropout(0.5).eval()
>>> x = cn.randn(4, 8)
>>> d(x) is x
True
"""

from __future__ import annotations

import numbers

from convnp.nn import functional as F
from convnp.nn.layer_utils import _check_bool, _layer_call, _same_shape
from convnp.nn.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"{name}: p must be a number between 0 and 1. Received: p={p!r}")
        if not 0 <= p <= 1:  # also rejects NaN
            raise ValueError(f"{name}: dropout probability p must be between 0 and 1. Received: p={p}")
        self.p = p
        self.inplace = _check_bool(name, "inplace", inplace)

    output_shape = _same_shape  # any shape -> the same shape

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero every element independently with probability p in training, scale the rest by 1/(1-p).

        y_i = x_i * m_i / (1 - p),   m_i ~ Bernoulli(1 - p)      (training);    y = x   (eval)

    Args: p=0.5, inplace=False (accepted; computed out of place). Shape: any -> same.
    """

    def forward(self, input):
        return _layer_call(self, F.dropout, input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels x[n, c] with probability p in training, scale the rest by 1/(1-p).

        y[n, c] = x[n, c] * m[n, c] / (1 - p),   m[n, c] ~ Bernoulli(1 - p)

    Neighbouring pixels of a feature map are strongly correlated, so dropping whole maps
    regularises convolutional layers where per-pixel dropout barely does (Tompson et al. 2015).
    Shape: (N, C, H, W) or (C, H, W) -> same. (For 3-D input PyTorch 2.x still reads (N, C, L)
    and warns; convnp reads (C, H, W), the behaviour PyTorch announces.)
    """

    def _check(self, input) -> None:
        self.check_input(input, ndim=(3, 4), layout="(C, H, W) or (N, C, H, W)")

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.dropout2d, input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole 1-D channels x[n, c, :] with probability p in training, scale the rest by 1/(1-p).

    Shape: (N, C, L) or (C, L) -> same.
    """

    def _check(self, input) -> None:
        self.check_input(input, ndim=(2, 3), layout="(C, L) or (N, C, L)")

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.dropout1d, input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole 3-D channels x[n, c] with probability p in training, scale the rest by 1/(1-p).

    Shape: (N, C, D, H, W) or (C, D, H, W) -> same.
    """

    def _check(self, input) -> None:
        self.check_input(input, ndim=(4, 5), layout="(C, D, H, W) or (N, C, D, H, W)")

    def forward(self, input):
        self._check(input)
        return _layer_call(self, F.dropout3d, input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks (Klambauer et al. 2017): keeps zero mean and unit variance.

        y = a (x m - alpha' (1 - m)) + b,   a = ((1 - p)(1 + p alpha'^2))^(-1/2),  b = a alpha' p   (training)

    Args: p=0.5, inplace=False. Shape: any -> same. The identity in evaluation mode.
    """

    def forward(self, input):
        return _layer_call(self, F.alpha_dropout, input, self.p, self.training, self.inplace)
