"""Shared constants and writers of the data tests (a plain module: conftest files are not imported)."""

import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np

from convnp.data.cifar import CIFAR10_CLASSES

# The real data sets some tests read: one setting names their folder (mnist/, cifar10/), by default
# ../shared/data beside the checkout (a relative value is taken from the checkout's root). A test that
# needs a file calls need(path): absent, it skips with a reason naming the setting, or fails under
# CI=true (where the data must be there).
DATA_SETTING = "CONVNP_TEST_DATA"
CHECKOUT = Path(__file__).resolve().parents[2]
SHARED = Path(os.path.normpath(CHECKOUT / os.environ.get(DATA_SETTING, "../shared/data")))
MNIST_DIR = SHARED / "mnist"
CIFAR_ZIP = SHARED / "cifar10" / "cifar10-jpg.zip"


def need(path: Path) -> Path:
    """``path`` if it exists; otherwise skip the test (fail it when $CI is 'true') with a reason naming
    the setting ${DATA_SETTING}."""
    if Path(path).exists():
        return Path(path)
    import pytest

    reason = (
        f"needs the real data file {path}: set ${DATA_SETTING} to the folder holding mnist/ and cifar10/ "
        f"(default ../shared/data beside the checkout, now {SHARED})"
    )
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason}; CI=true requires the data", pytrace=False)
    pytest.skip(reason)


# The published MD5 of the four uncompressed MNIST files (../shared/data/README.md).
MNIST_MD5_UNCOMPRESSED = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

SMALL_CLASSES = ("bird", "cat", "ship")
SMALL_TRAIN, SMALL_TEST = 40, 12

_reconstruct = np._core.multiarray._reconstruct


class Py2Pickler(pickle._Pickler):
    """Writes what Python 2's cPickle wrote for the official files: protocol 2, str as BINSTRING
    (read back as bytes with encoding='bytes'), arrays via numpy.core.multiarray._reconstruct."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str

    def save_global(self, obj, name=None):
        module = "numpy.core.multiarray" if obj is _reconstruct else obj.__module__
        self.write(pickle.GLOBAL + f"{module}\n{obj.__qualname__}\n".encode())
        self.memoize(obj)


def py2_dumps(obj) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def write_cifar(root, n_per_batch=6, seed=0):
    """A cifar-10-batches-py folder in the official format, with small batches; returns the arrays."""
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    batches = {}
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n_per_batch)]
        batches[name] = (data, labels)
        (folder / name).write_bytes(
            py2_dumps(
                {
                    b"batch_label": f"batch {k}".encode(),
                    b"labels": labels,
                    b"data": data,
                    b"filenames": [f"img_{k}_{i}.png".encode() for i in range(n_per_batch)],
                }
            )
        )
    (folder / "batches.meta").write_bytes(
        py2_dumps(
            {b"num_cases_per_batch": 10000, b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_vis": 3072}
        )
    )
    return folder, batches
