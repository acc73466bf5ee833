"""Datasets held whole in memory, and the DataLoader that cuts them into batches.

A dataset here is two arrays: ``images`` of shape (N, C, H, W), usually uint8 (the bytes of the
published files), and ``labels`` of shape (N,) int64. A batch is built in one fancy-indexing
step (``images[idx]`` with ``idx`` an int64 array of B indices), never by a Python loop over
samples; then the loader converts it to float32 and applies the transform to the whole batch::

    x = images[idx] / 255          # (B, C, H, W) uint8 -> float32 in [0, 1]
    x = transform(x)               # normalisation, augmentation: vectorised over the batch
    y = labels[idx]                # (B,) int64

>>> import numpy as np
>>> ds = ArrayDataset(np.zeros((10, 1, 28, 28), np.uint8), np.arange(10) % 2)
>>> loader = DataLoader(ds, batch_size=4, shuffle=True, generator=np.random.default_rng(0))
>>> len(loader), [x.shape for x, y in loader]
(3, [(4, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np

from convnp.arraymath.random import resolve
from convnp.data.transforms import Transform

# ----------------------------------------------------------------------------- statistics


def channel_stats(images: np.ndarray, chunk_elements: int = 1 << 23) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation of ``images`` as the loader sees them.

    For uint8 images the statistics are of value / 255 (what the model receives before
    normalisation), computed exactly from per-channel histograms:

        mean_c = sum_v h_c(v) v / (255 n_c),   std_c = sqrt(sum_v h_c(v) v^2 / (255^2 n_c) - mean_c^2)

    Float images are used as they are. (N, C, H, W) -> two tuples of C floats.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"channel_stats: expected images of shape (N, C, H, W). Received: shape {images.shape}")
    n, c = images.shape[:2]
    if n == 0:
        raise ValueError("channel_stats: cannot compute statistics of an empty dataset. Received: 0 images")
    if images.dtype != np.uint8:
        x = images.astype(np.float64, copy=False)
        mean = x.mean(axis=(0, 2, 3))
        std = x.std(axis=(0, 2, 3))
        return tuple(float(v) for v in mean), tuple(float(v) for v in std)
    offsets = (np.arange(c, dtype=np.int32) * 256)[None, :, None, None]
    per_sample = max(1, images[0].size)
    step = max(1, chunk_elements // per_sample)
    hist = np.zeros(256 * c, dtype=np.int64)
    for lo in range(0, n, step):  # chunks of samples, bounded memory
        chunk = images[lo : lo + step].astype(np.int32) + offsets  # (b, C, H, W): value + 256 * channel
        hist += np.bincount(chunk.ravel(), minlength=256 * c)
    hist = hist.reshape(c, 256)  # (C, 256) histogram per channel
    v = np.arange(256, dtype=np.int64)
    count = hist.sum(axis=1)
    s1 = hist @ v  # exact integer sums
    s2 = hist @ (v * v)
    means, stds = [], []
    for k in range(c):  # exact Python-int arithmetic, C <= 4
        cnt, a, b = int(count[k]), int(s1[k]), int(s2[k])
        means.append(a / (cnt * 255))
        stds.append(math.sqrt(max(b * cnt - a * a, 0)) / (cnt * 255))
    return tuple(means), tuple(stds)


def stratified_split(labels: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (keep, held_out), holding out round(fraction * n_k) of every class k.

    Deterministic for a seed: a seeded permutation, then a stable sort by label puts every class
    in random order; the first round(fraction * n_k) of each class are held out. No loop over
    classes. Both index arrays come back sorted.

    >>> keep, held = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]), 0.5)
    >>> len(keep), len(held)
    (5, 5)
    """
    labels = np.asarray(labels)
    if not (isinstance(fraction, (float, int)) and 0.0 < float(fraction) < 1.0):
        raise ValueError(
            f"stratified_split: fraction must be a number strictly between 0 and 1 "
            f"(the share held out). Received: fraction={fraction!r}"
        )
    n = labels.shape[0]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    grouped = perm[np.argsort(labels[perm], kind="stable")]  # classes contiguous, random inside
    counts = np.bincount(labels, minlength=int(labels.max()) + 1 if n else 0)
    starts = np.cumsum(counts) - counts
    rank = np.arange(n) - np.repeat(starts, counts)  # position within its class
    n_out = np.round(counts * float(fraction)).astype(np.int64)
    held = rank < np.repeat(n_out, counts)
    return np.sort(grouped[~held]), np.sort(grouped[held])


# ----------------------------------------------------------------------------- datasets


class Dataset:
    """The interface a DataLoader needs.

    ``dataset[idx]`` with ``idx`` an int64 array of B indices returns ``(images, labels)``:
    images (B, C, H, W) uint8 (scaled by 1/255 in the loader) or float, labels (B,) int64.
    Subclasses also expose ``classes`` (names, index order), ``mean`` and ``std`` (per channel,
    of value/255 over the training split, for Normalize), ``num_channels`` and ``image_size``.
    """

    classes: list[str]
    name: str = "dataset"

    def __len__(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def __getitem__(self, index):  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        return len(self.classes)


class ArrayDataset(Dataset):
    """Images and labels held as whole arrays.

    Args:
        images: (N, C, H, W) uint8 (the usual case) or float; (N, H, W) gets a channel axis.
        labels: (N,) integer class indices in [0, len(classes)).
        classes: class names in index order (default "0", "1", ...).
        mean, std: per-channel statistics for normalisation (default: computed from ``images``;
            pass the training split's values for a test split).
        name, split: descriptive.

    >>> ds = ArrayDataset(np.zeros((5, 3, 8, 8), np.uint8), [0, 1, 2, 1, 0])
    >>> ds.num_channels, ds.image_size, ds.classes
    (3, (8, 8), ['0', '1', '2'])
    """

    def __init__(
        self,
        images,
        labels,
        classes: Sequence[str] | None = None,
        mean=None,
        std=None,
        name: str = "arrays",
        split: str | None = None,
    ):
        images = np.asarray(images)
        if images.ndim == 3:
            images = images[:, None]  # (N, H, W) -> (N, 1, H, W)
        if images.ndim != 4:
            raise ValueError(
                f"ArrayDataset: expected images of shape (N, C, H, W) or (N, H, W). Received: shape {images.shape}"
            )
        if not (images.dtype == np.uint8 or np.issubdtype(images.dtype, np.floating)):
            raise TypeError(
                f"ArrayDataset: expected uint8 images (bytes 0..255) or float images. Received: dtype {images.dtype}"
            )
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"ArrayDataset: expected one label per image, labels of shape ({images.shape[0]},). "
                f"Received: labels of shape {labels.shape} for {images.shape[0]} images"
            )
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"ArrayDataset: labels must be integer class indices. Received: dtype {labels.dtype}")
        labels = labels.astype(np.int64, copy=False)
        if classes is None:
            classes = [str(k) for k in range(int(labels.max()) + 1 if labels.size else 0)]
        classes = [str(c) for c in classes]
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(
                f"ArrayDataset: labels must lie in [0, {len(classes)}) for {len(classes)} classes. "
                f"Received: labels from {labels.min()} to {labels.max()}"
            )
        self.images = images
        self.labels = labels
        self.classes = classes
        self.name = name
        self.split = split
        if mean is not None:
            self.__dict__["mean"] = self._per_channel(mean, "mean")
        if std is not None:
            self.__dict__["std"] = self._per_channel(std, "std")

    def _per_channel(self, values, what: str) -> tuple[float, ...]:
        values = tuple(float(v) for v in np.atleast_1d(np.asarray(values, dtype=np.float64)))
        if len(values) == 1:
            values = values * self.num_channels
        if len(values) != self.num_channels:
            raise ValueError(
                f"ArrayDataset: {what} needs one value per channel ({self.num_channels}). Received: {what}={values}"
            )
        return values

    @cached_property
    def _stats(self):
        return channel_stats(self.images)

    @cached_property
    def mean(self) -> tuple[float, ...]:
        """Per-channel mean of value/255 (computed from the images unless given)."""
        return self._stats[0]

    @cached_property
    def std(self) -> tuple[float, ...]:
        """Per-channel population standard deviation of value/255 (computed unless given)."""
        return self._stats[1]

    @property
    def num_channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[3])

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index):
        """``(images[index], labels[index])``; an index array gives a whole batch in one step."""
        return self.images[index], self.labels[index]

    def subset(self, indices) -> ArrayDataset:
        """A dataset of the given samples, keeping classes, mean and std."""
        indices = np.asarray(indices, dtype=np.int64)
        return ArrayDataset(
            self.images[indices],
            self.labels[indices],
            self.classes,
            self.mean,
            self.std,
            name=self.name,
            split=self.split,
        )

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=len(self.classes))

    def __repr__(self) -> str:
        split = f", split={self.split!r}" if self.split else ""
        return (
            f"{type(self).__name__}(name={self.name!r}{split}, n={len(self)}, "
            f"shape={tuple(self.images.shape[1:])}, dtype={self.images.dtype}, classes={len(self.classes)})"
        )


TensorDataset = ArrayDataset


# ----------------------------------------------------------------------------- loader


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(
            "DataLoader: batch_size must be a positive int, the number of samples per batch "
            f"(for example batch_size=128). Received: batch_size={batch_size!r}"
        )
    return int(batch_size)


class DataLoader:
    """Iterate over a dataset in batches of float32 NCHW images and int64 labels.

    Args:
        dataset: an ArrayDataset (or anything with ``len`` whose ``[index_array]`` returns a batch).
        batch_size: samples per batch; the last batch is smaller unless ``drop_last``.
        shuffle: draw a new permutation of the samples every epoch.
        drop_last: drop the last, incomplete batch.
        generator: the NumPy Generator behind shuffling and augmentation (default: convnp's default
            generator, see ``convnp.manual_seed``).
        transform: applied to every float batch, e.g. ``Compose([RandomCrop(32, 4), Normalize(m, s)])``.
        prefetch: prepare the next batch in a background thread while the current one is used
            (NumPy releases the GIL in indexing, conversion and most transforms).

    Each epoch draws, in the calling thread and from ``generator``, the permutation (if
    ``shuffle``) and then the seed of that epoch's augmentation stream (if there is a transform).
    Random transforms without their own generator draw from that stream, batch after batch, so
    an epoch is reproducible and identical with and without ``prefetch``.

    Per batch: ``x = images[idx] / 255`` (B, C, H, W) float32, ``x = transform(x)``, ``y = labels[idx]``.

    >>> ds = ArrayDataset(np.arange(6, dtype=np.uint8).reshape(6, 1, 1, 1), [0, 1, 0, 1, 0, 1])
    >>> [y.tolist() for x, y in DataLoader(ds, batch_size=4)]
    [[0, 1, 0, 1], [0, 1]]
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: np.random.Generator | None = None,
        transform: Callable | None = None,
        prefetch: bool = False,
    ):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                "DataLoader: dataset must have __len__ and __getitem__ (an ArrayDataset, or "
                f"get_dataset(...)). Received: {type(dataset).__name__}"
            )
        self.batch_size = _check_batch_size(batch_size)
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                "DataLoader: generator must be a numpy.random.Generator (np.random.default_rng(seed)) "
                f"or None. Received: {type(generator).__name__}"
            )
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable or None. Received: {type(transform).__name__}")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.transform = transform
        self.prefetch = bool(prefetch)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _epoch_plan(self):
        """Indices of every batch and the epoch's augmentation generator, drawn in the caller's thread."""
        n = len(self.dataset)
        rng = resolve(self.generator)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        aug = np.random.default_rng(int(rng.integers(2**63))) if self.transform is not None else None
        starts = range(0, len(self) * self.batch_size, self.batch_size)
        return [order[s : s + self.batch_size] for s in starts], aug

    def _make_batch(self, idx: np.ndarray, aug: np.random.Generator | None):
        images, labels = self.dataset[idx]  # (B, C, H, W), (B,): one fancy index
        images = np.asarray(images)
        if images.dtype == np.uint8:
            x = np.divide(images, np.float32(255), dtype=np.float32)  # uint8 -> float32 in [0, 1]
        else:
            x = np.array(images, dtype=np.float32)
        if self.transform is not None:
            x = self.transform(x, generator=aug) if isinstance(self.transform, Transform) else self.transform(x)
        return x, np.asarray(labels, dtype=np.int64)

    def __iter__(self):
        batches, aug = self._epoch_plan()
        if not self.prefetch or len(batches) < 2:
            for idx in batches:
                yield self._make_batch(idx, aug)
            return
        # One worker thread builds batch k+1 while the caller works on batch k. The worker is the
        # only user of `aug`, and batches are made in order, so draws match the serial path.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="convnp-prefetch")
        try:
            pending = pool.submit(self._make_batch, batches[0], aug)
            for k in range(len(batches)):
                batch = pending.result()
                if k + 1 < len(batches):
                    pending = pool.submit(self._make_batch, batches[k + 1], aug)
                yield batch
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, prefetch={self.prefetch})"
        )
