"""Batch transforms against per-image references written with plain loops."""

import numpy as np
import pytest

from convnp.data import transforms as T

DTYPES = [np.float32, np.float64]


def batch(n=9, c=3, h=7, w=10, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype) + 0.5  # no zeros: fills are visible


def gen(seed=123):
    return np.random.default_rng(seed)


ALL = [
    lambda: T.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7)),
    lambda: T.RandomHorizontalFlip(),
    lambda: T.RandomCrop(5, padding=2),
    lambda: T.RandomCrop((6, 4)),
    lambda: T.RandomShift(2),
    lambda: T.RandomErasing(p=0.7),
    lambda: T.RandomErasing(p=1.0, value="random"),
    lambda: T.Compose([T.RandomShift(1), T.RandomHorizontalFlip()]),
    lambda: T.RandomApply([T.RandomShift(2)], p=0.5),
    lambda: T.RandomChoice([T.RandomShift(1), T.RandomHorizontalFlip(1.0), T.RandomErasing(1.0)]),
    lambda: T.preset("standard", mean=(0.5,) * 3, std=(0.2,) * 3),
    lambda: T.preset("none"),
]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_shape_reproducibility(make, dtype):
    x = batch(dtype=dtype)
    before = x.copy()
    t = make()
    y1, y2 = t(x, generator=gen(5)), t(x, generator=gen(5))
    assert y1.dtype == dtype and y1.ndim == 4 and y1.shape[:2] == x.shape[:2]
    assert np.array_equal(y1, y2)  # same seed, same batch
    assert np.array_equal(x, before)  # the input is never modified
    if not isinstance(t, (T.Normalize, T.Identity)):
        outs = [t(x, generator=gen(s)) for s in range(6)]
        assert any(not np.array_equal(outs[0], o) for o in outs[1:])  # and other seeds differ


def test_generator_precedence(monkeypatch):
    import convnp

    x = batch()
    own = T.RandomShift(2, generator=gen(1))
    assert np.array_equal(own(x, generator=gen(2)), T.RandomShift(2)(x, generator=gen(1)))
    convnp.manual_seed(7)
    a = T.RandomCrop(5, padding=1)(x)
    convnp.manual_seed(7)
    assert np.array_equal(a, T.RandomCrop(5, padding=1)(x))  # the default generator, reseeded


def test_normalize():
    x = batch(c=2, dtype=np.float64)
    y = T.Normalize((0.25, 0.5), (2.0, 4.0))(x)
    assert np.allclose(y[:, 0], (x[:, 0] - 0.25) / 2) and np.allclose(y[:, 1], (x[:, 1] - 0.5) / 4)
    assert np.allclose(T.Normalize(0.5, 0.25)(x), (x - 0.5) / 0.25)
    with pytest.raises(ValueError, match=r"Normalize: mean has 3 values but the batch has 2 channels"):
        T.Normalize((0.1, 0.2, 0.3), (1.0, 1.0, 1.0))(x)
    with pytest.raises(ValueError, match=r"Normalize: std must be positive .* Received: mean=\[0\.0\], std=\[0\.0\]"):
        T.Normalize(0.0, 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_flip_mirrors_the_chosen_images(dtype):
    x = batch(n=16, dtype=dtype)
    t = T.RandomHorizontalFlip(0.5)
    flip = t.sample(x, gen(3))
    y = t(x, generator=gen(3))
    assert 0 < flip.sum() < 16
    for n in range(16):
        assert np.array_equal(y[n], x[n, :, :, ::-1] if flip[n] else x[n])
    assert np.array_equal(T.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    assert np.array_equal(T.RandomHorizontalFlip(0.0)(x), x)


@pytest.mark.parametrize("size, padding", [(5, 2), ((7, 10), 0), ((3, 8), 1), (None, 4), ((9, 14), 2)])
def test_crop_moves_content_by_the_drawn_offsets(size, padding):
    x = batch(n=12)
    t = T.RandomCrop(size, padding=padding)
    top, left = t.sample(x, gen(4))
    y = t(x, generator=gen(4))
    h, w = (x.shape[2], x.shape[3]) if size is None else ((size, size) if isinstance(size, int) else size)
    assert y.shape == (12, 3, h, w)
    padded = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    for n in range(12):
        assert np.array_equal(y[n], padded[n, :, top[n] : top[n] + h, left[n] : left[n] + w])
    assert len(set(zip(top.tolist(), left.tolist()))) > 1 or (top.max() == 0 and left.max() == 0)


def test_crop_offsets_cover_the_range():
    x = batch(n=4000, c=1, h=4, w=4)
    top, left = T.RandomCrop(4, padding=2).sample(x, gen(0))
    assert set(top.tolist()) == set(range(5)) and set(left.tolist()) == set(range(5))


@pytest.mark.parametrize("m", [1, 2, 3])
def test_shift_moves_content_by_the_drawn_offsets(m):
    x = batch(n=20, h=6, w=8)
    t = T.RandomShift(m)
    dy, dx = t.sample(x, gen(9))
    y = t(x, generator=gen(9))
    assert set(dy.tolist()) <= set(range(-m, m + 1)) and dy.min() < 0 < dy.max()
    H, W = x.shape[2:]
    for n in range(20):
        ref = np.zeros_like(x[n])
        for a in range(H):
            for b in range(W):
                if 0 <= a - dy[n] < H and 0 <= b - dx[n] < W:
                    ref[:, a, b] = x[n, :, a - dy[n], b - dx[n]]
        assert np.array_equal(y[n], ref)
    # A single bright pixel lands at (r + dy, c + dx).
    dot = np.zeros((20, 1, 10, 10), np.float32)
    dot[:, 0, 5, 4] = 1
    moved = t(dot, generator=gen(9))
    for n in range(20):
        assert moved[n, 0, 5 + dy[n], 4 + dx[n]] == 1 and moved[n].sum() == 1


@pytest.mark.parametrize("value", [0, 0.5, (1.0, 2.0, 3.0), "random"])
def test_erasing_region(value):
    x = batch(n=40, h=12, w=15)
    t = T.RandomErasing(p=0.6, value=value)
    erase, top, left, h, w, noise = t.sample(x, gen(11))
    y = t(x, generator=gen(11))
    assert 0 < erase.sum() < 40
    fill = np.broadcast_to(np.asarray(value, np.float32).reshape(1, -1, 1, 1), x.shape) if value != "random" else noise
    for n in range(40):
        box = np.zeros((12, 15), bool)
        if erase[n]:
            box[top[n] : top[n] + h[n], left[n] : left[n] + w[n]] = True
            area = h[n] * w[n] / (12 * 15)
            assert 0 < h[n] < 12 and 0 < w[n] < 15 and 0.0 < area < 0.45
        assert np.array_equal(y[n][:, box], fill[n][:, box])
        assert np.array_equal(y[n][:, ~box], x[n][:, ~box])


def test_random_apply_and_choice():
    x = batch(n=30)
    y = T.RandomApply([T.RandomHorizontalFlip(1.0)], p=0.5)(x, generator=gen(2))
    flipped = [np.array_equal(y[n], x[n, :, :, ::-1]) for n in range(30)]
    kept = [np.array_equal(y[n], x[n]) for n in range(30)]
    assert all(f != k for f, k in zip(flipped, kept)) and 0 < sum(flipped) < 30
    z = T.RandomChoice([T.Normalize(0.0, 0.5), T.RandomHorizontalFlip(1.0)])(x, generator=gen(2))
    doubled = [np.allclose(z[n], 2 * x[n]) for n in range(30)]
    mirrored = [np.array_equal(z[n], x[n, :, :, ::-1]) for n in range(30)]
    assert all(d != m for d, m in zip(doubled, mirrored)) and 0 < sum(doubled) < 30
    with pytest.raises(ValueError, match=r"RandomApply: the wrapped transforms must keep the image shape"):
        T.RandomApply(T.RandomCrop(3), p=1.0)(x)
    with pytest.raises(ValueError, match=r"RandomChoice: p must hold one probability per transform, summing to 1"):
        T.RandomChoice([T.Identity(), T.Identity()], p=[0.2, 0.2])


def test_presets():
    assert isinstance(T.preset("shift"), T.RandomShift) and T.preset("shift").max_pixels == 2
    assert isinstance(T.preset("flip"), T.RandomHorizontalFlip)
    std = T.preset("standard", size=32)
    assert [type(t) for t in std.transforms] == [T.RandomCrop, T.RandomHorizontalFlip]
    assert std.transforms[0].padding == 4 and std.transforms[0].size == (32, 32)
    x = batch(n=2)
    assert T.preset("none")(x) is x
    with pytest.raises(
        ValueError,
        match=r"preset: unknown augmentation 'crop'; choose one of none, shift, flip, "
        r"standard\. Received: name='crop'",
    ):
        T.preset("crop")
    with pytest.raises(ValueError, match=r"preset: give both mean and std"):
        T.preset("flip", mean=(0.5,))


def test_bad_inputs():
    with pytest.raises(
        ValueError,
        match=r"RandomShift: expected a float batch of shape \(N, C, H, W\).* Received: "
        r"array of shape \(28, 28\) and dtype float32",
    ):
        T.RandomShift(2)(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: expected a float batch .* dtype uint8"):
        T.RandomHorizontalFlip()(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(
        ValueError,
        match=r"RandomCrop: the crop size 9x9 is larger than the padded input 8x8 \(6x6 "
        r"plus padding 1 on every side\)",
    ):
        T.RandomCrop(9, padding=1)(np.zeros((1, 1, 6, 6), np.float32))
    with pytest.raises(ValueError, match=r"RandomCrop: padding must be a non-negative int"):
        T.RandomCrop(3, padding=-1)
    with pytest.raises(
        ValueError, match=r"RandomHorizontalFlip: p must be a probability in \[0, 1\]\. Received: p=1\.5"
    ):
        T.RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match=r"RandomErasing: scale must be \(min, max\)"):
        T.RandomErasing(scale=(0.5, 0.1))
    with pytest.raises(ValueError, match=r"RandomErasing: value must be a number, one number per channel, or 'random'"):
        T.RandomErasing(value="noise")
    with pytest.raises(TypeError, match=r"RandomShift: generator must be a numpy\.random\.Generator"):
        T.RandomShift(2, generator=42)
