"""IDX parsing on the real MNIST files, the bundled mnist-sample, and bad IDX files."""

import gzip
import hashlib
import importlib.util
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from data_helpers import MNIST_DIR, MNIST_MD5_UNCOMPRESSED, need

from convnp.data import get_dataset, load_mnist, read_idx, read_idx_images, read_idx_labels, write_idx
from convnp.data.dataset import channel_stats
from convnp.data.mnist import MNIST_MEAN, MNIST_STD
from convnp.data.registry import sample_dir

ROOT = Path(__file__).resolve().parents[2]


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """The uncompressed IDX file of a parsed array, rebuilt from the array (to check its MD5)."""
    return magic.to_bytes(4, "big") + np.asarray(array.shape, ">u4").tobytes() + array.astype(np.uint8).tobytes()


@pytest.fixture(scope="module")
def mnist_train():
    return load_mnist(need(MNIST_DIR), "train")


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist(need(MNIST_DIR), "test")


@pytest.mark.slow
def test_real_mnist_counts_and_published_checksums(mnist_train, mnist_test):
    for ds, n, stem_img, stem_lab in (
        (mnist_train, 60000, "train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        (mnist_test, 10000, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    ):
        assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == np.uint8
        assert ds.labels.shape == (n,) and ds.labels.dtype == np.int64
        # The parsed arrays, written back as IDX, have the published MD5 of the uncompressed files.
        assert hashlib.md5(idx_bytes(ds.images[:, 0], 0x803)).hexdigest() == MNIST_MD5_UNCOMPRESSED[stem_img]
        assert hashlib.md5(idx_bytes(ds.labels, 0x801)).hexdigest() == MNIST_MD5_UNCOMPRESSED[stem_lab]
    assert mnist_train.classes == [str(d) for d in range(10)]
    assert mnist_train.class_counts().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.mark.slow
def test_mnist_normalisation_constants_match_the_data(mnist_train):
    mean, std = channel_stats(mnist_train.images)
    assert abs(mean[0] - MNIST_MEAN[0]) < 1e-4 and abs(std[0] - MNIST_STD[0]) < 1e-4
    x = mnist_train.images[:5000].astype(np.float64) / 255  # the exact formula against NumPy
    m, s = channel_stats(mnist_train.images[:5000])
    assert m[0] == pytest.approx(x.mean(), rel=1e-12) and s[0] == pytest.approx(x.std(), rel=1e-12)


def test_get_dataset_reads_the_shared_layout(mnist_test):
    ds = get_dataset("mnist", data_dir=MNIST_DIR.parent, split="test", download=False)
    assert np.array_equal(ds.images, mnist_test.images) and np.array_equal(ds.labels, mnist_test.labels)
    assert ds.mean == MNIST_MEAN and ds.std == MNIST_STD and ds.num_channels == 1 and ds.image_size == (28, 28)


def test_plain_and_gzip_files_parse_the_same(tmp_path):
    need(MNIST_DIR)
    raw = gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "labels").write_bytes(raw)
    assert np.array_equal(
        read_idx_labels(tmp_path / "labels"), read_idx_labels(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_roundtrip(tmp_path, dtype, suffix):
    a = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 100).astype(dtype)
    write_idx(tmp_path / f"a{suffix}", a)
    b = read_idx(tmp_path / f"a{suffix}")
    assert b.dtype == np.dtype(dtype) and b.dtype.isnative and np.array_equal(a, b)
    assert ((tmp_path / f"a{suffix}").read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


# ----------------------------------------------------------------------------- bad files


def test_bad_magic_swapped_files(tmp_path):
    write_idx(tmp_path / "labels.gz", np.arange(10, dtype=np.uint8))
    with pytest.raises(
        ValueError,
        match=r"labels\.gz is not an IDX image file: expected magic number 0x00000803, "
        r"found 0x00000801\. The images and labels files look swapped",
    ):
        read_idx_images(tmp_path / "labels.gz")


def test_bad_magic_html_page(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"<html><body>Not found</body></html>")
    with pytest.raises(
        ValueError,
        match=r"train-images-idx3-ubyte is not an IDX image file: expected magic number "
        r"0x00000803, found 0x3C68746D\. Check that it is the right file.*"
        r"Received: magic=0x3C68746D",
    ):
        read_idx_images(tmp_path / "train-images-idx3-ubyte")


def test_truncated_data(tmp_path):
    write_idx(tmp_path / "img", np.zeros((10, 28, 28), np.uint8))
    data = (tmp_path / "img").read_bytes()
    (tmp_path / "img").write_bytes(data[:-100])
    with pytest.raises(
        ValueError,
        match=r"img is truncated: its header declares 10 x 28 x 28 values of type uint8 "
        r"\(7840 bytes\) but only 7740 bytes follow the header\. Delete it and "
        r"download it again\. Received: 7740 of 7840 data bytes",
    ):
        read_idx_images(tmp_path / "img")
    (tmp_path / "short").write_bytes(b"\0\0")
    with pytest.raises(ValueError, match=r"short is too short to be an IDX file \(2 bytes"):
        read_idx(tmp_path / "short")
    (tmp_path / "hdr").write_bytes(b"\0\0\x08\x03\0\0\0\x0a")
    with pytest.raises(ValueError, match=r"hdr is truncated inside its header \(3 sizes declared\)"):
        read_idx(tmp_path / "hdr")


def test_truncated_gzip(tmp_path):
    write_idx(tmp_path / "img.gz", np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8))
    data = (tmp_path / "img.gz").read_bytes()
    (tmp_path / "img.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ValueError,
        match=r"img\.gz is not a valid gzip file, it is corrupt or truncated .*Delete it "
        r"and download it again",
    ):
        read_idx_images(tmp_path / "img.gz")


def test_trailing_bytes_and_unknown_type(tmp_path):
    write_idx(tmp_path / "lab", np.zeros(5, np.uint8))
    (tmp_path / "lab").write_bytes((tmp_path / "lab").read_bytes() + b"\0")
    with pytest.raises(ValueError, match=r"lab has bytes after the 5 data bytes its header declares"):
        read_idx_labels(tmp_path / "lab")
    (tmp_path / "odd").write_bytes(b"\0\0\x07\x01\0\0\0\x01\0")
    with pytest.raises(ValueError, match=r"odd is not an IDX file: its first 4 bytes must be 00 00, a type code"):
        read_idx(tmp_path / "odd")


def test_image_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((7, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(6, np.uint8))
    with pytest.raises(
        ValueError,
        match=r"train-images-idx3-ubyte\.gz holds 7 images but .*train-labels-idx1-ubyte"
        r"\.gz holds 6 labels; both files must come from the same split",
    ):
        load_mnist(tmp_path, "train")


def test_labels_out_of_range(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 12], np.uint8))
    with pytest.raises(ValueError, match=r"has labels up to 12, expected 0\.\.9"):
        load_mnist(tmp_path, "test")


# ----------------------------------------------------------------------------- the bundled sample


def _load_script():
    spec = importlib.util.spec_from_file_location("make_mnist_sample", ROOT / "scripts" / "make_mnist_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mnist_sample_sizes_balance_and_footprint():
    files = sorted(p.name for p in sample_dir().iterdir())
    assert files == [
        "README.md",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    assert sum(p.stat().st_size for p in sample_dir().iterdir()) < 2.5e6
    readme = (sample_dir() / "README.md").read_text()
    assert (
        "Creative Commons Attribution-Share Alike 3.0" in readme
        and "Yann LeCun" in readme
        and "Corinna Cortes" in readme
    )
    for split, n in (("train", 10000), ("test", 2000)):
        ds = get_dataset("mnist-sample", split=split)
        assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == np.uint8
        assert ds.class_counts().tolist() == [n // 10] * 10
        assert ds.name == "mnist-sample" and ds.mean == MNIST_MEAN
    # The README's checksums are those of the files.
    for line in readme.splitlines():
        if line.startswith("- ") and ".gz " in line:
            name, digest = line[2:].split()
            assert hashlib.sha256((sample_dir() / name).read_bytes()).hexdigest() == digest


def test_mnist_sample_loads_offline(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise AssertionError("mnist-sample must not touch the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "empty"))
    assert len(get_dataset("mnist-sample", split="test")) == 2000
    assert not (tmp_path / "empty").exists()


@pytest.mark.slow
def test_mnist_sample_is_a_reproducible_subset_of_real_mnist(mnist_train, mnist_test, tmp_path):
    script = _load_script()
    for split, full in (("train", mnist_train), ("test", mnist_test)):
        idx, images, labels = script.select(MNIST_DIR, split)
        ds = get_dataset("mnist-sample", split=split)
        assert np.array_equal(ds.images, full.images[idx]) and np.array_equal(ds.labels, full.labels[idx])
        assert np.all(np.diff(idx) > 0)  # original order, no repeats
    # Re-running the script gives the same IDX bytes and README (the .gz bytes also depend on zlib's version).
    script.main(["--source", str(MNIST_DIR), "--out", str(tmp_path)])
    for p in sample_dir().glob("*.gz"):
        assert gzip.decompress((tmp_path / p.name).read_bytes()) == gzip.decompress(p.read_bytes()), p.name
    strip = lambda text: [ln for ln in text.splitlines() if ".gz " not in ln]  # noqa: E731 (checksum lines)
    assert strip((tmp_path / "README.md").read_text()) == strip((sample_dir() / "README.md").read_text())


def test_balanced_indices():
    script = _load_script()
    labels = np.repeat(np.arange(4), [5, 7, 9, 6])
    idx = script.balanced_indices(labels, 3, seed=1)
    assert np.bincount(labels[idx]).tolist() == [3, 3, 3, 3] and len(set(idx.tolist())) == 12
    assert np.array_equal(idx, script.balanced_indices(labels, 3, seed=1))
    assert not np.array_equal(idx, script.balanced_indices(labels, 3, seed=2))
    with pytest.raises(ValueError, match="a class has only 5 samples, fewer than 6"):
        script.balanced_indices(labels, 6, seed=1)
