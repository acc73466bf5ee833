"""CIFAR-10 python batches: the official (Python 2 pickle) format, read without running pickled code."""

import io
import os
import pickle
import pickletools

import numpy as np
import pytest
from data_helpers import py2_dumps, write_cifar

from convnp.data import RestrictedUnpickler, get_dataset, load_cifar_batch
from convnp.data.cifar import CIFAR10_CLASSES, CIFAR10_MEAN


def test_test_pickles_look_like_the_official_ones(tmp_path):
    folder, _ = write_cifar(tmp_path)
    listing = io.StringIO()
    pickletools.dis((folder / "data_batch_1").read_bytes(), out=listing)
    text = listing.getvalue()
    assert "PROTO      2" in text and "SHORT_BINSTRING 'data'" in text
    assert "GLOBAL     'numpy.core.multiarray _reconstruct'" in text
    assert "GLOBAL     'numpy ndarray'" in text and "GLOBAL     'numpy dtype'" in text
    assert "_codecs" not in text and "BINUNICODE" not in text


def test_read_official_format(tmp_path):
    folder, batches = write_cifar(tmp_path)
    train = get_dataset("cifar10", data_dir=tmp_path, download=False)
    test = get_dataset("cifar10", data_dir=tmp_path, split="test", download=False)
    data = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels = sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == np.uint8
    assert train.labels.tolist() == labels and train.labels.dtype == np.int64
    # Channel-major rows of 3072: [R plane 32x32 | G plane | B plane].
    n, c, r, col = 7, 2, 5, 30
    assert train.images[n, c, r, col] == data[n, c * 1024 + r * 32 + col]
    assert np.array_equal(train.images.reshape(30, -1), data)
    assert np.array_equal(test.images.reshape(6, -1), batches["test_batch"][0])
    assert train.classes == CIFAR10_CLASSES and train.mean == CIFAR10_MEAN
    for direct in (folder, folder.parent):  # the batches folder itself, or its parent
        assert np.array_equal(get_dataset("cifar10", data_dir=direct, download=False).images, train.images)
    assert train.num_channels == 3 and train.image_size == (32, 32)


def test_python3_pickles_load_too(tmp_path):
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072) % 251
    for protocol in (3, 4):
        path = tmp_path / f"batch{protocol}"
        path.write_bytes(pickle.dumps({b"data": data, b"labels": [1, 9]}, protocol=protocol))
        images, labels = load_cifar_batch(path)
        assert np.array_equal(images.reshape(2, -1), data) and labels.tolist() == [1, 9]


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_malicious_pickle_is_refused_without_running(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": Evil(marker), "labels": []}, protocol=protocol))
    with pytest.raises(
        pickle.UnpicklingError,
        match=r"refusing to load the pickle: it references the forbidden "
        r"global '(posix|os|nt)\.system'.*Received: global",
    ):
        load_cifar_batch(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload, name",
    [
        (b"cos\nsystem\n(S'echo hi'\ntR.", "os.system"),
        (b"cbuiltins\neval\n(S'1+1'\ntR.", "builtins.eval"),
        (b"c__builtin__\ngetattr\n.", "__builtin__.getattr"),
        (b"cnumpy\nload\n.", "numpy.load"),
        (b"ccopy_reg\n_reconstructor\n.", "copy_reg._reconstructor"),
    ],
)
def test_only_numpy_reconstruction_globals_are_admitted(payload, name):
    with pytest.raises(pickle.UnpicklingError, match=f"forbidden global '{name}'"):
        RestrictedUnpickler(io.BytesIO(payload), encoding="bytes").load()


def test_bad_batches(tmp_path):
    path = tmp_path / "b"
    path.write_bytes(py2_dumps({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"'data' must be a uint8 array of shape \(N, 3072\)\. Received: float32"):
        load_cifar_batch(path)
    path.write_bytes(py2_dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}))
    with pytest.raises(ValueError, match=r"expected 2 integer labels, one per image"):
        load_cifar_batch(path)
    path.write_bytes(py2_dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}))
    with pytest.raises(ValueError, match=r"labels must be in 0\.\.9\. Received: 10\.\.10"):
        load_cifar_batch(path)
    good = py2_dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [1]})
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"is not a readable CIFAR pickle .*Delete it and download the data again"):
        load_cifar_batch(path)


def test_missing_files_without_download(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"get_dataset\('cifar10'\): data_batch_1, .* not found in .*"
        r"cifar-10-batches-py and download=False\. Without network, download "
        r"cifar-10-python\.tar\.gz from https://www\.cs\.toronto\.edu/~kriz/"
        r"cifar\.html .*data_batch_1 exists",
    ):
        get_dataset("cifar10", data_dir=tmp_path, download=False)
