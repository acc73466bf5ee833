"""Normalisation and augmentation of whole batches, vectorised with NumPy.

Every transform takes a float batch x of shape (N, C, H, W) and returns a new batch of the same
dtype (float32 stays float32); none loops over images in Python. Random transforms draw all the
parameters of a batch at once (one flip decision, crop offset, erased box per image) from a
NumPy Generator, then apply them with fancy indexing:

    t = RandomCrop(32, padding=4)
    params = t.sample(x, generator)     # per-image offsets (i, j), drawn for the whole batch
    y = t.apply(x, params)              # y[n] = pad(x[n])[:, i[n]:i[n]+32, j[n]:j[n]+32]

``t(x)`` does both. The generator is, in order of precedence: the one given to the transform's
constructor, the one passed to the call (the DataLoader passes its epoch stream), the default
generator of ``convnp.manual_seed``. The same seed gives the same batch.

>>> import numpy as np
>>> x = np.random.default_rng(0).random((8, 3, 32, 32), dtype=np.float32)
>>> t = preset("standard", mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
>>> y = t(x, generator=np.random.default_rng(1))
>>> y.shape, y.dtype
((8, 3, 32, 32), dtype('float32'))
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from convnp.arraymath.im2col import pad_spatial, sliding_windows
from convnp.arraymath.random import resolve

__all__ = [
    "Transform",
    "Normalize",
    "RandomHorizontalFlip",
    "RandomCrop",
    "RandomShift",
    "RandomErasing",
    "Compose",
    "RandomApply",
    "RandomChoice",
    "Identity",
    "preset",
    "PRESETS",
]


def _check_batch(x, op: str) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.ndim != 4 or not np.issubdtype(x.dtype, np.floating):
        got = f"array of shape {x.shape} and dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(
            f"{op}: expected a float batch of shape (N, C, H, W), as the DataLoader produces "
            f"after dividing by 255. Received: {got}"
        )
    return x


def _check_probability(p, op: str, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{op}: {name} must be a probability in [0, 1]. Received: {name}={p!r}")
    return float(p)


def _check_generator(generator, op: str):
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"{op}: generator must be a numpy.random.Generator or None. Received: {type(generator).__name__}"
        )
    return generator


def _pair(value, op: str, name: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        return int(value[0]), int(value[1])
    raise TypeError(f"{op}: {name} must be an int or a pair (height, width) of ints. Received: {name}={value!r}")


class Transform:
    """Base class: ``__call__(x, generator=None)`` checks the batch and calls ``forward(x, rng)``."""

    generator: np.random.Generator | None = None

    def __call__(self, x: np.ndarray, generator: np.random.Generator | None = None) -> np.ndarray:
        x = _check_batch(x, type(self).__name__)
        rng = self.generator if self.generator is not None else resolve(generator)
        return self.forward(x, rng)

    def forward(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RandomTransform(Transform):
    """A transform whose randomness is drawn by ``sample`` and applied by ``apply``."""

    def sample(self, x: np.ndarray, generator: np.random.Generator | None = None):  # pragma: no cover
        raise NotImplementedError

    def apply(self, x: np.ndarray, params) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def forward(self, x, rng):
        return self.apply(x, self.sample(x, rng))


class Identity(Transform):
    """Returns the batch unchanged (the 'none' preset)."""

    def forward(self, x, rng):
        return x


class Normalize(Transform):
    """Per-channel standardisation: y[:, c] = (x[:, c] - mean[c]) / std[c].

    ``mean`` and ``std`` are sequences of C numbers (or one number for every channel), usually a
    dataset's ``mean`` and ``std`` of value/255 over its training split.

    >>> Normalize((0.1307,), (0.3081,))(np.zeros((2, 1, 28, 28), np.float32)).dtype
    dtype('float32')
    """

    def __init__(self, mean, std):
        mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if mean.ndim != 1 or std.ndim != 1 or (len(mean) != len(std) and 1 not in (len(mean), len(std))):
            raise ValueError(
                "Normalize: mean and std must be numbers or sequences of one number per channel, "
                f"of the same length. Received: mean={mean.tolist()}, std={std.tolist()}"
            )
        if not np.all(np.isfinite(mean)) or not np.all(std > 0):
            raise ValueError(
                "Normalize: std must be positive and mean finite (a zero std divides by zero). "
                f"Received: mean={mean.tolist()}, std={std.tolist()}"
            )
        self.mean, self.std = mean, std

    def forward(self, x, rng):
        c = x.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if len(v) not in (1, c):
                raise ValueError(
                    f"Normalize: {name} has {len(v)} values but the batch has {c} channels. "
                    f"Received: batch of shape {x.shape}, {name}={v.tolist()}"
                )
        mean = self.mean.astype(x.dtype).reshape(1, -1, 1, 1)  # (C,) -> (1, C, 1, 1)
        std = self.std.astype(x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) / std

    def __repr__(self):
        return f"Normalize(mean={tuple(self.mean.tolist())}, std={tuple(self.std.tolist())})"


class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right with probability p: y[n] = x[n, :, :, ::-1] where flip[n].

    ``sample`` returns the (N,) boolean mask of flipped images.
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None):
        self.p = _check_probability(p, "RandomHorizontalFlip")
        self.generator = _check_generator(generator, "RandomHorizontalFlip")

    def sample(self, x, generator=None):
        return resolve(generator).random(x.shape[0]) < self.p  # (N,) bool

    def apply(self, x, flip):
        return np.where(np.asarray(flip)[:, None, None, None], x[..., ::-1], x)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


def _crop_batch(padded: np.ndarray, top: np.ndarray, left: np.ndarray, h: int, w: int) -> np.ndarray:
    """y[n] = padded[n, :, top[n]:top[n]+h, left[n]:left[n]+w] for every n, in one gather.

    (N, C, Hp, Wp) -> windows (N, C, Hp-h+1, Wp-w+1, h, w) (a strided view, no copy)
    -> fancy index [n, :, top[n], left[n]] -> (N, C, h, w).
    """
    windows = sliding_windows(padded, (h, w), (1, 1), (1, 1))
    return np.ascontiguousarray(windows[np.arange(padded.shape[0]), :, top, left])


class RandomCrop(RandomTransform):
    """Zero-pad by ``padding`` on every side, then crop ``size`` at a random offset per image.

    y[n, :, a, b] = pad(x)[n, :, i[n] + a, j[n] + b],  i[n] ~ U{0..Hp-h}, j[n] ~ U{0..Wp-w}

    With ``size=None`` the crop has the input's size (padding 4 on 32x32: offsets 0..8, i.e.
    shifts of up to 4 pixels, the usual CIFAR recipe). ``sample`` returns (i, j), each (N,) int.

    >>> RandomCrop(24)(np.zeros((5, 1, 28, 28), np.float32)).shape
    (5, 1, 24, 24)
    """

    def __init__(self, size=None, padding: int = 0, fill: float = 0.0, generator=None):
        self.size = None if size is None else _pair(size, "RandomCrop", "size")
        if self.size is not None and min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be at least 1. Received: size={size!r}")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(
                f"RandomCrop: padding must be a non-negative int (pixels added on every side). "
                f"Received: padding={padding!r}"
            )
        self.padding = int(padding)
        self.fill = float(fill)
        self.generator = _check_generator(generator, "RandomCrop")

    def _geometry(self, x):
        h_in, w_in = x.shape[2:]
        h, w = self.size if self.size is not None else (h_in, w_in)
        hp, wp = h_in + 2 * self.padding, w_in + 2 * self.padding
        if h > hp or w > wp:
            raise ValueError(
                f"RandomCrop: the crop size {h}x{w} is larger than the padded input {hp}x{wp} "
                f"({h_in}x{w_in} plus padding {self.padding} on every side); use a smaller size "
                f"or more padding. Received: batch of shape {x.shape}, size={(h, w)}"
            )
        return h, w, hp, wp

    def sample(self, x, generator=None):
        h, w, hp, wp = self._geometry(x)
        rng = resolve(generator)
        n = x.shape[0]
        return rng.integers(0, hp - h + 1, size=n), rng.integers(0, wp - w + 1, size=n)

    def apply(self, x, params):
        h, w, _, _ = self._geometry(x)
        top, left = params
        p = self.padding
        padded = pad_spatial(x, [(p, p), (p, p)], value=self.fill)  # (N, C, H+2p, W+2p)
        return _crop_batch(padded, np.asarray(top), np.asarray(left), h, w)  # (N, C, h, w)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomShift(RandomTransform):
    """Translate each image by (dy, dx), both uniform in {-m..m}, filling with zeros (ConvNetJS's
    random shifts of up to 2 pixels).

    y[n, :, a, b] = x[n, :, a - dy[n], b - dx[n]]  (0 where that falls outside the image)

    Implemented as a crop at offset (m - dy, m - dx) of the batch zero-padded by m.
    ``sample`` returns (dy, dx), each (N,) int.
    """

    def __init__(self, max_pixels: int = 2, generator=None):
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 0:
            raise ValueError(f"RandomShift: max_pixels must be a non-negative int. Received: max_pixels={max_pixels!r}")
        self.max_pixels = int(max_pixels)
        self.generator = _check_generator(generator, "RandomShift")

    def sample(self, x, generator=None):
        rng = resolve(generator)
        m, n = self.max_pixels, x.shape[0]
        return rng.integers(-m, m + 1, size=n), rng.integers(-m, m + 1, size=n)

    def apply(self, x, params):
        dy, dx = (np.asarray(v) for v in params)
        m = self.max_pixels
        padded = pad_spatial(x, [(m, m), (m, m)], value=0.0)  # (N, C, H+2m, W+2m)
        return _crop_batch(padded, m - dy, m - dx, x.shape[2], x.shape[3])  # (N, C, H, W)

    def __repr__(self):
        return f"RandomShift(max_pixels={self.max_pixels})"


class RandomErasing(RandomTransform):
    """Cutout / random erasing (Zhong et al. 2017, torchvision's rule), vectorised over the batch.

    With probability p per image, a box of area s * H * W (s ~ U(scale)) and aspect ratio r
    (log r ~ U(log ratio)) gets ``value``: h = round(sqrt(s H W r)), w = round(sqrt(s H W / r)),
    top ~ U{0..H-h}, left ~ U{0..W-w}. Up to 10 (s, r) draws per image; the first with h < H and
    w < W is used (none: the image is left alone). ``value`` is a number, one number per channel,
    or 'random' (standard normal noise).

    ``sample`` returns (erase (N,) bool, top, left, h, w (N,) int, noise or None).
    """

    attempts = 10

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, generator=None):
        self.p = _check_probability(p, "RandomErasing")
        scale, ratio = tuple(float(v) for v in scale), tuple(float(v) for v in ratio)
        if len(scale) != 2 or not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(
                f"RandomErasing: scale must be (min, max) with 0 < min <= max <= 1 (fractions of the "
                f"image area). Received: scale={scale}"
            )
        if len(ratio) != 2 or not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"RandomErasing: ratio must be (min, max) with 0 < min <= max. Received: ratio={ratio}")
        if isinstance(value, str) and value != "random":
            raise ValueError(
                f"RandomErasing: value must be a number, one number per channel, or 'random'. Received: value={value!r}"
            )
        self.scale, self.ratio, self.value = scale, ratio, value
        self.generator = _check_generator(generator, "RandomErasing")

    def sample(self, x, generator=None):
        rng = resolve(generator)
        n, _, H, W = x.shape
        area = H * W * rng.uniform(self.scale[0], self.scale[1], size=(n, self.attempts))  # (N, 10)
        aspect = np.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), size=(n, self.attempts)))
        hs = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        ws = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        ok = (hs < H) & (ws < W) & (hs > 0) & (ws > 0)
        first = np.argmax(ok, axis=1)  # first valid attempt per image
        rows = np.arange(n)
        h, w = hs[rows, first], ws[rows, first]
        has_box = ok[rows, first]
        h, w = np.where(has_box, h, 0), np.where(has_box, w, 0)
        top = rng.integers(0, H - h + 1)  # per-image upper bounds
        left = rng.integers(0, W - w + 1)
        erase = (rng.random(n) < self.p) & has_box
        noise = rng.standard_normal(x.shape, dtype=np.float64).astype(x.dtype) if self.value == "random" else None
        return erase, top, left, h, w, noise

    def apply(self, x, params):
        erase, top, left, h, w, noise = params
        H, W = x.shape[2:]
        r = np.arange(H)[None, :, None]  # (1, H, 1)
        c = np.arange(W)[None, None, :]  # (1, 1, W)
        box = (
            (r >= top[:, None, None])
            & (r < (top + h)[:, None, None])
            & (c >= left[:, None, None])
            & (c < (left + w)[:, None, None])
            & np.asarray(erase)[:, None, None]
        )  # (N, H, W)
        if noise is not None:
            fill = noise
        else:
            fill = np.asarray(self.value, dtype=x.dtype)
            if fill.ndim == 1:
                if len(fill) not in (1, x.shape[1]):
                    raise ValueError(
                        f"RandomErasing: value has {len(fill)} entries but the batch has "
                        f"{x.shape[1]} channels. Received: value={self.value!r}"
                    )
                fill = fill.reshape(1, -1, 1, 1)  # (C,) -> (1, C, 1, 1)
        return np.where(box[:, None], fill, x).astype(x.dtype, copy=False)

    def __repr__(self):
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value!r})"


def _as_transform(t, op: str) -> Transform:
    if isinstance(t, Transform):
        return t
    if isinstance(t, (list, tuple)):
        return Compose(t)
    raise TypeError(f"{op}: expected convnp.data.transforms Transform objects. Received: {type(t).__name__}")


class Compose(Transform):
    """Apply transforms in order: Compose([a, b])(x) = b(a(x)), with one generator for all
    (the children's own generators, when they have one, take precedence)."""

    def __init__(self, transforms: Sequence[Transform], generator=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        self.transforms = [_as_transform(t, "Compose") for t in transforms]
        self.generator = _check_generator(generator, "Compose")

    def forward(self, x, rng):
        for t in self.transforms:
            x = t(x, generator=rng)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


def _put(out: np.ndarray, mask: np.ndarray, values: np.ndarray, op: str) -> None:
    if values.shape[1:] != out.shape[1:]:
        raise ValueError(
            f"{op}: the wrapped transforms must keep the image shape {out.shape[1:]} (images that "
            f"are not transformed keep it). Received: output of shape {values.shape[1:]}"
        )
    out[mask] = values


class RandomApply(Transform):
    """Apply ``transforms`` (in order) to each image with probability p, to the others nothing.

    The chosen images are gathered, transformed as one sub-batch, and scattered back.
    """

    def __init__(self, transforms, p: float = 0.5, generator=None):
        self.inner = _as_transform(transforms, "RandomApply")
        self.p = _check_probability(p, "RandomApply")
        self.generator = _check_generator(generator, "RandomApply")

    def forward(self, x, rng):
        chosen = rng.random(x.shape[0]) < self.p  # (N,) bool
        out = x.copy()
        if chosen.any():
            _put(out, chosen, self.inner(x[chosen], generator=rng), "RandomApply")
        return out

    def __repr__(self):
        return f"RandomApply({self.inner!r}, p={self.p})"


class RandomChoice(Transform):
    """Apply one of ``transforms`` to each image, chosen independently (probabilities ``p``,
    uniform by default). Each transform runs once, on the sub-batch that drew it."""

    def __init__(self, transforms: Sequence[Transform], p: Sequence[float] | None = None, generator=None):
        self.transforms = [_as_transform(t, "RandomChoice") for t in transforms]
        if not self.transforms:
            raise ValueError("RandomChoice: needs at least one transform. Received: []")
        if p is not None:
            p = np.asarray(p, dtype=np.float64)
            if p.shape != (len(self.transforms),) or np.any(p < 0) or not np.isclose(p.sum(), 1.0):
                raise ValueError(
                    f"RandomChoice: p must hold one probability per transform, summing to 1. "
                    f"Received: p={p.tolist()} for {len(self.transforms)} transforms"
                )
        self.p = p
        self.generator = _check_generator(generator, "RandomChoice")

    def forward(self, x, rng):
        choice = rng.choice(len(self.transforms), size=x.shape[0], p=self.p)  # (N,) int
        out = np.empty_like(x)
        for k, t in enumerate(self.transforms):  # loop over transforms
            sel = choice == k
            if sel.any():
                _put(out, sel, t(x[sel], generator=rng), "RandomChoice")
        return out

    def __repr__(self):
        return "RandomChoice([" + ", ".join(repr(t) for t in self.transforms) + "])"


PRESETS = ("none", "shift", "flip", "standard")


def preset(name: str, size=None, mean=None, std=None, generator=None) -> Transform:
    """A named augmentation, optionally followed by Normalize(mean, std).

    - 'none': nothing; 'shift': RandomShift(2) (ConvNetJS); 'flip': RandomHorizontalFlip(0.5);
    - 'standard': RandomCrop(size, padding=4) + RandomHorizontalFlip (the usual CIFAR recipe;
      ``size=None`` crops back to the input size).
    """
    if name not in PRESETS:
        raise ValueError(
            f"preset: unknown augmentation {name!r}; choose one of {', '.join(PRESETS)}. Received: name={name!r}"
        )
    steps: list[Transform] = {
        "none": lambda: [],
        "shift": lambda: [RandomShift(2, generator=generator)],
        "flip": lambda: [RandomHorizontalFlip(0.5, generator=generator)],
        "standard": lambda: [
            RandomCrop(size, padding=4, generator=generator),
            RandomHorizontalFlip(0.5, generator=generator),
        ],
    }[name]()
    if (mean is None) != (std is None):
        raise ValueError(
            f"preset: give both mean and std (for Normalize) or neither. Received: mean={mean!r}, std={std!r}"
        )
    if mean is not None:
        steps.append(Normalize(mean, std))
    if not steps:
        return Identity()
    return steps[0] if len(steps) == 1 else Compose(steps)
