"""Deconvnet and guided backprop: inside the receptive field only, equal to the layer-by-layer
deconvnet, and equal to PyTorch running the same rules."""

import numpy as np
import pytest
import torch
from inspect_nets import Branchy, randomize, vgg_like

from convnp.inspect import deconv, deconv_layers, feature_maps, guided_backprop, project, receptive_field
from convnp.models import lenet5


def _all_positions(model, x, layer):
    """The image repeated once per output position, those positions, and the most active channel."""
    act = feature_maps(model, x, layer)[layer]
    _, _, h, w = act.shape
    ys, xs = np.divmod(np.arange(h * w), w)
    channel = int(np.argmax(act[0].reshape(act.shape[1], -1).max(axis=1)))
    return np.repeat(x, h * w, axis=0), np.stack([ys, xs], axis=1), channel


@pytest.mark.parametrize(
    "make, shape, layer",
    [
        (vgg_like, (1, 3, 19, 17), "2"),
        (vgg_like, (1, 3, 19, 17), "5"),
        (vgg_like, (1, 3, 19, 17), "7"),
        (Branchy, (1, 1, 12, 12), "res"),
        (Branchy, (1, 1, 12, 12), "inc"),
        (Branchy, (1, 1, 12, 12), "down"),
        (lenet5, (1, 1, 28, 28), "c3"),
        (lenet5, (1, 1, 28, 28), "s4"),
    ],
)
@pytest.mark.parametrize("mode", ["deconvnet", "guided", "gradient"])
def test_projection_of_one_activation_is_zero_outside_its_receptive_field(make, shape, layer, mode):
    model = randomize(make(), seed=1).double()
    x = np.random.default_rng(2).standard_normal(shape)
    xs, pos, channel = _all_positions(model, x, layer)
    proj = project(model, xs, layer, channel, pos, mode=mode)  # (P, C, H, W), one per position
    rf = receptive_field(model, layer, shape)
    inside = np.zeros(proj.shape, dtype=bool)
    for p, (yy, xx) in enumerate(pos):
        y0, y1, x0, x1 = rf.box(yy, xx)
        inside[p, :, y0:y1, x0:x1] = True
    assert np.all(proj[~inside] == 0)
    assert np.count_nonzero(proj) > 0  # not trivially zero


@pytest.mark.parametrize("layer", ["0", "2", "4", "5", "7"])
def test_deconv_through_the_graph_equals_the_layer_by_layer_deconvnet(layer):
    model = randomize(vgg_like(), seed=3).double()
    x = np.random.default_rng(4).standard_normal((4, 3, 21, 18))
    a = deconv(model, x, layer, [0, 1, 2, 3])  # strongest activation per image
    b = deconv_layers(model, x, layer, [0, 1, 2, 3])
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert np.abs(a).max() > 0


class _TorchRule(torch.autograd.Function):
    mode = "deconvnet"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if _TorchRule.mode == "deconvnet":
            return g.clamp(min=0)
        if _TorchRule.mode == "guided":
            return g.clamp(min=0) * (x > 0)
        return g * (x > 0)


def _torch_projection(model, x, layer_index, channel, mode):
    """The same vgg_like network in PyTorch with the ReLU's backward replaced by the mode's rule."""
    _TorchRule.mode = mode
    t = torch.tensor(x, requires_grad=True)
    h = t
    for i, m in enumerate(model):
        name = type(m).__name__
        if name == "Conv2d":
            h = torch.nn.functional.conv2d(
                h, torch.tensor(m.weight.data), torch.tensor(m.bias.data), m.stride, m.padding, m.dilation, m.groups
            )
        elif name == "ReLU":
            h = _TorchRule.apply(h)
        elif name == "MaxPool2d":
            h = torch.nn.functional.max_pool2d(h, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)
        if i == layer_index:
            break
    a = h.detach().numpy()
    n, _, hh, ww = a.shape
    flat = a[np.arange(n), channel].reshape(n, -1).argmax(axis=1)
    seed = np.zeros_like(a)
    seed[np.arange(n), channel, flat // ww, flat % ww] = a[np.arange(n), channel, flat // ww, flat % ww]
    h.backward(torch.tensor(seed))
    return t.grad.numpy()


@pytest.mark.parametrize("mode", ["deconvnet", "guided", "gradient"])
@pytest.mark.parametrize("layer", ["4", "7"])
def test_projections_match_pytorch_running_the_same_rules(mode, layer):
    model = randomize(vgg_like(), seed=5).double()
    x = np.random.default_rng(6).standard_normal((3, 3, 17, 20))
    ours = project(model, x, layer, [2, 0, 1], mode=mode)
    theirs = _torch_projection(model, x, int(layer), np.array([2, 0, 1]), mode)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    if mode == "guided":
        np.testing.assert_array_equal(guided_backprop(model, x, layer, [2, 0, 1]), ours)


def test_the_model_is_left_as_it_was():
    model = vgg_like()
    model.train()
    before = [p.requires_grad for p in model.parameters()]
    deconv(model, np.ones((1, 3, 12, 12), np.float32), "4", 0)
    assert model.training and all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == before
    assert all(p.grad is None for p in model.parameters())


def test_bad_arguments():
    model = vgg_like()
    x = np.ones((2, 3, 12, 12), np.float32)
    with pytest.raises(ValueError, match=r"deconv: channel must lie in \[0, 4\) .*Received: channel=4"):
        deconv(model, x, "0", 4)
    with pytest.raises(
        ValueError, match=r"deconv: position must lie inside the 12x12 feature map. Received: position=\(12, 0\)"
    ):
        deconv(model, x, "0", 1, position=(12, 0))
    with pytest.raises(
        ValueError, match=r"project: mode must be one of deconvnet, guided, gradient. Received: mode='x'"
    ):
        project(model, x, "0", 1, mode="x")
    with pytest.raises(ValueError, match=r"deconv_layers: the layers from the input to 'res' are not a plain chain"):
        deconv_layers(Branchy(), np.ones((1, 1, 12, 12), np.float32), "res", 0)
    with pytest.raises(
        ValueError, match=r"expected images of shape \(N, C, H, W\) or \(C, H, W\). Received: shape \(12, 12\)"
    ):
        deconv(model, np.ones((12, 12)), "0", 0)
