"""Every inspection function on every family of the model zoo, at a small input size.

LeNet-5 (functional padding, a shared activation, LeNet's subsampling and connection table), VGG
(a plain chain), GoogLeNet (Inception concatenations), ResNet (residual additions; option-A
shortcuts that slice and pad), AlexNet / ZFNet / TinyVGG. For the branching families a few
one-pixel probes check the receptive fields through the branches.
"""

import numpy as np
import pytest
from inspect_nets import positive

from convnp import inspect
from convnp.arraymath import random as _random
from convnp.inspect.maps import conv_layers
from convnp.models import get_model
from convnp.nn import init

# name, constructor arguments, input (C, H, W), two layers to look at (the second inside a branch/addition)
ZOO = [
    ("lenet5", dict(), (1, 28, 28), ["c1", "c3"]),
    ("lenet5", dict(variant="original"), (1, 32, 32), ["c1", "c3"]),
    ("vgg11", dict(num_classes=10, init_weights=False), (3, 32, 32), ["features.0", "features.6"]),
    ("googlenet", dict(num_classes=10, aux_logits=False, init_weights=False), (3, 32, 32), ["conv1", "inception3a"]),
    ("resnet18", dict(num_classes=10), (3, 32, 32), ["conv1", "layer2.0"]),
    ("resnet20", dict(num_classes=10), (3, 16, 16), ["conv1", "layer2.0"]),
    ("tinyvgg", dict(input_size=20), (3, 20, 20), ["block1.0", "block2.2"]),
    ("alexnet", dict(num_classes=10), (3, 63, 63), ["features.0", "features.3"]),
    ("zfnet", dict(num_classes=10), (3, 64, 64), ["features.0", "features.5"]),
]


def _fast_uniform_(tensor, a=0.0, b=1.0, generator=None):
    """init.uniform_ drawing in the parameter's own dtype: the same U(a, b), without the float64
    temporary that makes VGG's 100-million-weight classifier take seconds to build."""
    arr = tensor.data
    arr[...] = _random.resolve(generator).random(arr.shape, dtype=arr.dtype) * (b - a) + a
    return tensor


@pytest.fixture(scope="module")
def models():
    cache = {}

    def get(name, kwargs):
        key = (name, tuple(sorted(kwargs.items())))
        if key not in cache:
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(init, "uniform_", _fast_uniform_)
                cache[key] = get_model(name, **kwargs)
        return cache[key]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs, shape, layers", ZOO, ids=[f"{z[0]}-{i}" for i, z in enumerate(ZOO)])
def test_every_inspection_function(models, name, kwargs, shape, layers):
    model = models(name, kwargs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3,) + shape).astype(np.float32)
    first, deep = layers

    f = inspect.filters(model, conv_layers(model)[0])
    assert f.shape[0] == f.weight.shape[0] and 0 <= f.min() and f.max() <= 1
    assert f.plot().axes

    fm = inspect.feature_maps(model, x, layers)
    assert fm[first].shape[0] == 3 and fm[deep].ndim == 4

    fields = inspect.receptive_fields(model, x.shape)
    assert all(rf.exact for rf in fields.values()), [k for k, rf in fields.items() if not rf.exact]
    assert fields[deep].size[0] > fields[first].size[0]

    tp = inspect.top_patches(model, x, layers, k=2, channels=[0, 1, 3], deconv=True)
    for layer in layers:
        assert tp[layer].values.shape == (3, 2)
        assert np.all(tp[layer].index >= 0)
        assert tp[layer].crops.shape[-2:] == fields[layer].size

    c = int(np.argmax(fm[deep][0].reshape(fm[deep].shape[1], -1).max(axis=1)))
    for fn in (inspect.deconv, inspect.guided_backprop):
        proj = fn(model, x[:1], deep, c)
        yx = np.unravel_index(np.argmax(fm[deep][0, c]), fm[deep].shape[2:])
        y0, y1, x0, x1 = fields[deep].box(*yx)
        outside = np.ones(proj.shape, bool)
        outside[..., y0:y1, x0:x1] = False
        assert np.all(proj[outside] == 0)

    sal = inspect.saliency(model, x, 1)
    assert sal.shape == (3,) + shape[1:] and np.isfinite(sal).all()
    cam = inspect.grad_cam(model, x, None)
    assert cam.ndim == 3 and np.all(cam >= 0)
    cam2 = inspect.grad_cam(model, x, 2, deep)
    assert cam2.shape == (3,) + fm[deep].shape[2:]

    conv = conv_layers(model)[1]
    out = inspect.feature_maps(model, x, conv)[conv]
    e = inspect.explain_output(model, x, conv, n=2, c=1, y=out.shape[2] // 2, x=0, show=False)
    assert e.sum == pytest.approx(float(out[2, 1, out.shape[2] // 2, 0]), rel=1e-4, abs=1e-5)

    p = inspect.predictions(model, x, k=5)
    assert p.indices.shape == (3, 5) and np.allclose(p.probs.sum(axis=1) <= 1 + 1e-9, True)


@pytest.mark.parametrize(
    "name, kwargs, shape, layer",
    [
        ("googlenet", dict(num_classes=10, aux_logits=False, init_weights=False), (3, 32, 32), "inception3a"),
        ("resnet18", dict(num_classes=10), (3, 32, 32), "layer1.1"),
        ("resnet20", dict(num_classes=10), (3, 16, 16), "layer2.0"),
    ],
)
def test_probes_through_concatenations_and_additions(name, kwargs, shape, layer):
    """Positive weights, positive pixels: a big probe changes exactly the outputs whose field covers it."""
    model = positive(get_model(name, **kwargs), seed=1).double()  # float64: far probes change outputs by 1e-5
    rf = inspect.receptive_field(model, layer, (1,) + shape)
    x = np.random.default_rng(1).uniform(0.1, 1, (1,) + shape)
    h, w = shape[1:]
    pixels = [(0, 0), (h // 2, w // 3), (h - 1, w - 1), (3, w - 2)]
    base = inspect.feature_maps(model, x, layer)[layer]
    probes = np.repeat(x, len(pixels), axis=0)
    for i, (py, px) in enumerate(pixels):
        probes[i, :, py, px] += 1e3
    out = inspect.feature_maps(model, probes, layer)[layer]
    changed = np.abs(out - base).max(axis=1) > 1e-12 * np.abs(base).max()  # (P, h', w')
    for i, (py, px) in enumerate(pixels):
        covers = ((rf.lo[0] <= py) & (py <= rf.hi[0]))[:, None] & ((rf.lo[1] <= px) & (px <= rf.hi[1]))[None, :]
        np.testing.assert_array_equal(changed[i], covers, err_msg=f"{name} {layer} probe {(py, px)}")
