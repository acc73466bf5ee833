"""`convnp explain`: the lectures' worked numbers (issue 5, Done means 5), checked against PyTorch's
layers for the sizes and parameter counts."""

import argparse
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as tnn

from convnp.cli import explain as cli_explain
from convnp.cli.common import CLIError
from convnp.explain import explain_conv, explain_fc, explain_pool, parse_padding, parse_pair, parse_volume


# --------------------------------------------------------------------------------------------
# The lectures' examples
# --------------------------------------------------------------------------------------------
def test_ten_5x5_filters_on_32x32x3():
    e = explain_conv("32x32x3", filters=10, kernel=5, stride=1, padding=2)
    assert e.output == (32, 32, 10) and e.fits
    assert e.params == 760 and e.weights == 750 and e.biases == 10
    text = str(e)
    assert "(32 - 5 + 2*2) / 1 + 1 = 32" in text
    assert "output volume: 32x32x10" in text
    assert "F*F*C*K + K = 5*5*3*10 + 10 = 760" in text
    assert "each filter 5*5*3 + 1 = 76" in text
    assert e.connections == 76 * 32 * 32 * 10 and "778,240" in text
    assert e.receptive_field == (5, 5) and e.jump == (1, 1)


@pytest.mark.parametrize("stride,out", [(1, 5), (2, 3)])
def test_7x7_input_3x3_filter_fits(stride, out):
    e = explain_conv(7, kernel=3, stride=stride)
    assert e.output == (out, out, 1) and e.fits
    assert f"(7 - 3 + 2*0) / {stride} + 1 = {out}" in str(e)
    assert "does not fit" not in str(e)


def test_7x7_input_3x3_filter_stride_3_does_not_fit():
    e = explain_conv(7, kernel=3, stride=3)
    assert not e.fits and e.output == (2, 2, 1)
    text = str(e)
    assert "(7 - 3 + 2*0) / 3 + 1 = 2.33" in text
    assert "the stride does not fit" in text.lower()
    assert "the last column and the last row (column 6 and row 6) of the input are never covered" in text
    assert "The output is 2x2." in text


def test_padding_one_keeps_7x7():
    e = explain_conv(7, kernel=3, stride=1, padding=1)
    assert e.output == (7, 7, 1) and "(7 - 3 + 2*1) / 1 + 1 = 7" in str(e)


def test_vgg16_poll_weights_between_two_56x56x256_layers():
    e = explain_conv("56x56x256", filters=256, kernel=3, padding="same")
    assert e.output == (56, 56, 256)
    assert e.weights == 3 * 3 * 256 * 256 == 589_824 and e.biases == 256 and e.params == 590_080
    text = str(e)
    assert "3*3*256*256 + 256 = 590,080" in text and "589,824 weights + 256 biases" in text


# --------------------------------------------------------------------------------------------
# Against PyTorch: sizes and parameter counts over awkward configurations
# --------------------------------------------------------------------------------------------
def _conv_configs():
    rng = np.random.default_rng(0)
    configs = []
    for _ in range(40):
        w, h = int(rng.integers(3, 20)), int(rng.integers(3, 20))
        kw, kh = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        dw, dh = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        sw, sh = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        pw, ph = int(rng.integers(0, 3)), int(rng.integers(0, 3))
        if w + 2 * pw < dw * (kw - 1) + 1 or h + 2 * ph < dh * (kh - 1) + 1:
            continue
        configs.append((w, h, int(rng.integers(1, 5)), int(rng.integers(1, 6)), (kw, kh), (sw, sh), (pw, ph), (dw, dh)))
    return configs


@pytest.mark.parametrize("w,h,c,k,kernel,stride,pad,dil", _conv_configs())
def test_conv_sizes_and_counts_match_torch(w, h, c, k, kernel, stride, pad, dil):
    e = explain_conv(
        f"{w}x{h}x{c}",
        filters=k,
        kernel=f"{kernel[0]}x{kernel[1]}",
        stride=f"{stride[0]}x{stride[1]}",
        padding=f"{pad[0]}x{pad[1]}",
        dilation=f"{dil[0]}x{dil[1]}",
    )
    # torch is (H, W); explain is W x H
    layer = tnn.Conv2d(c, k, (kernel[1], kernel[0]), (stride[1], stride[0]), (pad[1], pad[0]), (dil[1], dil[0]))
    y = layer(torch.zeros(1, c, h, w))
    assert e.output == (y.shape[3], y.shape[2], k)
    assert e.params == sum(p.numel() for p in layer.parameters())
    assert e.macs == y.numel() * c * kernel[0] * kernel[1]
    assert e.connections == e.macs + y.numel()
    fits_w = (w + 2 * pad[0] - dil[0] * (kernel[0] - 1) - 1) % stride[0] == 0
    fits_h = (h + 2 * pad[1] - dil[1] * (kernel[1] - 1) - 1) % stride[1] == 0
    assert e.fits == (fits_w and fits_h)
    assert ("does not fit" in str(e).lower()) == (not e.fits)
    span = (dil[0] * (kernel[0] - 1) + 1, dil[1] * (kernel[1] - 1) + 1)
    assert e.receptive_field == span and e.jump == stride


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel,dilation", [(3, 1), (4, 1), (5, 2), (2, 3), ("3x4", "1x2")])
def test_same_padding_keeps_the_size_as_torch_does(kernel, dilation):
    e = explain_conv("11x9x2", filters=3, kernel=kernel, padding="same", dilation=dilation)
    kw, kh = parse_pair(kernel, "k")
    dw, dh = parse_pair(dilation, "d")
    y = tnn.Conv2d(2, 3, (kh, kw), padding="same", dilation=(dh, dw))(torch.zeros(1, 2, 9, 11))
    assert e.output == (y.shape[3], y.shape[2], 3) == (11, 9, 3)
    if (dw * (kw - 1)) % 2:
        assert "before and" in str(e) and "after" in str(e)  # the odd pixel goes after
    valid = explain_conv("11x9x2", filters=3, kernel=kernel, padding="valid", dilation=dilation)
    yv = tnn.Conv2d(2, 3, (kh, kw), padding="valid", dilation=(dh, dw))(torch.zeros(1, 2, 9, 11))
    assert valid.output == (yv.shape[3], yv.shape[2], 3)


def test_dilation_is_explained():
    e = explain_conv("32x32x3", filters=4, kernel=3, dilation=2)
    assert "F_eff = d * (F - 1) + 1 = 2 * (3 - 1) + 1 = 5" in str(e)
    assert e.output == (28, 28, 4) and e.receptive_field == (5, 5) and e.params == 3 * 3 * 3 * 4 + 4


def test_stride_larger_than_the_window_leaves_gaps():
    e = explain_conv(10, kernel=3, stride=4)
    assert e.output == (2, 2, 1) and not e.fits
    text = str(e)
    assert "column and row 3 between the windows are never seen" in text
    assert "columns and rows 7-9" in text


def test_receptive_field_follows_the_input_units():
    # VGG16's conv5_3 -> pool5: 196 + (2 - 1) * 16 = 212, jump 16 * 2 = 32
    e = explain_pool("14x14x512", kernel=2, rf_in=196, jump_in=16)
    assert e.receptive_field == (212, 212) and e.jump == (32, 32)
    assert "r_out = r_in + (F_eff - 1) * j_in = 196 + (2 - 1) * 16 = 212" in str(e)
    e = explain_conv("14x14x512", filters=512, kernel=3, padding=1, rf_in=164, jump_in=16)
    assert e.receptive_field == (196, 196)


# --------------------------------------------------------------------------------------------
# pool and fc
# --------------------------------------------------------------------------------------------
def test_pool_224x224x64():
    e = explain_pool("224x224x64", kernel=2)
    assert e.output == (112, 112, 64) and e.params == 0 and e.macs == 0
    assert e.connections == 4 * 112 * 112 * 64
    assert "depth 64 is unchanged" in str(e) and "Parameters: 0" in str(e)


@pytest.mark.parametrize(
    "size,kernel,stride,pad,ceil", list(itertools.product([7, 8, 13], [2, 3], [1, 2, 3], [0, 1], [False, True]))
)
def test_pool_sizes_match_torch(size, kernel, stride, pad, ceil):
    e = explain_pool(f"{size}x{size + 1}x2", kernel=kernel, stride=stride, padding=pad, ceil_mode=ceil, mode="avg")
    y = tnn.AvgPool2d(kernel, stride, pad, ceil_mode=ceil)(torch.zeros(1, 2, size + 1, size))
    assert e.output == (y.shape[3], y.shape[2], 2)
    assert e.connections == y.numel() * kernel * kernel


def test_fc_layer():
    e = explain_fc("7x7x512", units=4096)
    layer = tnn.Linear(7 * 7 * 512, 4096)
    assert e.params == sum(p.numel() for p in layer.parameters()) == 102_764_544
    assert e.output == (4096,) and e.connections == 25_089 * 4096 and e.macs == 25_088 * 4096
    assert "7*7*512 = 25,088 values" in str(e)
    e = explain_fc(3072, units=10)  # one number: a vector (the lectures' 32x32x3 image stretched to 3072)
    assert e.input == (3072,) and e.params == 30_730 and "input vector of 3,072 values" in str(e)
    e = explain_fc("3,32,32", units=10)
    assert e.input == (32, 32, 3) and e.params == 3072 * 10 + 10
    assert explain_fc("7x7x512", units=10, rf_in=212, jump_in=32).receptive_field == (404, 404)


# --------------------------------------------------------------------------------------------
# Parsing and errors
# --------------------------------------------------------------------------------------------
def test_parsing():
    assert parse_volume("32x32x3") == (32, 32, 3)
    assert parse_volume("64x32") == (64, 32, 1)
    assert parse_volume(7) == (7, 7, 1)
    assert parse_volume("3,64,32") == (32, 64, 3)
    assert parse_volume((5, 6, 7)) == (5, 6, 7)
    assert parse_pair("5x3", "k") == (5, 3) and parse_pair(4, "k") == (4, 4)
    assert parse_padding("SAME") == "same" and parse_padding("2x1") == (2, 1) and parse_padding(0) == (0, 0)


def test_errors():
    with pytest.raises(ValueError, match="explain: the input size must be positive whole numbers. Received: '7x'"):
        explain_conv("7x", kernel=3)
    with pytest.raises(ValueError, match=r"explain: the input size is W x H x C, e.g. '32x32x3'. Received: '1x2x3x4'"):
        parse_volume("1x2x3x4")
    with pytest.raises(
        TypeError, match="explain: the input size must be text such as '32x32x3' or an int. Received: 3.5"
    ):
        parse_volume(3.5)
    with pytest.raises(
        ValueError,
        match=r"explain conv: padding='same' needs stride 1 \(PyTorch's rule\). "
        r"Received: stride=2x2",
    ):
        explain_conv(8, kernel=3, stride=2, padding="same")
    with pytest.raises(
        ValueError,
        match=r"explain conv: the filter \(effective 9x9\) is larger than the padded input "
        r"\(7x7\). Received: input=7x7x1, kernel=5x5, padding=0, dilation=2x2",
    ):
        explain_conv(7, kernel=5, dilation=2)
    with pytest.raises(ValueError, match="explain conv: filters must be a positive int. Received: filters=0"):
        explain_conv(7, filters=0)
    with pytest.raises(ValueError, match="explain pool: mode must be 'max' or 'avg'. Received: mode='min'"):
        explain_pool(7, mode="min")
    with pytest.raises(
        ValueError,
        match=r"explain pool: the window \(effective 9x9\) is larger than the padded "
        r"input \(7x7\)",
    ):
        explain_pool(7, kernel=9)
    with pytest.raises(ValueError, match="explain fc: units must be a positive int. Received: units=0"):
        explain_fc("7x7", units=0)
    with pytest.raises(
        ValueError,
        match=r"explain: padding must be a number of pixels \(or 'WxH'\), 'same' or "
        r"'valid'. Received: 'full'",
    ):
        explain_conv(7, padding="full")
    with pytest.raises(ValueError, match="explain: the stride is one number or W x H. Received: '1x2x3'"):
        explain_conv(7, stride="1x2x3")


# --------------------------------------------------------------------------------------------
# `convnp explain`
# --------------------------------------------------------------------------------------------
def _run(argv):
    parser = argparse.ArgumentParser(prog="convnp")
    subparsers = parser.add_subparsers()
    cli_explain.add_parser(subparsers)
    args = parser.parse_args(["explain", *argv])
    return args.func(args)


def test_cli_conv(capsys):
    assert (
        _run(["conv", "--input", "32x32x3", "--filters", "10", "--kernel", "5", "--stride", "1", "--padding", "2"]) == 0
    )
    out = capsys.readouterr().out
    assert "32x32x10" in out and "= 760" in out


def test_cli_conv_does_not_fit(capsys):
    assert _run(["conv", "--input", "7", "--kernel", "3", "--stride", "3"]) == 0
    out = capsys.readouterr().out
    assert "2.33" in out and "never covered" in out and "The output is 2x2." in out


def test_cli_json_pool_and_fc(capsys):
    assert _run(["pool", "--input", "224x224x64", "--kernel", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["output"] == [112, 112, 64] and d["params"] == 0 and d["layer"] == "pool"
    assert _run(["fc", "--input", "7x7x512", "--units", "4096", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["params"] == 102_764_544 and d["weights"] == 102_760_448
    assert (
        _run(["conv", "--input", "56x56x256", "--filters", "256", "--kernel", "3", "--padding", "same", "--json"]) == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["weights"] == 589_824 and d["biases"] == 256 and d["fits"] is True


def test_cli_errors():
    with pytest.raises(CLIError, match="explain conv: padding='same' needs stride 1"):
        _run(["conv", "--input", "8", "--stride", "2", "--padding", "same"])
    with pytest.raises(CLIError, match="explain needs a layer: conv, pool or fc"):
        _run([])
    with pytest.raises(CLIError, match="explain fc: the input size must be positive whole numbers. Received: 'a'"):
        _run(["fc", "--input", "a", "--units", "3"])


@pytest.mark.slow
def test_python_m_convnp_explain():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "convnp",
            "explain",
            "conv",
            "--input",
            "7",
            "--kernel",
            "3",
            "--stride",
            "3",
            "--debug",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "2.33" in done.stdout and "never covered" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "convnp", "explain", "conv", "--input", "7x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        bad.returncode == 2
        and "convnp: error: explain conv: the input size must be positive whole numbers" in bad.stderr
    )
