"""MNIST and Fashion-MNIST from their published IDX files.

IDX layout (LeCun's description, all integers big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     type code: 0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then        d int32 sizes, then prod(sizes) values in row-major order

so images are magic 0x00000803 (uint8, 3 dims: N x 28 x 28) and labels 0x00000801 (uint8, N).
Files may be gzip-compressed (recognised by their first bytes, not their name).

>>> ds = load_mnist("/path/to/data/mnist", split="test")        # doctest: +SKIP
>>> ds.images.shape, ds.labels.shape                            # doctest: +SKIP
((10000, 1, 28, 28), (10000,))
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from convnp.data.dataset import ArrayDataset

IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_FILES = tuple(f + ".gz" for pair in SPLIT_FILES.values() for f in pair)

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# Mean and std of value/255 over the 60,000 training images (MNIST: 0.1307, 0.3081, checked
# against the real files in the tests; Fashion-MNIST: the commonly published 0.2860, 0.3530).
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,), (0.3530,)

_GZIP_MAGIC = b"\x1f\x8b"

# The most data bytes an IDX file may declare (MNIST's largest file holds 47 MB). The header's sizes
# are checked against this and against the file's own length before the array is allocated; for a
# gzip file declaring more than COUNT_GZIP_ABOVE bytes, its decompressed length is counted first in a
# streamed pass that keeps nothing (below that, the array is filled as the stream inflates and a
# short stream is reported as truncated: untouched pages of the array cost no memory).
# Adjustable: convnp.data.mnist.MAX_IDX_BYTES = ...
MAX_IDX_BYTES = 1 << 30
COUNT_GZIP_ABOVE = 64 << 20


class _Reader:
    """Read a plain or gzip file, turning decompression failures into ValueErrors naming it."""

    def __init__(self, path: Path, op: str):
        self.path, self.op = path, op
        raw = open(path, "rb")
        head = raw.read(2)
        raw.seek(0)
        self.compressed = head == _GZIP_MAGIC
        self.fh = gzip.GzipFile(fileobj=raw, mode="rb") if self.compressed else raw
        self.raw = raw

    def _fail(self, exc):
        raise ValueError(
            f"{self.op}: {self.path} is not a valid gzip file, it is corrupt or truncated ({exc}). "
            "Delete it and download it again, or copy an intact file in its place. "
            f"Received: a {self.path.stat().st_size}-byte file"
        ) from exc

    def read(self, n: int) -> bytes:
        try:
            return self.fh.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            self._fail(exc)

    def remaining(self, limit: int) -> int:
        """How many bytes are left from here, counting at most ``limit + 1`` of them (streamed in
        1 MiB blocks, nothing kept); the position is restored."""
        if not self.compressed:
            return max(0, self.path.stat().st_size - self.raw.tell())
        start = self.fh.tell()
        count = 0
        try:
            while count <= limit:
                block = self.fh.read(min(1 << 20, limit + 1 - count))
                if not block:
                    break
                count += len(block)
            self.fh.seek(start)
        except (OSError, EOFError, zlib.error) as exc:
            self._fail(exc)
        return count

    def readinto(self, buf) -> int:
        if not memoryview(buf).nbytes:  # zero images: nothing to read
            return 0
        view = memoryview(buf).cast("B")
        got = 0
        try:
            while got < len(view):
                k = self.fh.readinto(view[got:])
                if not k:
                    break
                got += k
        except (OSError, EOFError, zlib.error) as exc:
            self._fail(exc)
        return got

    def close(self):
        self.fh.close()
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_idx(path, expected_magic: int | None = None, op: str = "read_idx") -> np.ndarray:
    """Parse an IDX file (plain or gzip) into an array of its declared shape and type.

    ``expected_magic`` (0x00000803 for images, 0x00000801 for labels) is checked first. The data
    must hold exactly prod(sizes) values: a short file or trailing bytes raise a ValueError.
    Big-endian types come back in native byte order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{op}: no such file {path}")
    with _Reader(path, op) as fh:
        header = fh.read(4)
        if len(header) < 4:
            raise ValueError(
                f"{op}: {path} is too short to be an IDX file ({len(header)} bytes, the header alone "
                f"has 4). Delete it and download it again. Received: {len(header)} bytes"
            )
        magic = int.from_bytes(header, "big")
        if expected_magic is not None and magic != expected_magic:
            kind = {IMAGES_MAGIC: "an IDX image file", LABELS_MAGIC: "an IDX label file"}.get(expected_magic, "IDX")
            hint = (
                " The images and labels files look swapped."
                if {magic, expected_magic} == {IMAGES_MAGIC, LABELS_MAGIC}
                else " Check that it is the right file, uncompressed or gzip-compressed, not an HTML error page."
            )
            raise ValueError(
                f"{op}: {path} is not {kind}: expected magic number 0x{expected_magic:08X}, found "
                f"0x{magic:08X}.{hint} Received: magic=0x{magic:08X}"
            )
        type_code, ndim = header[2], header[3]
        if header[:2] != b"\0\0" or type_code not in IDX_TYPES or ndim == 0:
            raise ValueError(
                f"{op}: {path} is not an IDX file: its first 4 bytes must be 00 00, a type code "
                f"({', '.join(f'0x{t:02X}' for t in IDX_TYPES)}) and a number of dimensions >= 1. "
                f"Received: magic=0x{magic:08X}"
            )
        dims_bytes = fh.read(4 * ndim)
        if len(dims_bytes) < 4 * ndim:
            raise ValueError(
                f"{op}: {path} is truncated inside its header ({ndim} sizes declared). Delete it and "
                f"download it again. Received: {4 + len(dims_bytes)} bytes in all"
            )
        dims = tuple(int(v) for v in np.frombuffer(dims_bytes, dtype=">u4"))
        dtype = IDX_TYPES[type_code]
        shape = " x ".join(str(d) for d in dims)
        expected = dtype.itemsize * int(np.prod(dims, dtype=object))  # Python ints: no overflow
        if expected > MAX_IDX_BYTES:
            raise ValueError(
                f"{op}: {path} declares {shape} values of type {dtype.name} ({expected:,} bytes), more "
                f"than the {MAX_IDX_BYTES:,} convnp reads from an IDX file "
                f"(convnp.data.mnist.MAX_IDX_BYTES); it is damaged or not a data set file. "
                f"Delete it and download it again"
            )
        have = fh.remaining(expected) if not fh.compressed or expected > COUNT_GZIP_ABOVE else expected
        if have < expected:
            raise ValueError(
                f"{op}: {path} is truncated: its header declares {shape} values of type {dtype.name} "
                f"({expected} bytes) but only {have} bytes follow the header. Delete it and download it "
                f"again. Received: {have} of {expected} data bytes"
            )
        out = np.empty(dims, dtype=dtype)
        got = fh.readinto(out)
        if got < expected:
            raise ValueError(
                f"{op}: {path} is truncated: its header declares {shape} values of type {dtype.name} "
                f"({expected} bytes) but only {got} bytes follow the header. Delete it and download it "
                f"again. Received: {got} of {expected} data bytes"
            )
        extra = fh.read(1)
        if extra:
            raise ValueError(
                f"{op}: {path} has bytes after the {expected} data bytes its header declares "
                f"({' x '.join(str(d) for d in dims)}); it is not a valid IDX file. "
                "Received: trailing data"
            )
    return out.astype(dtype.newbyteorder("="), copy=False) if dtype.byteorder == ">" else out


def read_idx_images(path) -> np.ndarray:
    """The images of an IDX file with magic 0x00000803: (N, H, W) uint8."""
    return read_idx(path, IMAGES_MAGIC, op="read_idx_images")


def read_idx_labels(path) -> np.ndarray:
    """The labels of an IDX file with magic 0x00000801: (N,) uint8."""
    return read_idx(path, LABELS_MAGIC, op="read_idx_labels")


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` (uint8/int8/int16/int32/float32/float64) as an IDX file, gzip-compressed when
    ``compress`` (default: when the name ends in .gz). The gzip stream carries no name and mtime 0,
    so the same array always gives the same bytes."""
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(f"write_idx: IDX has no type for dtype {array.dtype}. Received: dtype {array.dtype}")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
            gz.write(payload)
        payload = buf.getvalue()
    path.write_bytes(payload)


def find_idx_file(folder, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (the uncompressed one first)."""
    folder = Path(folder)
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def missing_idx_files(folder) -> list[str]:
    return [stem + ".gz" for pair in SPLIT_FILES.values() for stem in pair if find_idx_file(folder, stem) is None]


def load_idx_pair(images_path, labels_path, classes, mean, std, name: str, split: str) -> ArrayDataset:
    """An ArrayDataset from an images file and a labels file, checked against each other."""
    images = read_idx_images(images_path)  # (N, H, W) uint8
    labels = read_idx_labels(labels_path)  # (N,) uint8
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"load_mnist: {images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels; both files must come from the same split (train-* or t10k-*). "
            f"Received: {images.shape[0]} images, {labels.shape[0]} labels"
        )
    if labels.size and labels.max() >= len(classes):
        raise ValueError(
            f"load_mnist: {labels_path} has labels up to {labels.max()}, expected 0..{len(classes) - 1}. "
            f"Received: max label {labels.max()}"
        )
    return ArrayDataset(images[:, None], labels, classes, mean, std, name=name, split=split)  # (N, 1, H, W)


def load_mnist(folder, split: str = "train", variant: str = "mnist") -> ArrayDataset:
    """MNIST (``variant='mnist'``) or Fashion-MNIST (``'fashion-mnist'``) from the four IDX files
    in ``folder`` (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-..., each plain or .gz)."""
    if split not in SPLIT_FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test'. Received: split={split!r}")
    if variant == "mnist":
        classes, mean, std = MNIST_CLASSES, MNIST_MEAN, MNIST_STD
    elif variant == "fashion-mnist":
        classes, mean, std = FASHION_MNIST_CLASSES, FASHION_MNIST_MEAN, FASHION_MNIST_STD
    else:
        raise ValueError(f"load_mnist: variant must be 'mnist' or 'fashion-mnist'. Received: variant={variant!r}")
    folder = Path(folder)
    stems = SPLIT_FILES[split]
    paths = [find_idx_file(folder, s) for s in stems]
    if None in paths:
        missing = [s + "[.gz]" for s, p in zip(stems, paths) if p is None]
        raise FileNotFoundError(f"load_mnist: {', '.join(missing)} not found in {folder}")
    return load_idx_pair(paths[0], paths[1], classes, mean, std, name=variant, split=split)
