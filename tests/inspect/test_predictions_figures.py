"""Predictions, the confusion matrix and the figures: the numbers behind the pictures."""

import numpy as np
import pytest
import torch
from inspect_nets import randomize, vgg_like

from convnp import inspect
from convnp.inspect import figures
from convnp.nn import Conv2d, Flatten, Linear, Sequential

PNG = b"\x89PNG\r\n\x1a\n"


def _classifier():
    return randomize(Sequential(Conv2d(1, 3, 3), Flatten(), Linear(3 * 4 * 4, 5)), seed=1)


def test_softmax_and_top_k():
    z = np.random.default_rng(0).standard_normal((6, 7)) * 30
    np.testing.assert_allclose(inspect.softmax(z), torch.softmax(torch.tensor(z), 1).numpy(), rtol=1e-12)
    model = _classifier()
    x = np.random.default_rng(1).standard_normal((6, 1, 6, 6)).astype(np.float32)
    p = inspect.predictions(model, x, k=3, classes="a b c d e".split())
    probs = inspect.softmax(inspect.class_scores(model, x))
    for n in range(6):
        order = np.argsort(-probs[n], kind="stable")[:3]
        assert p.indices[n].tolist() == order.tolist()
        np.testing.assert_allclose(p.probs[n], probs[n, order])
    assert p.names()[0][0] == "abcde"[p.indices[0, 0]]
    with pytest.raises(ValueError, match=r"predictions: k must be a positive whole number. Received: k=0"):
        inspect.predictions(model, x, k=0)


def test_confusion_matrix_pairs_and_examples():
    rng = np.random.default_rng(2)
    model = _classifier()
    x = rng.standard_normal((97, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 5, 97)
    batches = [(x[i : i + 10], y[i : i + 10]) for i in range(0, 97, 10)]
    ev = inspect.evaluate_predictions(model, batches, 5, samples=6, pairs=4, examples=3)
    pred = inspect.class_scores(model, x).argmax(axis=1)
    want = np.zeros((5, 5), np.int64)
    for t, q in zip(y, pred):
        want[t, q] += 1
    np.testing.assert_array_equal(ev.confusion, want)
    assert ev.n == 97 and ev.correct == int((pred == y).sum())
    off = want.copy()
    np.fill_diagonal(off, 0)
    assert [c for _, _, c in ev.pairs] == sorted(off.ravel(), reverse=True)[:4]
    for t, q, _ in ev.pairs:
        ex = ev.pair_examples[(t, q)]
        idx = np.nonzero((y == t) & (pred == q))[0][:3]
        np.testing.assert_array_equal(ex, x[idx])  # the first images of that confusion
    assert len(ev.samples_x) == 6
    sp = inspect.class_scores(model, ev.samples_x).argmax(axis=1)
    assert (sp != ev.samples_y).sum() == 3  # half of the samples are mistakes
    assert inspect.most_confused(np.eye(3, dtype=int)) == []
    with pytest.raises(ValueError, match=r"evaluate_predictions: the loader must give \(images, labels\) batches"):
        inspect.evaluate_predictions(model, x)


def test_filter_images_are_normalised_per_filter():
    w = np.random.default_rng(3).standard_normal((5, 3, 4, 4))
    w[2] = 0.7  # a constant filter
    img = figures.filter_images(w)
    assert img.shape == (5, 4, 4, 3)  # colour for three input channels
    for k in (0, 1, 3, 4):
        assert img[k].min() == 0 and img[k].max() == 1
        np.testing.assert_allclose(img[k], ((w[k] - w[k].min()) / (w[k].max() - w[k].min())).transpose(1, 2, 0))
    assert np.all(img[2] == 0.5)
    assert figures.filter_images(np.ones((2, 6, 3, 3))).shape == (2, 6, 3, 3)  # per-channel slices otherwise
    f = inspect.filters(vgg_like(), "3")
    assert f.shape == (6, 4, 3, 3) and f.layer == "3" and f.weight.shape == (6, 4, 3, 3)
    with pytest.raises(
        ValueError,
        match=r"filters: layer '1' is a ReLU, not a convolution; conv layers: 0, 3, 6. "
        r"Received: layer='1'",
    ):
        inspect.filters(vgg_like(), "1")
    with pytest.raises(ValueError, match=r"filters: no layer named 'x' \(conv layers: 0, 3, 6\). Received: layer='x'"):
        inspect.filters(vgg_like(), "x")


def test_mosaic_puts_each_tile_in_its_place():
    tiles = np.random.default_rng(4).random((5, 2, 3, 3))
    tiles[4, 0, 0] = np.nan
    m = figures.mosaic(tiles, cols=2, pad=1)
    assert m.shape == (3 * 3 + 1, 2 * 4 + 1, 3)
    np.testing.assert_array_equal(m[1:3, 5:8], tiles[1])  # row 0, column 1
    np.testing.assert_array_equal(m[7, 1], figures._NAN_RGB)  # NaN -> the 'outside the image' colour
    np.testing.assert_array_equal(m[7:9, 5:8], np.ones((2, 3, 3)))  # the empty sixth place


def test_every_figure_draws(tmp_path):
    rng = np.random.default_rng(5)
    model = _classifier()
    x = rng.standard_normal((4, 1, 6, 6)).astype(np.float32)
    ev = inspect.evaluate_predictions(model, [(x, np.array([0, 1, 2, 3]))], 5, samples=4)
    tp = inspect.top_patches(model, x, "0", k=2, deconv=True)
    names = list("abcde")
    figs = [
        inspect.filters(model, "0").plot(),
        inspect.feature_maps(model, x, "0").plot("0", n=1),
        tp.plot(),
        tp.plot(projections=False, channels=[1]),
        figures.heatmap_figure(x, inspect.saliency(model, x), ["a"] * 4),
        figures.predictions_figure(ev.samples_x, ev.samples_y, ev.samples_top, names),
        figures.confusion_figure(ev.confusion, names),
        figures.confused_pairs_figure(ev.pairs, ev.pair_examples, names),
        figures.curves_figure(
            [
                {"epoch": 1, "train_loss": 1.0, "test_accuracy": 0.5},
                {"epoch": 2, "train_loss": 0.5, "test_accuracy": 0.7},
            ]
        ),
    ]
    for i, fig in enumerate(figs):
        data = figures.save_png(fig, tmp_path / f"{i}.png")
        assert data.startswith(PNG) and (tmp_path / f"{i}.png").read_bytes() == data
