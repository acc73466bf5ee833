"""CIFAR-10 from the official "python version" batches, read without executing pickled code.

``cifar-10-batches-py/`` holds data_batch_1 .. data_batch_5 (10,000 images each), test_batch and
batches.meta. Each batch is a Python 2 pickle of a dict::

    b'data'    uint8 array (10000, 3072): per image 1024 red, 1024 green, 1024 blue values,
               each plane row-major 32 x 32, so reshape(N, 3, 32, 32) is already NCHW
    b'labels'  list of 10000 ints in 0..9
    b'batch_label', b'filenames'   descriptive

and batches.meta a dict with b'label_names' (10 byte strings). The files are pickles, and
unpickling can call any importable function (``os.system`` included), so they are read with
:class:`RestrictedUnpickler`, whose ``find_class`` admits only the globals these files use:
NumPy's array reconstruction (``numpy.core.multiarray._reconstruct``, also under its NumPy 2
name ``numpy._core.multiarray``), ``numpy.ndarray`` and ``numpy.dtype``. Everything else is
plain containers, ints and bytes, which need no global. Anything else raises
``pickle.UnpicklingError`` naming the forbidden global, before it is called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from convnp.data.dataset import ArrayDataset

CIFAR10_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))
TEST_BATCHES = ("test_batch",)
META_FILE = "batches.meta"
CIFAR10_FILES = TRAIN_BATCHES + TEST_BATCHES + (META_FILE,)
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
# Per-channel mean and std of value/255 over the 50,000 training images (the usual published values).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)

_reconstruct = np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct

ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


# The largest CIFAR file read (an official batch is 31 MB); a larger one is refused before it is read.
# Adjustable: convnp.data.cifar.MAX_BATCH_BYTES = ...
MAX_BATCH_BYTES = 256 << 20


class ForbiddenGlobalError(pickle.UnpicklingError, ValueError):
    """A pickle asked for a global outside :data:`ALLOWED_GLOBALS`; nothing was imported or called.
    (A ValueError too: a bad input file, like the other errors of the readers.)"""


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler that resolves only :data:`ALLOWED_GLOBALS`; any other global is refused.

    ``RestrictedUnpickler(io.BytesIO(b"cos\\nsystem\\n.")).load()`` raises UnpicklingError
    ("... forbidden global 'os.system' ...") without importing or calling anything.
    """

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in ALLOWED_GLOBALS)
            raise ForbiddenGlobalError(
                f"cifar: refusing to load the pickle: it references the forbidden global '{module}.{name}'. "
                f"The official CIFAR batches need only {allowed}; this file is not one of them or has been "
                f"tampered with. Received: global '{module}.{name}'"
            ) from None


def restricted_load(path):
    """Unpickle a (Python 2) CIFAR file with :class:`RestrictedUnpickler`; keys stay bytes."""
    import stat

    st = Path(path).stat()
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"load_cifar_batch: {path} is not a regular file (it is a device, a pipe or a directory); "
            f"give the CIFAR batch files"
        )
    if st.st_size > MAX_BATCH_BYTES:
        raise ValueError(
            f"load_cifar_batch: {path} is {st.st_size:,} bytes, more than the {MAX_BATCH_BYTES:,} of a "
            f"CIFAR batch convnp reads (convnp.data.cifar.MAX_BATCH_BYTES); it is not an official batch. "
            f"Delete it and download the data again"
        )
    data = Path(path).read_bytes()
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except ForbiddenGlobalError as exc:
        raise ForbiddenGlobalError(f"{path}: {exc}") from None  # name the file
    except Exception as exc:  # truncated or garbage files
        raise ValueError(
            f"load_cifar_batch: {path} is not a readable CIFAR pickle ({type(exc).__name__}: {exc}). "
            f"Delete it and download the data again. Received: a {len(data)}-byte file"
        ) from exc


def _text_keys(d, path) -> dict:
    if not isinstance(d, dict):
        raise ValueError(f"load_cifar_batch: {path} does not hold a dict. Received: {type(d).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in d.items()}


def load_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file: images (N, 3, 32, 32) uint8 and labels (N,) int64, checked."""
    d = _text_keys(restricted_load(path), path)
    if "data" not in d or "labels" not in d:
        raise ValueError(f"load_cifar_batch: {path} has no 'data' and 'labels' entries. Received: keys {sorted(d)}")
    data = d["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        got = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"load_cifar_batch: {path}: 'data' must be a uint8 array of shape (N, 3072). Received: {got}")
    labels = d["labels"]
    # checked before NumPy sees it: a few kilobytes of pickle can hold nested lists that share
    # references, which np.asarray would expand to gigabytes
    if isinstance(labels, list):
        if len(labels) != data.shape[0] or not all(type(v) is int for v in labels):
            kinds = sorted({type(v).__name__ for v in labels[:1000]})
            raise ValueError(
                f"load_cifar_batch: {path}: expected {data.shape[0]} integer labels, one per image (a flat "
                f"list of ints). Received: a list of {len(labels)} items of type "
                f"{', '.join(kinds) or 'none'}"
            )
        labels = np.array(labels, dtype=np.int64)
    elif not isinstance(labels, np.ndarray):
        raise ValueError(
            f"load_cifar_batch: {path}: expected {data.shape[0]} integer labels, one per image (a flat "
            f"list of ints). Received: {type(labels).__name__}"
        )
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"load_cifar_batch: {path}: expected {data.shape[0]} integer labels, one per image. "
            f"Received: labels of shape {labels.shape} and dtype {labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"load_cifar_batch: {path}: labels must be in 0..9. Received: {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)  # (N, 3072) -> (N, 3, 32, 32)


def load_cifar_meta(path) -> list[str]:
    d = _text_keys(restricted_load(path), path)
    names = d.get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise ValueError(f"load_cifar_batch: {path}: expected 'label_names', a list of 10 names. Received: {names!r}")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def load_cifar10(folder, split: str = "train") -> ArrayDataset:
    """CIFAR-10 from ``folder`` = .../cifar-10-batches-py (train: 50,000 images, test: 10,000)."""
    if split not in ("train", "test"):
        raise ValueError(f"load_cifar10: split must be 'train' or 'test'. Received: split={split!r}")
    folder = Path(folder)
    names = TRAIN_BATCHES if split == "train" else TEST_BATCHES
    missing = [n for n in names + (META_FILE,) if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"load_cifar10: {', '.join(missing)} not found in {folder}")
    parts = [load_cifar_batch(folder / n) for n in names]
    images = np.concatenate([p[0] for p in parts])  # (50000, 3, 32, 32)
    labels = np.concatenate([p[1] for p in parts])
    classes = load_cifar_meta(folder / META_FILE)
    return ArrayDataset(images, labels, classes, CIFAR10_MEAN, CIFAR10_STD, name="cifar10", split=split)
