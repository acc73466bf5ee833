"""Saliency equals finite differences; Grad-CAM equals a hand computation; upsampling equals PyTorch's."""

import numpy as np
import pytest
import torch
from inspect_nets import Branchy, randomize

from convnp.inspect import grad_cam, input_gradient, saliency, trace, upsample
from convnp.inspect.attribution import default_cam_layer
from convnp.models import lenet5
from convnp.nn import AdaptiveAvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential


def _scores(model, x):
    return trace(model, x).output.data


def _finite_differences(model, x, target, eps=1e-6):
    """Central differences of S_target(x_n) for every pixel of every image (batched: one forward per side)."""
    n, c, h, w = x.shape
    m = c * h * w
    grads = np.empty_like(x)
    for i in range(n):
        base = np.repeat(x[i : i + 1], m, axis=0).reshape(m, m)
        plus = (base + eps * np.eye(m)).reshape(m, c, h, w)
        minus = (base - eps * np.eye(m)).reshape(m, c, h, w)
        diff = _scores(model, plus)[:, target[i]] - _scores(model, minus)[:, target[i]]
        grads[i] = (diff / (2 * eps)).reshape(c, h, w)
    return grads


@pytest.mark.parametrize(
    "make, shape",
    [
        (
            lambda: Sequential(Conv2d(2, 3, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(3 * 3 * 4, 4)),
            (3, 2, 6, 8),
        ),
        (Branchy, (2, 1, 12, 12)),
    ],
)
def test_saliency_equals_finite_differences(make, shape):
    model = randomize(make(), seed=7).double()
    x = np.random.default_rng(8).standard_normal(shape)
    target = np.array([3, 0, 1][: shape[0]])
    g = input_gradient(model, x, target)
    np.testing.assert_allclose(g, _finite_differences(model, x, target), rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(saliency(model, x, target), np.abs(g).max(axis=1))
    # the default target is the predicted class
    pred = _scores(model, x).argmax(axis=1)
    np.testing.assert_array_equal(input_gradient(model, x), input_gradient(model, x, pred))


def _conv_by_hand(x, w, b):
    """Valid cross-correlation, loops over output positions (the lecture's definition)."""
    n, c, h, ww = x.shape
    k, _, kh, kw = w.shape
    out = np.zeros((n, k, h - kh + 1, ww - kw + 1))
    for i in range(h - kh + 1):
        for j in range(ww - kw + 1):
            patch = x[:, :, i : i + kh, j : j + kw]  # (N, C, kh, kw)
            out[:, :, i, j] = np.einsum("ncab,kcab->nk", patch, w) + b
    return out


def test_grad_cam_equals_a_hand_computation_with_a_linear_head():
    model = randomize(Sequential(Conv2d(1, 2, 3), ReLU(), Flatten(), Linear(2 * 4 * 5, 3)), seed=9).double()
    x = np.random.default_rng(10).standard_normal((2, 1, 6, 7))
    conv, lin = model[0], model[3]
    a = np.maximum(_conv_by_hand(x, conv.weight.data, conv.bias.data), 0)  # A: (N, 2, 4, 5)
    target = np.array([2, 1])
    for layer in ("1",):
        cam = grad_cam(model, x, target, layer)
        want = []
        for n in range(2):
            dyda = lin.weight.data[target[n]].reshape(2, 4, 5)  # y = W . flatten(A) + b
            alpha = dyda.mean(axis=(1, 2))  # (K,)
            want.append(np.maximum(np.tensordot(alpha, a[n], axes=1), 0))  # ReLU(sum_k alpha_k A^k)
        np.testing.assert_allclose(cam, np.array(want), rtol=1e-12, atol=1e-14)


def test_grad_cam_with_global_average_pooling_is_cam():
    # y_c = sum_k W[c, k] mean(A^k) + b  =>  alpha_k = W[c, k] / (h w): Grad-CAM is CAM up to 1/(h w)
    model = randomize(
        Sequential(Conv2d(3, 4, 3, padding=1), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(4, 5)), seed=11
    ).double()
    x = np.random.default_rng(12).standard_normal((3, 3, 5, 6))
    conv, lin = model[0], model[4]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    a = np.maximum(_conv_by_hand(xp, conv.weight.data, conv.bias.data), 0)  # (N, 4, 5, 6)
    cam, t = grad_cam(model, x, None, "1", return_target=True)
    np.testing.assert_array_equal(t, _scores(model, x).argmax(axis=1))
    want = np.maximum(np.einsum("nk,nkij->nij", lin.weight.data[t], a) / 30, 0)
    np.testing.assert_allclose(cam, want, rtol=1e-12, atol=1e-14)


def test_upsample_equals_pytorch_bilinear():
    maps = np.random.default_rng(13).random((2, 5, 3))
    for size in [(28, 28), (7, 4), (5, 3), (11, 17)]:
        want = torch.nn.functional.interpolate(
            torch.tensor(maps)[:, None], size=size, mode="bilinear", align_corners=False
        )[:, 0].numpy()
        np.testing.assert_allclose(upsample(maps, size), want, rtol=1e-12, atol=1e-14)


def test_default_layer_and_model_state():
    model = lenet5()
    x = np.random.default_rng(14).random((2, 1, 28, 28)).astype(np.float32)
    assert default_cam_layer(trace(model, x)) == "s4"
    model.train()
    cam = grad_cam(model, x, 3)
    assert cam.shape == (2, 5, 5) and np.all(cam >= 0)
    assert model.training and all(p.grad is None for p in model.parameters())


def test_bad_targets_and_models():
    model = Sequential(Conv2d(1, 2, 3), Flatten(), Linear(2 * 4 * 4, 3))
    x = np.zeros((2, 1, 6, 6), np.float32)
    with pytest.raises(
        ValueError, match=r"saliency: target must lie in \[0, 3\) for a model of 3 classes. Received: target=3"
    ):
        saliency(model, x, 3)
    with pytest.raises(ValueError, match=r"saliency: expected one target per image \(2\). Received: 3 targets"):
        saliency(model, x, [0, 1, 2])
    with pytest.raises(
        TypeError, match=r"grad_cam: target must be a class index or one per image. Received: target=1.5"
    ):
        grad_cam(model, x, 1.5, "0")
    with pytest.raises(
        ValueError, match=r"saliency: expected the model to return class scores of shape \(N, classes\)"
    ):
        saliency(Sequential(Conv2d(1, 2, 3)), x, 0)
    with pytest.raises(ValueError, match=r"grad_cam: layer '2' \(Linear\) gives no feature maps"):
        grad_cam(model, x, 0, "2")
