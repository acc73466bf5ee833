"""Hostile inputs to the data readers (issue #20): 16-bit greyscale images, empty class folders,
zip members that inflate too far or cannot be read, images that claim too many pixels."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convnp.data.imagefolder as imagefolder
from convnp.data import load_image_folder


def _tree(root, classes=("a", "b"), per_class=3, size=8, mode="L"):
    rng = np.random.default_rng(0)
    for c in classes:
        for split in ("train", "test"):
            folder = root / split / c
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


# ----------------------------------------------------------------------------- defect 3: 16-bit greyscale


def _expected_8bit(wide):
    return np.rint(np.clip(wide.astype(np.float64), 0, 65535) / 257).astype(np.uint8)


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped(tmp_path):
    root = _tree(tmp_path / "data")
    wide = np.random.default_rng(1).integers(0, 65536, (8, 8)).astype(np.uint16)
    wide[0, :3] = [0, 65535, 257 * 100 + 129]  # ends, and a value that rounds up
    Image.fromarray(wide).save(root / "train" / "a" / "wide.png")
    assert Image.open(root / "train" / "a" / "wide.png").mode == "I;16"
    ds = load_image_folder(root, cache_dir=tmp_path / "cache")
    names = sorted(p.name for p in (root / "train" / "a").iterdir())
    got = ds.images[names.index("wide.png"), 0]  # class a's images come first, by name
    assert got.dtype == np.uint8
    assert np.array_equal(got, _expected_8bit(wide))
    assert got[0, :3].tolist() == [0, 255, 101]
    assert (got == 255).mean() < 0.05  # clipping made 99.6% of them 255


def test_mode_i_tiff_is_scaled_too(tmp_path):
    root = _tree(tmp_path / "data")
    wide = np.random.default_rng(2).integers(0, 65536, (8, 8)).astype(np.int32)
    Image.fromarray(wide, mode="I").save(root / "train" / "b" / "wide.tif")
    assert Image.open(root / "train" / "b" / "wide.tif").mode == "I"
    ds = load_image_folder(root, cache_dir=tmp_path / "cache")
    names = sorted(p.name for p in (root / "train" / "b").iterdir())
    got = ds.images[3 + names.index("wide.tif"), 0]
    assert np.array_equal(got, _expected_8bit(wide))


@pytest.mark.parametrize("mode,dtype", [("I;16", "<u2"), ("I;16L", "<u2"), ("I;16B", ">u2"), ("I", "<i4")])
def test_to_8bit_every_wide_grey_mode(mode, dtype):
    values = np.array([[0, 65535, 25829, 1000, 128, 129]])
    im = Image.frombytes(mode, (6, 1), values.astype(dtype).tobytes())
    out = imagefolder.to_8bit(im)
    assert out.mode == "L" and np.asarray(out).tolist() == [[0, 255, 101, 4, 0, 1]]


def test_to_8bit_clips_mode_i_outside_sixteen_bits():
    im = Image.frombytes("I", (2, 1), np.array([[-5, 70000]]).astype("<i4").tobytes())
    assert np.asarray(imagefolder.to_8bit(im)).tolist() == [[0, 255]]


def test_to_8bit_leaves_8bit_images_alone():
    im = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8))
    assert imagefolder.to_8bit(im) is im


# ----------------------------------------------------------------------------- defect 8: empty class folders


def test_an_empty_class_folder_is_an_error_as_in_torchvision(tmp_path):
    root = _tree(tmp_path / "data")
    (root / "train" / "c").mkdir()
    with pytest.raises(
        ValueError,
        match=r"^imagefolder: the class folder train/c of .* holds no image; every class "
        r"folder needs at least one \(put images in it or remove it\)$",
    ):
        load_image_folder(root, cache_dir=tmp_path / "cache")
    (root / "train" / "c" / ".DS_Store").write_bytes(b"x")  # hidden files are not images
    (root / "test" / "d").mkdir()
    with pytest.raises(ValueError, match=r"the class folders test/d, train/c of .* hold no image"):
        load_image_folder(root, cache_dir=tmp_path / "cache")


def test_an_empty_class_folder_in_a_flat_tree_and_in_a_zip(tmp_path):
    flat = tmp_path / "flat"
    for c in ("x", "y"):
        (flat / c).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(flat / c / "0.png")
    (flat / "z").mkdir()
    with pytest.raises(ValueError, match=r"the class folder z of .* holds no image"):
        load_image_folder(flat, cache_dir=tmp_path / "cache")
    zpath = tmp_path / "d.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        buf = io.BytesIO()
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(buf, format="PNG")
        for c in ("x", "y"):
            z.writestr(f"top/train/{c}/0.png", buf.getvalue())
        z.writestr("top/train/empty/", b"")
    with pytest.raises(ValueError, match=r"the class folder top/train/empty of .* holds no image"):
        load_image_folder(zpath, cache_dir=tmp_path / "cache")


# ----------------------------------------------------------------------------- defects 2 and 5: zips and bombs


def _zip_with(tmp_path, name, data, **kw):
    zpath = tmp_path / "d.zip"
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(buf, format="PNG")
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for c in ("x", "y"):
            for i in range(2):
                z.writestr(f"train/{c}/{i}.png", buf.getvalue())
        z.writestr(name, data, **kw)
    return zpath


def test_a_zip_member_that_inflates_too_far_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(imagefolder, "MAX_IMAGE_FILE_BYTES", 100_000)
    zpath = _zip_with(tmp_path, "train/x/bomb.png", bytes(1_000_000))
    assert zpath.stat().st_size < 10_000
    with pytest.raises(
        ValueError,
        match=r"imagefolder: .*d\.zip:train/x/bomb\.png is 1,000,000 bytes once "
        r"decompressed, more than the 100,000 convnp reads for one image "
        r"\(convnp\.data\.imagefolder\.MAX_IMAGE_FILE_BYTES\)",
    ):
        load_image_folder(zpath, cache_dir=tmp_path / "cache")


def test_a_big_file_in_a_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(imagefolder, "MAX_IMAGE_FILE_BYTES", 1000)
    root = _tree(tmp_path / "data")
    (root / "train" / "a" / "big.png").write_bytes(bytes(5000))
    with pytest.raises(ValueError, match=r"big\.png is 5,000 bytes, more than the 1,000 convnp reads"):
        load_image_folder(root, cache_dir=tmp_path / "cache")


def test_a_crc_error_and_an_encrypted_member_are_value_errors(tmp_path):
    zpath = _zip_with(tmp_path, "train/x/zz.png", b"A" * 5000, compress_type=zipfile.ZIP_STORED)
    raw = bytearray(zpath.read_bytes())
    at = raw.index(b"A" * 5000)
    raw[at + 10] = ord("B")  # stored data changed: CRC mismatch
    zpath.write_bytes(bytes(raw))
    with pytest.raises(
        ValueError,
        match=r"imagefolder: cannot read .*d\.zip:train/x/zz\.png \(BadZipFile: .*CRC.*\); "
        r"the zip archive is damaged",
    ):
        load_image_folder(zpath, cache_dir=tmp_path / "cache")
    # the encryption flag (bit 0) in the local and central headers of the last member
    raw = bytearray(_zip_with(tmp_path, "train/y/secret.png", b"A" * 50).read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.rindex(sig)
        raw[at + off] |= 1
    zpath.write_bytes(bytes(raw))
    with pytest.raises(
        ValueError,
        match=r"imagefolder: .*secret\.png is encrypted; convnp reads zip archives "
        r"without passwords",
    ):
        load_image_folder(zpath, cache_dir=tmp_path / "cache")


def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(imagefolder, "MAX_IMAGE_PIXELS", 10_000)
    root = _tree(tmp_path / "data")
    Image.fromarray(np.zeros((200, 200), np.uint8)).save(root / "train" / "a" / "huge.png")
    with pytest.raises(
        ValueError,
        match=r"imagefolder: .*huge\.png is 200x200 pixels, more than the 10,000 convnp "
        r"decodes \(convnp\.data\.imagefolder\.MAX_IMAGE_PIXELS\)",
    ):
        load_image_folder(root, cache_dir=tmp_path / "cache")


def test_a_damaged_central_directory_is_a_value_error(tmp_path):
    zpath = _zip_with(tmp_path, "train/x/a.png", b"123")
    raw = bytearray(zpath.read_bytes())
    at = raw.rindex(b"PK\x05\x06")
    raw[at + 16 : at + 20] = (len(raw) + 999).to_bytes(4, "little")  # central directory offset past the end
    zpath.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"imagefolder: .*d\.zip.*(damaged|is a file but not a zip)"):
        load_image_folder(zpath, cache_dir=tmp_path / "cache")


# ----------------------------------------------------------------------------- defect 2: IDX and CIFAR sizes

import gzip  # noqa: E402
import pickle  # noqa: E402
import struct  # noqa: E402

from data_helpers import py2_dumps  # noqa: E402

import convnp.data.cifar as cifar  # noqa: E402
import convnp.data.mnist as mnist  # noqa: E402


def _idx_header(n, h=28, w=28):
    return bytes([0, 0, 0x08, 3]) + struct.pack(">III", n, h, w)


def test_an_idx_header_claiming_a_billion_images_is_refused_before_allocating(tmp_path):
    path = tmp_path / "img"
    path.write_bytes(_idx_header(10**9) + bytes(784))
    with pytest.raises(
        ValueError,
        match=r"read_idx_images: .*img declares 1000000000 x 28 x 28 values of type uint8 "
        r"\(784,000,000,000 bytes\), more than the 1,073,741,824 convnp reads from an "
        r"IDX file \(convnp\.data\.mnist\.MAX_IDX_BYTES\)",
    ):
        mnist.read_idx_images(path)


def test_an_idx_header_is_checked_against_the_plain_file_length_first(tmp_path, monkeypatch):
    path = tmp_path / "img"
    path.write_bytes(_idx_header(1000) + bytes(784))
    calls = []
    monkeypatch.setattr(mnist.np, "empty", lambda *a, **k: calls.append(a) or np.zeros(1))
    with pytest.raises(
        ValueError,
        match=r"img is truncated: its header declares 1000 x 28 x 28 values of type uint8 "
        r"\(784000 bytes\) but only 784 bytes follow the header",
    ):
        mnist.read_idx_images(path)
    assert calls == []  # nothing was allocated


def test_a_gzip_idx_is_counted_in_a_stream_before_allocating(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "COUNT_GZIP_ABOVE", 1000)
    path = tmp_path / "img.gz"
    path.write_bytes(gzip.compress(_idx_header(5000) + bytes(784 * 10)))
    calls = []
    monkeypatch.setattr(mnist.np, "empty", lambda *a, **k: calls.append(a) or np.zeros(1))
    with pytest.raises(
        ValueError,
        match=r"img\.gz is truncated: its header declares 5000 x 28 x 28 values of type "
        r"uint8 \(3920000 bytes\) but only 7840 bytes follow the header",
    ):
        mnist.read_idx_images(path)
    assert calls == []


def test_a_gzip_idx_that_inflates_past_the_cap_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "MAX_IDX_BYTES", 100_000)
    path = tmp_path / "img.gz"
    path.write_bytes(gzip.compress(_idx_header(1000) + bytes(784_000)))  # 784 KB from a 1 KB file
    assert path.stat().st_size < 5000
    with pytest.raises(
        ValueError,
        match=r"declares 1000 x 28 x 28 values of type uint8 \(784,000 bytes\), more "
        r"than the 100,000 convnp reads",
    ):
        mnist.read_idx_images(path)


def test_a_gzip_idx_read_matches_the_plain_one(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "COUNT_GZIP_ABOVE", 10)  # the counting pass, then the read
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    mnist.write_idx(tmp_path / "img.gz", images)
    assert np.array_equal(mnist.read_idx_images(tmp_path / "img.gz"), images)


def test_an_idx_file_with_zero_images(tmp_path):
    for name in ("img", "img.gz"):
        mnist.write_idx(tmp_path / name, np.zeros((0, 28, 28), np.uint8))
        assert mnist.read_idx_images(tmp_path / name).shape == (0, 28, 28)


def _shared_nested_labels(depth=20):
    inner = [0, 1]
    for _ in range(depth):
        inner = [inner, inner]
    return inner


def test_cifar_labels_must_be_a_flat_list_of_ints_before_numpy_sees_them(tmp_path, monkeypatch):
    path = tmp_path / "b"
    # 2**20 leaves behind a few hundred bytes of pickle (the lists share references)
    path.write_bytes(py2_dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": _shared_nested_labels()}))
    assert path.stat().st_size < 10_000
    seen = []
    real_asarray = np.asarray
    monkeypatch.setattr(cifar.np, "asarray", lambda a, *x, **k: seen.append(type(a)) or real_asarray(a, *x, **k))
    with pytest.raises(
        ValueError,
        match=r"expected 2 integer labels, one per image \(a flat list of ints\)\. "
        r"Received: a list of 2 items of type list",
    ):
        cifar.load_cifar_batch(path)
    assert list not in seen
    path.write_bytes(py2_dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1.5]}))
    with pytest.raises(ValueError, match=r"Received: a list of 2 items of type float, int"):
        cifar.load_cifar_batch(path)
    path.write_bytes(py2_dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": {0: 1}}))
    with pytest.raises(ValueError, match=r"expected 2 integer labels.*Received: dict"):
        cifar.load_cifar_batch(path)


def test_cifar_file_size_cap_and_devices(tmp_path, monkeypatch):
    monkeypatch.setattr(cifar, "MAX_BATCH_BYTES", 100)
    (tmp_path / "b").write_bytes(bytes(1000))
    with pytest.raises(
        ValueError,
        match=r"b is 1,000 bytes, more than the 100 of a CIFAR batch convnp reads "
        r"\(convnp\.data\.cifar\.MAX_BATCH_BYTES\)",
    ):
        cifar.load_cifar_batch(tmp_path / "b")
    if Path("/dev/zero").exists():
        with pytest.raises(ValueError, match=r"/dev/zero is not a regular file"):
            cifar.load_cifar_batch("/dev/zero")


def test_a_forbidden_global_is_a_value_error_too(tmp_path):
    (tmp_path / "b").write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    with pytest.raises(ValueError, match="forbidden global 'os.system'") as info:
        cifar.load_cifar_batch(tmp_path / "b")
    assert isinstance(info.value, pickle.UnpicklingError)


# ----------------------------------------------------------------------------- defect 10: the data setting


def test_need_skips_naming_the_setting_and_fails_under_ci(tmp_path, monkeypatch):
    from data_helpers import DATA_SETTING, need

    assert DATA_SETTING == "CONVNP_TEST_DATA"
    assert need(tmp_path) == tmp_path
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception,
        match=r"needs the real data file .*nope: set \$CONVNP_TEST_DATA to the "
        r"folder holding mnist/ and cifar10/",
    ):
        need(tmp_path / "nope")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"set \$CONVNP_TEST_DATA .*; CI=true requires the data"):
        need(tmp_path / "nope")


@pytest.mark.slow
def test_the_setting_names_the_data_folder(tmp_path):
    import subprocess
    import sys

    here = Path(__file__).resolve().parent
    code = "import data_helpers as d; print(d.SHARED, d.MNIST_DIR)"
    for value, expected in ((str(tmp_path), tmp_path), (None, here.parents[2] / "shared" / "data")):
        env = {k: v for k, v in __import__("os").environ.items() if k != "CONVNP_TEST_DATA"}
        if value is not None:
            env["CONVNP_TEST_DATA"] = value
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=here, env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        assert out == [str(expected), str(expected / "mnist")]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes (os.mkfifo)")
def test_a_pipe_in_a_class_folder_is_refused_not_read(tmp_path):
    import os

    root = _tree(tmp_path / "data")
    os.mkfifo(root / "train" / "a" / "pipe.png")
    with pytest.raises(
        ValueError,
        match=r"imagefolder: .*pipe\.png is not a regular file \(it is a device or a "
        r"pipe\); every file inside a class folder must be an image: remove it",
    ):
        load_image_folder(root, cache_dir=tmp_path / "cache", num_workers=1)
