"""explain_output: the hand computation sums to the layer's actual output value."""

import itertools

import numpy as np
import pytest

from convnp.inspect import explain_output, feature_maps
from convnp.models import lenet5
from convnp.nn import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Tanh


def _corners_and_middle(shape):
    h, w = shape
    return sorted({(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2)})


CONVS = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=4, kernel_size=(3, 2), stride=(2, 3), padding=(1, 2)),
    dict(in_channels=2, out_channels=3, kernel_size=3, dilation=2, padding=3, stride=2),
    dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, padding=1),
    dict(in_channels=2, out_channels=2, kernel_size=4, padding="same"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding=1, padding_mode="reflect"),
    dict(in_channels=1, out_channels=2, kernel_size=7, padding=0),  # kernel as large as the input
]


@pytest.mark.parametrize("cfg", CONVS)
def test_conv_explanation_sums_to_the_output(cfg):
    rng = np.random.default_rng(0)
    model = Sequential(Conv2d(**cfg), ReLU()).double()
    x = rng.standard_normal((2, cfg["in_channels"], 7, 9 if cfg["kernel_size"] != 7 else 7))
    out = feature_maps(model, x, ["0", "1"])
    n_out = out["0"].shape
    for (y, xx), c, n in itertools.product(_corners_and_middle(n_out[2:]), range(n_out[1]), (1,)):
        e = explain_output(model, x, "0", n=n, c=c, y=y, x=xx, show=False)
        assert e.output == out["0"][n, c, y, xx]
        assert e.sum == pytest.approx(e.output, rel=1e-12, abs=1e-12)
        np.testing.assert_array_equal(e.products, e.patch * e.kernel)
        assert e.sum == pytest.approx(e.products.sum() + e.bias, rel=1e-12, abs=1e-15)
        assert e.activated == out["1"][n, c, y, xx] and e.activation == "1 (ReLU)"


def test_the_patch_is_the_zero_padded_input_under_the_kernel():
    rng = np.random.default_rng(1)
    model = Sequential(Conv2d(2, 3, 3, stride=2, padding=2, dilation=2)).double()
    x = rng.standard_normal((1, 2, 8, 8))
    e = explain_output(model, x, "0", c=1, y=0, x=3, show=False)
    xp = np.pad(x[0], ((0, 0), (2, 2), (2, 2)))
    np.testing.assert_array_equal(e.patch, xp[:, 0:5:2, 6:11:2])  # rows 2*0 + 2a, cols 2*3 + 2b
    np.testing.assert_array_equal(e.kernel, model[0].weight.data[1])
    assert e.rows.tolist() == [-2, 0, 2] and e.cols.tolist() == [4, 6, 8]


@pytest.mark.parametrize("variant", ["modern", "original"])
def test_lenet5_layers(variant):
    rng = np.random.default_rng(2)
    model = lenet5(variant=variant).double()
    x = rng.random((2, 1, 28, 28))
    out = feature_maps(model, x, ["c1", "c3", "c5", "f6", "output"])
    for layer, idx in [
        ("c1", (1, 2, 5, 7)),
        ("c1", (0, 5, 0, 27)),
        ("c3", (1, 9, 4, 0)),
        ("c3", (0, 15, 9, 9)),
        ("c5", (1, 100, 0, 0)),
        ("f6", (0, 3)),
        ("output", (1, 9)),
    ]:
        kw = dict(zip("ncyx", idx))
        e = explain_output(model, x, layer, show=False, **kw)
        assert e.output == out[layer][idx]
        assert e.sum == pytest.approx(e.output, rel=1e-12, abs=1e-12), (layer, idx)


def test_pooling_and_linear():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    for pool in (
        MaxPool2d(3, stride=2, padding=1),
        MaxPool2d(2, ceil_mode=True),
        AvgPool2d(3, stride=2, padding=1),
        AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
        AvgPool2d(2, ceil_mode=True),
        AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
    ):
        model = Sequential(pool)
        out = feature_maps(model, x, "0")["0"]
        for y, xx in _corners_and_middle(out.shape[2:]):
            e = explain_output(model, x, "0", n=1, c=2, y=y, x=xx, show=False)
            assert e.sum == pytest.approx(out[1, 2, y, xx], rel=1e-12, abs=1e-14), (pool, y, xx)
    model = Sequential(Flatten(), Linear(3 * 7 * 6, 5), Tanh()).double()
    e = explain_output(model, x, "1", n=1, c=4, show=False)
    assert e.sum == pytest.approx(e.output, rel=1e-12) and e.activated == pytest.approx(np.tanh(e.output))


def test_the_printout(capsys):
    model = Sequential(Conv2d(1, 2, 3, padding=1), ReLU())
    x = np.random.default_rng(4).standard_normal((1, 1, 5, 5)).astype(np.float32)
    e = explain_output(model, x, layer="0", n=0, c=1, y=2, x=3)
    text = capsys.readouterr().out
    assert text.strip() == str(e)
    for word in ("patch", "x kernel", "= products", "+ bias", "= sum", "the layer's output", "after the activation"):
        assert word in text
    assert f"{e.sum: .4f}" in text


def test_bad_arguments():
    model = Sequential(Conv2d(1, 2, 3), ReLU())
    x = np.zeros((2, 1, 5, 5), np.float32)
    with pytest.raises(
        ValueError,
        match=r"explain_output: c must be an index in \[0, 2\) for layer '0' of output "
        r"shape \(2, 2, 3, 3\). Received: c=2",
    ):
        explain_output(model, x, "0", c=2)
    with pytest.raises(ValueError, match=r"explain_output: n must be an index in \[0, 2\) .*Received: n=5"):
        explain_output(model, x, "0", n=5)
    with pytest.raises(
        ValueError,
        match=r"explain_output: layer '1' is a ReLU; explain_output explains a "
        r"convolution, a linear layer or a max / average pooling. Received: layer='1'",
    ):
        explain_output(model, x, "1")
    with pytest.raises(KeyError, match=r"no layer named '9'"):
        explain_output(model, x, "9")
