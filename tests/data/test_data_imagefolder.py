"""Image folders: a small zip cut from the real CIFAR-10 JPEG zip, folder trees, the cache, bad inputs."""

import io
import os
import zipfile

import numpy as np
import pytest
from data_helpers import SMALL_CLASSES, SMALL_TEST, SMALL_TRAIN
from PIL import Image

import convnp.data.imagefolder as imagefolder
from convnp.data import get_dataset, load_image_folder


def reference_decode(data: bytes) -> np.ndarray:
    """Pillow, image by image: (C, H, W) uint8 RGB."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).transpose(2, 0, 1)


def save_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


def test_small_cifar_zip(small_cifar_zip, cache):
    train = get_dataset(f"imagefolder:{small_cifar_zip}", cache_dir=cache, num_workers=2)
    test = get_dataset(f"imagefolder:{small_cifar_zip}", split="test", cache_dir=cache)
    assert train.classes == list(SMALL_CLASSES) and test.classes == list(SMALL_CLASSES)
    assert train.images.shape == (3 * SMALL_TRAIN, 3, 32, 32) and train.images.dtype == np.uint8
    assert test.images.shape == (3 * SMALL_TEST, 3, 32, 32)
    assert train.class_counts().tolist() == [SMALL_TRAIN] * 3 and test.class_counts().tolist() == [SMALL_TEST] * 3
    assert train.labels.dtype == np.int64 and np.all(np.diff(train.labels) >= 0)  # sorted by class, then name
    with zipfile.ZipFile(small_cifar_zip) as z:
        for ds, split in ((train, "train"), (test, "test")):
            for k in (0, 5, len(ds) - 1):
                cls = ds.classes[ds.labels[k]]
                member = f"{split}/{cls}/{k % (SMALL_TRAIN if split == 'train' else SMALL_TEST):04d}.jpg"
                assert np.array_equal(ds.images[k], reference_decode(z.read(member))), member
    # mean/std are the train images' own, for both splits
    assert train.mean == test.mean
    x = train.images.astype(np.float64) / 255
    assert np.allclose(train.mean, x.mean(axis=(0, 2, 3)), rtol=1e-12)
    assert np.allclose(train.std, x.std(axis=(0, 2, 3)), rtol=1e-12)


def test_folder_tree_equals_zip_and_wrapped_zip(small_cifar_zip, tmp_path, cache):
    tree = tmp_path / "tree"
    with zipfile.ZipFile(small_cifar_zip) as z:
        z.extractall(tree)
    (tree / "README.txt").write_text("ignored")  # files outside class folders are ignored
    (tree / "train" / ".DS_Store").write_bytes(b"\0junk")
    wrapped = tmp_path / "wrapped.zip"  # one top-level folder around everything
    with zipfile.ZipFile(small_cifar_zip) as z, zipfile.ZipFile(wrapped, "w") as out:
        for name in z.namelist():
            out.writestr("cifar-small/" + name, z.read(name))
    ref = load_image_folder(small_cifar_zip, cache_dir=cache)
    for src in (tree, wrapped):
        ds = load_image_folder(src, cache_dir=cache, num_workers=1)
        assert ds.classes == ref.classes
        assert np.array_equal(ds.images, ref.images) and np.array_equal(ds.labels, ref.labels)


def test_second_load_uses_the_cache_without_decoding(small_cifar_zip, tmp_path, cache, monkeypatch):
    src = tmp_path / "copy.zip"
    src.write_bytes(small_cifar_zip.read_bytes())
    first = load_image_folder(src, split="test", cache_dir=cache)
    files = list((cache / "imagefolder").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"
    with np.load(files[0], allow_pickle=False) as z:  # no pickled objects inside
        assert all(z[k].dtype != object for k in z.files)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(imagefolder, "_decode_image", no_decoding)
    again = load_image_folder(src, split="test", cache_dir=cache)
    assert np.array_equal(again.images, first.images) and again.classes == first.classes
    assert len(load_image_folder(src, split="train", cache_dir=cache)) == 3 * SMALL_TRAIN
    # A changed source (new mtime) is decoded again: the patched decoder now fires.
    os.utime(src, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns + 10**9))
    with pytest.raises(AssertionError, match="decoded although"):
        load_image_folder(src, split="test", cache_dir=cache)


def test_default_cache_dir_is_the_user_cache(small_cifar_zip, isolated_dirs):
    load_image_folder(small_cifar_zip, split="test")
    assert len(list((isolated_dirs / "user-cache" / "imagefolder").glob("*.npz"))) == 1


def test_without_test_folder_a_stratified_val_split(tmp_path, cache):
    rng = np.random.default_rng(0)
    counts = {"a": 20, "b": 10, "c": 30}
    for cls, n in counts.items():
        for i in range(n):
            save_png(tmp_path / "tree" / cls / f"{i:03d}.png", rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    kw = dict(cache_dir=cache, val_split=0.2)
    train, held = load_image_folder(tmp_path / "tree", **kw), load_image_folder(tmp_path / "tree", split="test", **kw)
    assert held.class_counts().tolist() == [4, 2, 6] and train.class_counts().tolist() == [16, 8, 24]
    everything = np.concatenate([train.images, held.images]).reshape(60, -1)
    assert len({row.tobytes() for row in everything}) == 60  # disjoint, together all of it
    again = load_image_folder(tmp_path / "tree", split="test", **kw)
    assert np.array_equal(again.images, held.images)  # deterministic
    other = load_image_folder(tmp_path / "tree", split="test", seed=1, **kw)
    assert not np.array_equal(other.images, held.images)
    assert train.mean == held.mean  # stats of the whole train folder


def test_greyscale_and_mixed_modes(tmp_path, cache):
    rng = np.random.default_rng(1)
    grey = [rng.integers(0, 256, (8, 8), dtype=np.uint8) for _ in range(4)]
    for i, g in enumerate(grey):
        save_png(tmp_path / "g" / "train" / ("x" if i % 2 else "y") / f"{i}.png", g)
    ds = load_image_folder(tmp_path / "g", cache_dir=cache)
    assert ds.images.shape == (4, 1, 8, 8) and len(ds.mean) == 1
    # One colour image makes everything RGB; the grey ones get three equal channels.
    for i, g in enumerate(grey):
        save_png(tmp_path / "m" / "x" / f"{i}.png", g)
    colour = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    save_png(tmp_path / "m" / "y" / "c.png", colour)
    Image.fromarray(colour).convert("P").save(tmp_path / "m" / "y" / "p.gif")
    ds = load_image_folder(tmp_path / "m", cache_dir=cache, val_split=0.5)
    both = np.concatenate([ds.images, load_image_folder(tmp_path / "m", "test", cache_dir=cache, val_split=0.5).images])
    assert both.shape[1:] == (3, 8, 8)
    greys = [im for im in both if np.array_equal(im[0], im[1]) and np.array_equal(im[1], im[2])]
    assert len(greys) >= 4


def test_differing_sizes(tmp_path, cache):
    rng = np.random.default_rng(2)
    for i in range(3):
        save_png(tmp_path / "t" / "a" / f"{i}.png", rng.integers(0, 256, (10, 12, 3), dtype=np.uint8))
    odd = rng.integers(0, 256, (20, 7, 3), dtype=np.uint8)
    save_png(tmp_path / "t" / "b" / "odd.png", odd)
    save_png(tmp_path / "t" / "b" / "ok.png", rng.integers(0, 256, (10, 12, 3), dtype=np.uint8))
    ds = load_image_folder(tmp_path / "t", cache_dir=cache, val_split=0.2)
    held = load_image_folder(tmp_path / "t", "test", cache_dir=cache, val_split=0.2)
    assert ds.image_size == (10, 12) and held.image_size == (10, 12)  # the most common size
    resized = np.asarray(Image.fromarray(odd).resize((12, 10), Image.Resampling.BILINEAR)).transpose(2, 0, 1)
    all_images = np.concatenate([ds.images, held.images])
    assert any(np.array_equal(im, resized) for im in all_images)
    assert load_image_folder(tmp_path / "t", cache_dir=cache, image_size=16, val_split=0.2).image_size == (16, 16)
    with pytest.raises(
        ValueError,
        match=r"the images have different sizes \(2 sizes; most are 10x12\) and "
        r"resize=False\. Pass resize=True .* or image_size=\(height, width\)\. "
        r"Received: .*odd\.png is 20x7",
    ):
        load_image_folder(tmp_path / "t", cache_dir=cache, resize=False)
    with pytest.raises(ValueError, match=r"image_size must be 'most_common', an int or \(height, width\)"):
        load_image_folder(tmp_path / "t", cache_dir=cache, image_size=(0, 3))


def test_not_an_image_in_a_class_folder(small_cifar_zip, tmp_path, cache):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(small_cifar_zip) as z, zipfile.ZipFile(bad, "w") as out:
        for name in z.namelist():
            out.writestr(name, z.read(name))
        out.writestr("train/cat/notes.txt", b"these are not pixels")
    with pytest.raises(
        ValueError,
        match=r"could not decode .*bad\.zip:train/cat/notes\.txt as an image .*Every file "
        r"inside a class folder must be an image: remove or replace this one\. "
        r"Received: a 20-byte file starting with b'these are not pi'",
    ):
        load_image_folder(bad, cache_dir=cache)
    assert not (cache / "imagefolder").exists() or not list((cache / "imagefolder").iterdir())


def test_layout_errors(tmp_path, cache):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"found no class folders in .*flat; expected train/<class>/<image>"):
        load_image_folder(tmp_path / "flat", cache_dir=cache)
    rng = np.random.default_rng(0)
    save_png(tmp_path / "s" / "train" / "a" / "0.png", rng.integers(0, 256, (4, 4), dtype=np.uint8))
    save_png(tmp_path / "s" / "test" / "z" / "0.png", rng.integers(0, 256, (4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"the test split of .* has classes that train lacks: \['z'\]"):
        load_image_folder(tmp_path / "s", cache_dir=cache)
    (tmp_path / "notzip.zip").write_bytes(b"hello")
    with pytest.raises(ValueError, match=r"notzip\.zip is a file but not a zip archive"):
        load_image_folder(tmp_path / "notzip.zip", cache_dir=cache)
    with pytest.raises(FileNotFoundError, match=r"no such folder or zip file"):
        load_image_folder(tmp_path / "nowhere", cache_dir=cache)
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test'\. Received: split='val'"):
        load_image_folder(tmp_path / "s", split="val", cache_dir=cache)


def test_val_folder_serves_as_test(tmp_path, cache):
    rng = np.random.default_rng(3)
    for split, n in (("train", 3), ("val", 2)):
        for cls in ("p", "q"):
            for i in range(n):
                save_png(tmp_path / "v" / split / cls / f"{i}.png", rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
    assert len(load_image_folder(tmp_path / "v", "test", cache_dir=cache)) == 4
    assert len(load_image_folder(tmp_path / "v", "train", cache_dir=cache)) == 6
