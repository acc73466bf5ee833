"""ArrayDataset, DataLoader (batching, shuffling, prefetch), stratified_split and get_dataset's registry."""

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from data_helpers import MNIST_DIR, need

import convnp
from convnp.data import ArrayDataset, DataLoader, channel_stats, get_dataset, list_datasets, stratified_split
from convnp.data import transforms as T


def dataset(n=23, c=3, h=4, w=5, seed=0):
    rng = np.random.default_rng(seed)
    return ArrayDataset(
        rng.integers(0, 256, (n, c, h, w), dtype=np.uint8), np.arange(n) % 4, classes=["a", "b", "c", "d"]
    )


def epoch(loader):
    return [(x.copy(), y.copy()) for x, y in loader]


@pytest.mark.parametrize(
    "n, batch_size, drop_last, sizes",
    [
        (23, 5, False, [5, 5, 5, 5, 3]),
        (23, 5, True, [5, 5, 5, 5]),
        (20, 5, True, [5, 5, 5, 5]),
        (3, 8, False, [3]),
        (3, 8, True, []),
        (4, 1, False, [1, 1, 1, 1]),
    ],
)
def test_batching(n, batch_size, drop_last, sizes):
    ds = dataset(n)
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    batches = epoch(loader)
    assert len(loader) == len(sizes) and [len(y) for _, y in batches] == sizes
    if batches:
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
        assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape[1:] == (3, 4, 5)
        m = len(y)
        assert np.array_equal(x, ds.images[:m].astype(np.float32) / np.float32(255))  # value / 255, in order
        assert np.array_equal(y, ds.labels[:m])


def test_shuffle_is_a_seeded_permutation_per_epoch():
    ds = ArrayDataset(np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1), np.zeros(50, int))
    loader = DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(3))
    e1, e2 = epoch(loader), epoch(loader)
    seen1 = np.concatenate([x.ravel() for x, _ in e1]) * 255
    seen2 = np.concatenate([x.ravel() for x, _ in e2]) * 255
    assert sorted(np.rint(seen1).astype(int).tolist()) == list(range(50))  # every sample once
    assert not np.array_equal(seen1, seen2) and not np.array_equal(seen1, np.arange(50))
    again = DataLoader(ds, batch_size=8, shuffle=True, generator=np.random.default_rng(3))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(e1, epoch(again)))  # same seed, same order
    convnp.manual_seed(11)
    d1 = epoch(DataLoader(ds, batch_size=8, shuffle=True))
    convnp.manual_seed(11)
    d2 = epoch(DataLoader(ds, batch_size=8, shuffle=True))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(d1, d2))  # the default generator


@pytest.mark.parametrize(
    "transform", [None, T.Compose([T.RandomShift(1), T.RandomErasing(0.5), T.Normalize((0.5,) * 3, (0.25,) * 3)])]
)
def test_prefetch_gives_the_same_batches(transform):
    ds = dataset(101)

    def make(prefetch):
        return DataLoader(
            ds,
            batch_size=16,
            shuffle=True,
            transform=transform,  # noqa: E731
            generator=np.random.default_rng(5),
            prefetch=prefetch,
        )

    plain, ahead = make(False), make(True)
    for _ in range(2):  # two epochs each
        a, b = epoch(plain), epoch(ahead)
        assert len(a) == len(b) == 7
        for (xa, ya), (xb, yb) in zip(a, b):
            assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


def test_prefetch_stops_cleanly_and_propagates_errors():
    ds = dataset(200)
    before = threading.active_count()
    for k, _ in enumerate(DataLoader(ds, batch_size=4, prefetch=True)):
        if k == 2:
            break
    assert threading.active_count() == before

    def boom(x):
        if x.shape[0] < 4:
            raise RuntimeError("bad batch")
        return x

    with pytest.raises(RuntimeError, match="bad batch"):
        list(DataLoader(dataset(10), batch_size=4, transform=boom, prefetch=True))


def test_augmentation_differs_between_batches_and_epochs():
    ds = ArrayDataset(np.full((8, 1, 6, 6), 200, np.uint8), np.zeros(8, int))
    loader = DataLoader(ds, batch_size=4, transform=T.RandomShift(2), generator=np.random.default_rng(0))
    (x1, _), (x2, _) = epoch(loader)
    (x3, _), _ = epoch(loader)
    assert not np.array_equal(x1, x2) and not np.array_equal(x1, x3)


def test_plain_callable_transform():
    ds = dataset(6)
    ((x, _),) = epoch(DataLoader(ds, batch_size=6, transform=lambda b: b * 2))
    assert np.allclose(x, ds.images / 255 * 2)


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "8", None])
def test_bad_batch_size(bad):
    with pytest.raises(
        ValueError,
        match=r"DataLoader: batch_size must be a positive int, the number of samples per "
        rf"batch \(for example batch_size=128\)\. Received: batch_size={bad!r}",
    ):
        DataLoader(dataset(), batch_size=bad)


def test_loader_argument_errors():
    with pytest.raises(TypeError, match=r"DataLoader: dataset must have __len__ and __getitem__.*Received: int"):
        DataLoader(5)
    with pytest.raises(TypeError, match=r"DataLoader: generator must be a numpy\.random\.Generator"):
        DataLoader(dataset(), generator=3)
    with pytest.raises(TypeError, match=r"DataLoader: transform must be callable or None\. Received: str"):
        DataLoader(dataset(), transform="flip")


def test_array_dataset():
    ds = ArrayDataset(np.zeros((4, 6, 6), np.uint8), [0, 1, 1, 0])
    assert ds.images.shape == (4, 1, 6, 6) and ds.classes == ["0", "1"] and ds.num_classes == 2
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 3, 5, 5), dtype=np.uint8)
    ds = ArrayDataset(images, rng.integers(0, 3, 30))
    ref = images.astype(np.float64) / 255
    assert np.allclose(ds.mean, ref.mean(axis=(0, 2, 3)), rtol=1e-12, atol=0)
    assert np.allclose(ds.std, ref.std(axis=(0, 2, 3)), rtol=1e-12, atol=0)
    f = ref.astype(np.float32)
    assert np.allclose(channel_stats(f)[0], f.astype(np.float64).mean(axis=(0, 2, 3)))
    sub = ds.subset([3, 1])
    assert np.array_equal(sub.images, images[[3, 1]]) and sub.mean == ds.mean
    assert ArrayDataset(images, np.zeros(30, int), mean=0.5, std=0.25).mean == (0.5, 0.5, 0.5)
    with pytest.raises(
        ValueError,
        match=r"expected one label per image, labels of shape \(30,\)\. Received: labels "
        r"of shape \(29,\) for 30 images",
    ):
        ArrayDataset(images, np.zeros(29, int))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\) for 2 classes\. Received: labels from 0 to 2"):
        ArrayDataset(images, np.arange(30) % 3, classes=["x", "y"])
    with pytest.raises(TypeError, match=r"labels must be integer class indices\. Received: dtype float64"):
        ArrayDataset(images, np.zeros(30))
    with pytest.raises(TypeError, match=r"expected uint8 images .* Received: dtype int32"):
        ArrayDataset(images.astype(np.int32), np.zeros(30, int))
    with pytest.raises(ValueError, match=r"mean needs one value per channel \(3\)\. Received: mean=\(0\.1, 0\.2\)"):
        ArrayDataset(images, np.zeros(30, int), mean=(0.1, 0.2), std=1.0)


def test_stratified_split():
    labels = np.repeat(np.arange(3), [10, 20, 5])
    keep, held = stratified_split(labels, 0.2, seed=4)
    assert np.bincount(labels[held]).tolist() == [2, 4, 1]
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(35))
    k2, h2 = stratified_split(labels, 0.2, seed=4)
    assert np.array_equal(h2, held) and not np.array_equal(stratified_split(labels, 0.2, seed=5)[1], held)
    with pytest.raises(ValueError, match=r"fraction must be a number strictly between 0 and 1"):
        stratified_split(labels, 1.0)


def test_registry_names_and_errors():
    assert list_datasets() == ["mnist", "fashion-mnist", "cifar10", "mnist-sample", "imagefolder:PATH"]
    with pytest.raises(
        ValueError,
        match=r"get_dataset: unknown dataset 'mnits'; choose one of mnist, fashion-mnist, "
        r"cifar10, mnist-sample, imagefolder:PATH\. Did you mean 'mnist'\? "
        r"Received: name='mnits'",
    ):
        get_dataset("mnits")
    with pytest.raises(ValueError, match=r"get_dataset: split must be 'train' or 'test'\. Received: split='val'"):
        get_dataset("mnist-sample", split="val")
    with pytest.raises(
        TypeError,
        match=r"unexpected option\(s\) image_size for 'mnist'; it accepts mirror, progress, "
        r"timeout",
    ):
        get_dataset("mnist", image_size=32)
    with pytest.raises(ValueError, match=r"'imagefolder:' needs a path"):
        get_dataset("imagefolder:")
    assert len(get_dataset("MNIST_sample", split="test")) == 2000  # aliases, any case


def test_data_dir_resolution(monkeypatch, tmp_path):
    need(MNIST_DIR)
    from convnp.data.download import default_data_dir, user_cache_dir

    monkeypatch.setenv("CONVNP_DATA", str(MNIST_DIR.parent))
    assert len(get_dataset("mnist", split="test", download=False)) == 10000  # $CONVNP_DATA
    assert len(get_dataset("mnist", data_dir=MNIST_DIR, split="test", download=False)) == 10000  # the folder itself
    monkeypatch.delenv("CONVNP_DATA")
    monkeypatch.delenv("CONVNP_CACHE")
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    for platform, where in (
        ("linux", ".cache/convnp"),
        ("darwin", "Library/Caches/convnp"),
        ("win32", "AppData/Local/convnp/Cache"),
    ):
        monkeypatch.setattr(sys, "platform", platform)
        assert user_cache_dir() == tmp_path / "home" / where
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "convnp" and default_data_dir() == user_cache_dir()
    with pytest.raises(FileNotFoundError, match=rf"not found in {tmp_path}/xdg/convnp/mnist and download=False"):
        get_dataset("mnist", download=False)
