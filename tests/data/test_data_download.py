"""Downloads against a local HTTP server: verified files, checksum mismatches, a server that is down."""

import gzip
import hashlib
import http.server
import io
import tarfile
import time

import numpy as np
import pytest
from data_helpers import MNIST_DIR, need, write_cifar

import convnp.data.download as download
from convnp.data import ChecksumError, DownloadError, get_dataset
from convnp.data.download import RemoteFile, download_file, ensure_dataset

MNIST_NAMES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_mnist_from_a_local_mirror(serve, tmp_path):
    need(MNIST_DIR)
    url = serve(MNIST_DIR)
    ds = get_dataset("mnist", data_dir=tmp_path / "data", split="test", mirror=url, progress=False)
    assert ds.images.shape == (10000, 1, 28, 28)
    assert leftovers(tmp_path / "data" / "mnist") == sorted(MNIST_NAMES)  # no .part files
    for name in MNIST_NAMES:
        assert (tmp_path / "data" / "mnist" / name).read_bytes() == (MNIST_DIR / name).read_bytes()
    # Present files are not fetched again: with the server gone, loading still works.
    assert len(get_dataset("mnist", data_dir=tmp_path / "data", mirror="http://127.0.0.1:9/")) == 60000


def test_mirror_from_the_environment_and_recompressed_files(serve, tmp_path, monkeypatch):
    need(MNIST_DIR)
    # A mirror that re-gzipped the files: the .gz MD5 differs, the uncompressed MD5 (published) matches.
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in MNIST_NAMES[2:]:
        raw = gzip.decompress((MNIST_DIR / name).read_bytes())
        (mirror / name).write_bytes(gzip.compress(raw, compresslevel=1, mtime=0))
    (tmp_path / "env-data" / "mnist").mkdir(parents=True)
    for name in MNIST_NAMES[:2]:  # already there: only the two missing files are fetched
        (tmp_path / "env-data" / "mnist" / name).write_bytes((MNIST_DIR / name).read_bytes())
    monkeypatch.setenv("CONVNP_MIRROR", serve(mirror))
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "env-data"))
    ds = get_dataset("mnist", split="test", progress=False)
    assert len(ds) == 10000 and leftovers(tmp_path / "env-data" / "mnist") == sorted(MNIST_NAMES)
    for name in MNIST_NAMES[2:]:
        assert (tmp_path / "env-data" / "mnist" / name).read_bytes() == (mirror / name).read_bytes()
        assert (mirror / name).read_bytes() != (MNIST_DIR / name).read_bytes()


def test_checksum_mismatch_leaves_no_file(serve, tmp_path):
    need(MNIST_DIR)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in MNIST_NAMES:  # valid gzip IDX files, but one byte differs from the published data
        raw = bytearray(gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()))
        raw[100] ^= 1
        (mirror / name).write_bytes(gzip.compress(bytes(raw), mtime=0))
    got = hashlib.md5((mirror / MNIST_NAMES[0]).read_bytes()).hexdigest()
    with pytest.raises(
        ChecksumError,
        match=rf"checksum mismatch for train-images-idx3-ubyte\.gz from http://127\.0\.0"
        rf"\.1:\d+/train-images-idx3-ubyte\.gz: expected MD5 f68b3c2dcbeaaa9fbdd348bbdeb94873 "
        rf"\(or 6bbc9ace898e44ae57da46a324031adb of the uncompressed data\), got "
        rf"{got} \([0-9a-f]{{32}} uncompressed\); the file was deleted",
    ):
        get_dataset("mnist", data_dir=tmp_path / "data", mirror=serve(mirror), progress=False)
    assert leftovers(tmp_path / "data" / "mnist") == []


class TruncatingHandler(http.server.BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 10, closes."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_partial_download_is_deleted(serve, tmp_path):
    url = serve(None, handler=TruncatingHandler)
    remote = RemoteFile("x.gz", "0" * 32)
    with pytest.raises(DownloadError, match=r"x\.gz"):
        download_file(url + "x.gz", tmp_path / "x.gz", remote, progress=False)
    assert leftovers(tmp_path) == []


def test_http_error(serve, tmp_path):
    (tmp_path / "empty-mirror").mkdir()
    url = serve(tmp_path / "empty-mirror")
    with pytest.raises(
        DownloadError,
        match=r"could not be downloaded \(no network\?\): http://127\.0\.0\.1:\d+/"
        r"train-images-idx3-ubyte\.gz: HTTP 404",
    ):
        get_dataset("mnist", data_dir=tmp_path / "data", mirror=url, progress=False)
    assert leftovers(tmp_path / "data" / "mnist") == []


def test_server_down_fails_at_once_with_instructions(dead_url, tmp_path):
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        get_dataset("mnist", data_dir=tmp_path / "data", mirror=dead_url, progress=False)
    assert time.monotonic() - start < 3
    message = str(info.value)
    folder = str(tmp_path / "data" / "mnist")
    assert f"the data files are missing from {folder} and could not be downloaded (no network?)" in message
    assert "Connection refused" in message
    assert (
        f"Without network, copy the files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        f"t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (gzip-compressed or not) into {folder}/"
    ) in message
    assert "$CONVNP_DATA" in message and "get_dataset('mnist-sample')" in message
    assert leftovers(tmp_path / "data" / "mnist") == []


def test_no_download_names_the_files(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"get_dataset\('fashion-mnist'\): train-images-idx3-ubyte\.gz, "
        r".* not found in .*fashion-mnist and download=False\. Without network",
    ):
        get_dataset("fashion-mnist", data_dir=tmp_path, download=False)


def test_unwritable_data_dir(tmp_path, dead_url):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DownloadError, match=r"cannot create .*file/mnist to download into .*Pass a writable data_dir="):
        get_dataset("mnist", data_dir=blocker, mirror=dead_url)


def test_cifar_archive_is_verified_unpacked_and_removed(serve, tmp_path, monkeypatch):
    staging, batches = write_cifar(tmp_path / "staging")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(staging, arcname="cifar-10-batches-py")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())
    # The archive is a tiny stand-in, so the test swaps in its MD5 for the published one.
    res = download.RESOURCES["cifar10"]
    fake = RemoteFile("cifar-10-python.tar.gz", hashlib.md5(buf.getvalue()).hexdigest())
    monkeypatch.setitem(
        download.RESOURCES,
        "cifar10",
        download.Resource(res.name, res.subdir, res.mirrors, (fake,), res.homepage, archive=True),
    )
    ds = get_dataset("cifar10", data_dir=tmp_path / "data", split="test", mirror=serve(mirror), progress=False)
    assert np.array_equal(ds.images.reshape(len(ds), -1), batches["test_batch"][0])
    assert leftovers(tmp_path / "data" / "cifar10") == ["cifar-10-batches-py"]  # archive and staging removed


def test_cifar_published_checksum_rejects_other_archives(serve, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "cifar-10-python.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(
        ChecksumError,
        match=r"checksum mismatch for cifar-10-python\.tar\.gz .* expected MD5 "
        r"c58f30108f718f92721af3b95e74349a, got [0-9a-f]{32}; the file was deleted",
    ):
        ensure_dataset("cifar10", tmp_path / "data", mirror=serve(mirror), progress=False)
    assert leftovers(tmp_path / "data" / "cifar10") == []


def test_progress_bar_fallback_without_tqdm(serve, tmp_path, capsys, monkeypatch):
    need(MNIST_DIR)
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    url = serve(MNIST_DIR)
    remote = RemoteFile("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c")
    download_file(url + remote.name, tmp_path / remote.name, remote, progress=True)
    assert (tmp_path / remote.name).read_bytes() == (MNIST_DIR / remote.name).read_bytes()
