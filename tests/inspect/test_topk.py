"""Streaming top-k patches equal a brute-force search, and each crop is the activation's receptive field."""

import numpy as np
import pytest
from inspect_nets import Branchy, vgg_like

from convnp.data import ArrayDataset, DataLoader
from convnp.inspect import StreamingTopK, feature_maps, receptive_field, top_patches
from convnp.models import lenet5


def brute_force(model, x, layer, k):
    """Per channel: every image's strongest position (first on ties), then the k best images
    (larger value first, earlier image on ties) -- by sorting everything."""
    act = feature_maps(model, x, layer)[layer].astype(np.float64)  # (N, C, h, w)
    n, c, h, w = act.shape
    flat = act.reshape(n, c, h * w)
    pos = flat.argmax(axis=2)  # (N, C)
    val = flat.max(axis=2)
    out_v, out_i, out_p = [], [], []
    for ch in range(c):
        order = sorted(range(n), key=lambda i: (-val[i, ch], i))[:k]
        out_v.append([val[i, ch] for i in order])
        out_i.append(order)
        out_p.append([(pos[i, ch] // w, pos[i, ch] % w) for i in order])
    return np.array(out_v), np.array(out_i), np.array(out_p)


def _batches(x, y, size):
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]


@pytest.mark.parametrize("batch", [1, 7, 50])
@pytest.mark.parametrize("layer, k", [("0", 9), ("2", 4), ("5", 9), ("6", 40)])
def test_streaming_topk_equals_brute_force(layer, k, batch):
    rng = np.random.default_rng(3)
    model = vgg_like(c_in=2).double()  # float64: batching does not reorder values
    x = rng.standard_normal((33, 2, 15, 13))
    x[5] = x[20]  # a tie between two images: the earlier wins
    y = rng.integers(0, 5, 33)
    tp = top_patches(model, _batches(x, y, batch), layer, k=k)
    v, i, p = brute_force(model, x, layer, k)
    kk = min(k, len(x))
    np.testing.assert_array_equal(tp.index[:, :kk], i)
    np.testing.assert_allclose(tp.values[:, :kk], v, rtol=1e-12)
    np.testing.assert_array_equal(tp.positions[:, :kk], p)
    np.testing.assert_array_equal(tp.labels[:, :kk], y[i])
    assert tp.images_seen == 33
    if k > len(x):  # slots never filled
        assert np.all(tp.index[:, kk:] == -1) and np.all(np.isneginf(tp.values[:, kk:]))
        assert np.all(np.isnan(tp.crops[:, kk:]))


def test_each_crop_is_the_receptive_field_of_its_activation():
    rng = np.random.default_rng(4)
    model = Branchy()
    x = rng.standard_normal((25, 1, 12, 12)).astype(np.float32)
    for layer in ("stem", "inc", "down"):
        tp = top_patches(model, x, layer, k=5)
        rf = receptive_field(model, layer, x.shape)
        rh, rw = rf.size
        assert tp.crops.shape == (tp.values.shape[0], 5, 1, rh, rw)
        for c in range(tp.values.shape[0]):
            for r in range(5):
                n, (yy, xx) = tp.index[c, r], tp.positions[c, r]
                y0, y1, x0, x1 = rf.box(yy, xx)
                ny0, _, nx0, _ = rf.nominal_box(yy, xx)
                assert tuple(tp.boxes[c, r]) == (y0, y1, x0, x1)
                crop = tp.crops[c, r, 0]
                inside = crop[y0 - ny0 : y1 - ny0, x0 - nx0 : x1 - nx0]
                np.testing.assert_array_equal(inside, x[n, 0, y0:y1, x0:x1])  # the field, pixel for pixel
                outside = np.ones_like(crop, dtype=bool)
                outside[y0 - ny0 : y1 - ny0, x0 - nx0 : x1 - nx0] = False
                assert np.all(np.isnan(crop[outside]))  # clipped at the border
    assert np.isnan(tp.crops).all(axis=(2, 3, 4)).sum() == 0  # no crop is empty ...
    assert np.isnan(tp.crops).any(axis=(2, 3, 4)).all()  # ... and every field of 'down' is clipped


def test_streaming_buffer_directly_and_memory_stays_bounded():
    rng = np.random.default_rng(5)
    heap = StreamingTopK(3, 4)
    values = rng.integers(0, 6, (40, 3)).astype(float)  # many ties
    values[7, 1] = np.nan  # NaN counts as -inf
    for s in range(0, 40, 6):
        heap.push(values[s : s + 6], np.arange(s, min(s + 6, 40)))
        assert heap.values.shape == (3, 4) and heap.slot.shape == (3, 4)
        assert sorted(heap.slot[0].tolist()) == [0, 1, 2, 3]  # payload slots are reused, never grown
    v = np.where(np.isnan(values), -np.inf, values)
    for c in range(3):
        want = sorted(range(40), key=lambda i: (-v[i, c], i))[:4]
        assert heap.index[c].tolist() == want


def test_dataloader_limit_channels_deconv_and_plot():
    rng = np.random.default_rng(6)
    images = rng.integers(0, 256, (60, 3, 16, 16)).astype(np.uint8)
    ds = ArrayDataset(images, rng.integers(0, 4, 60))
    loader = DataLoader(ds, 16)
    model = vgg_like()
    tp = top_patches(model, loader, "3", k=3, channels=[1, 4], limit=37, deconv=True, mean=[0.5] * 3, std=[0.25] * 3)
    assert tp.images_seen == 37 and tp.index.max() < 37 and tp.channels.tolist() == [1, 4]
    assert tp.projections.shape == tp.crops.shape
    full = top_patches(model, images[:37].astype(np.float32) / 255, "3", k=3)
    np.testing.assert_array_equal(tp.index, full.index[[1, 4]])
    # the projection of the activation of image n, cut to the same field, is what deconv gives
    from convnp.inspect import deconv

    c, r = 1, 0
    n = tp.index[c, r]
    proj = deconv(model, images[n : n + 1].astype(np.float32) / 255, "3", 4, position=tuple(tp.positions[c, r]))
    y0, y1, x0, x1 = tp.boxes[c, r]
    ny0, _, nx0, _ = tp.field.nominal_box(*tp.positions[c, r])
    np.testing.assert_allclose(
        tp.projections[c, r][:, y0 - ny0 : y1 - ny0, x0 - nx0 : x1 - nx0],
        proj[0][:, y0:y1, x0:x1],
        rtol=1e-5,
        atol=1e-7,
    )
    # projections from the crops alone equal projections from the whole images, through branches too
    bx = rng.standard_normal((12, 1, 12, 12)).astype(np.float32)
    for net, layer in ((Branchy(), "inc"), (Branchy(), "down"), (lenet5(), "c3")):
        xs = bx if layer != "c3" else np.pad(bx, ((0, 0), (0, 0), (8, 8), (8, 8)))
        t = top_patches(net, xs, layer, k=3, deconv=True)
        for c in range(len(t.channels)):
            for r in range(3):
                n, (yy, xx) = t.index[c, r], t.positions[c, r]
                full = deconv(net, xs[n : n + 1], layer, c, position=(yy, xx))
                y0, y1, x0, x1 = t.boxes[c, r]
                ny0, _, nx0, _ = t.field.nominal_box(yy, xx)
                np.testing.assert_allclose(
                    t.projections[c, r][:, y0 - ny0 : y1 - ny0, x0 - nx0 : x1 - nx0],
                    full[0][:, y0:y1, x0:x1],
                    rtol=1e-4,
                    atol=1e-6,
                )
    both = top_patches(model, loader, ["0", "3"], k=2, limit=20)
    assert set(both) == {"0", "3"}
    fig = tp.plot()
    assert fig.axes


def test_bad_arguments():
    x = np.zeros((4, 3, 8, 8), np.float32)
    model = vgg_like()
    with pytest.raises(ValueError, match=r"top_patches: k must be a positive whole number. Received: k=0"):
        top_patches(model, x, "0", k=0)
    with pytest.raises(ValueError, match=r"top_patches: channels must lie in \[0, 4\) .*Received: channels=\[9\]"):
        top_patches(model, x, "0", channels=[9])
    with pytest.raises(ValueError, match=r"top_patches: limit must be a positive whole number .*Received: limit=-1"):
        top_patches(model, x, "0", limit=-1)
    with pytest.raises(ValueError, match=r"top_patches: the loader gave no images"):
        top_patches(model, iter([]), "0")
    with pytest.raises(ValueError, match=r"gives no feature maps.*Received: output shape"):
        top_patches(Branchy(), np.zeros((2, 1, 12, 12), np.float32), "head")
    with pytest.raises(TypeError, match=r"top_patches: expected a convnp Module. Received: str"):
        top_patches("model", x, "0")
