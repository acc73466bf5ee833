"""cn.summary and `convnp summary` (issue 5: Done means 1 (MACs) and 3, and the table's columns)."""

import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convnp as cn
import convnp.nn as nn
from convnp import models
from convnp.cli import summary as cli_summary
from convnp.cli.common import CLIError
from convnp.summary import ModelSummary, summary

LAYER_KEYS = {
    "name",
    "type",
    "output_shape",
    "params",
    "trainable_params",
    "macs",
    "connections",
    "receptive_field",
    "jump",
}


# --------------------------------------------------------------------------------------------
# Done means 1: multiply-accumulates at 224x224 (shape-only dry run: the same counts, instantly)
# --------------------------------------------------------------------------------------------
_AT_224 = {}


def _summary_224(name):
    """The dry-run summary of a zoo model at 1x3x224x224, built once per test run."""
    if name not in _AT_224:
        kwargs = {"init_weights": False} if name.startswith("vgg") else {}
        _AT_224[name] = summary(models.get_model(name, **kwargs), (1, 3, 224, 224), compute=False)
    return _AT_224[name]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,published", [("alexnet", 0.71e9), ("vgg16", 15.47e9), ("resnet18", 1.81e9), ("resnet50", 4.09e9)]
)
def test_macs_match_the_published_numbers(name, published):
    s = _summary_224(name)
    assert abs(s.total_macs - published) <= 0.01 * published, s.total_macs


def test_macs_of_every_layer_are_the_formula():
    """Each convolution: out_elements * C_in/groups * kh*kw, counted from torch's unfold (the
    im2col of the same layer); each linear: rows * in * out."""
    model = nn.Sequential(
        nn.Conv2d(4, 6, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
        nn.ReLU(),
        nn.Conv2d(6, 5, 1, bias=False),
        nn.Flatten(),
        nn.Linear(5 * 5 * 9, 7),
    )
    s = summary(model, (3, 4, 9, 9))
    x = torch.zeros(3, 4, 9, 9)
    cols = TF.unfold(x[:, :2], (3, 2), dilation=(1, 2), padding=1, stride=(2, 1))  # one group's im2col
    macs0 = 3 * cols.shape[2] * cols.shape[1] * 6  # N * positions * (C/g * kh * kw) * C_out
    assert s["0"].macs == macs0 and s["0"].connections == macs0 + 3 * 6 * cols.shape[2]
    assert s["0"].output_shape == (3, 6, 5, 9) and cols.shape[2] == 5 * 9
    assert s["2"].macs == 3 * 5 * 5 * 9 * 6 and s["2"].connections == s["2"].macs  # no bias
    assert s["4"].macs == 3 * 225 * 7 and s["4"].connections == 3 * 226 * 7
    assert s["1"].macs == s["1"].connections == 0
    assert s.total_macs == macs0 + s["2"].macs + s["4"].macs


def test_pooling_connections_count_each_window():
    model = nn.Sequential(nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d((2, 3)))
    s = summary(model, (2, 3, 11, 11))
    assert s["0"].output_shape == (2, 3, 6, 6) and s["0"].connections == 2 * 3 * 36 * 9
    assert s["1"].output_shape == (2, 3, 3, 3) and s["1"].connections == 2 * 3 * 9 * 4
    # adaptive bins of 3 -> 2: [0, 2), [1, 3): 2 + 2; 3 -> 3: 1 + 1 + 1
    assert s["2"].connections == 2 * 3 * (2 + 2) * (1 + 1 + 1)
    assert s.total_macs == 0


# --------------------------------------------------------------------------------------------
# The dry run counts exactly what the real run counts
# --------------------------------------------------------------------------------------------
DRY = [
    ("lenet5", {"variant": "original"}, (2, 1, 28, 28)),
    ("lenet5", {}, (1, 1, 32, 32)),
    ("resnet18", {}, (1, 3, 48, 40)),
    ("resnet20", {}, (2, 3, 32, 32)),
    ("googlenet", {}, (2, 3, 40, 40)),
    ("tinyvgg", {}, (1, 3, 64, 64)),
    ("zfnet", {}, (1, 3, 70, 70)),
    ("alexnet", {}, (1, 3, 67, 67)),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,kwargs,size", DRY, ids=[f"{d[0]}-{d[2][-1]}" for d in DRY])
@pytest.mark.parametrize("training", [False, True])
def test_dry_run_equals_real_run(name, kwargs, size, training):
    model = models.get_model(name, num_classes=5, **kwargs)
    real = summary(model, size, training=training).to_dict()
    dry = summary(model, size, compute=False, training=training).to_dict()
    assert dry == real
    if name == "googlenet":  # the auxiliary heads run in training only
        names = [r["name"] for r in real["layers"]]
        assert ("aux1.fc2" in names) == training


# --------------------------------------------------------------------------------------------
# Receptive fields and jumps
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_receptive_fields_of_the_classic_networks():
    alex = _summary_224("alexnet")
    assert alex["features.12"].receptive_field == (195, 195) and alex["features.12"].jump == (32, 32)
    vgg = _summary_224("vgg16")
    assert vgg["features.28"].receptive_field == (196, 196)  # conv5_3
    assert vgg["features.30"].receptive_field == (212, 212) and vgg["features.30"].jump == (32, 32)
    assert vgg["classifier.0"].receptive_field == (212 + 6 * 32,) * 2  # a linear layer joins the 7x7 map
    res = _summary_224("resnet18")
    assert res["layer4"].receptive_field == (435, 435) and res["layer4"].jump == (32, 32)
    assert res["layer1.0"].receptive_field == (11 + 2 * 2 * 4,) * 2  # the residual branch wins the addition
    lenet = summary(models.lenet5(variant="original"), (1, 1, 32, 32), compute=False)
    assert [lenet[n].receptive_field[0] for n in ("c1", "s2", "c3", "s4", "c5")] == [5, 6, 14, 16, 32]
    assert [lenet[n].jump[0] for n in ("c1", "s2", "c3", "s4", "c5")] == [1, 2, 2, 4, 4]


class _Branches(nn.Module):
    """Two branches joined by a concatenation and an addition, outside any module."""

    def __init__(self):
        super().__init__()
        self.narrow = nn.Conv2d(2, 3, 3, padding=1)
        self.wide = nn.Conv2d(2, 3, 5, padding=2, dilation=1)
        self.skip = nn.Conv2d(2, 6, 1)
        self.relu = nn.ReLU()

    def forward(self, x):
        joined = cn.cat([self.narrow(x), self.wide(x)], 1)
        return self.relu(joined + self.skip(x))


def test_receptive_field_through_non_module_operations():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), _Branches(), nn.MaxPool2d(2))
    s = summary(model, (1, 1, 21, 21))
    assert s["0"].receptive_field == (3, 3) and s["0"].jump == (2, 2)
    assert s["1.narrow"].receptive_field == (3 + 2 * 2,) * 2
    assert s["1.wide"].receptive_field == (3 + 4 * 2,) * 2
    assert s["1.relu"].receptive_field == (11, 11)  # the sum of the concatenation takes the largest field
    assert s["1"].receptive_field == (11, 11)
    assert s["2"].receptive_field == (11 + 2, 11 + 2) and s["2"].jump == (4, 4)


def test_non_square_fields_and_dilation():
    model = nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=(1, 2), dilation=(2, 1)), nn.Conv2d(1, 1, 3, dilation=3))
    s = summary(model, (1, 1, 20, 30))
    assert s["0"].receptive_field == (5, 5) and s["0"].jump == (1, 2)
    assert s["1"].receptive_field == (5 + 6 * 1, 5 + 6 * 2) and s["1"].jump == (1, 2)
    assert "11x17" in str(s) and "1x2" in str(s)


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------
def test_to_dict_has_exactly_the_documented_keys():
    s = summary(models.resnet20(), (1, 3, 32, 32))
    d = s.to_dict()
    assert set(d) == {"layers", "total_params", "trainable_params", "total_macs", "activation_bytes"}
    assert all(set(layer) == LAYER_KEYS for layer in d["layers"])
    assert d["total_params"] == d["trainable_params"] == sum(p.numel() for p in models.resnet20().parameters())
    assert json.loads(json.dumps(d)) == d  # plain JSON types
    assert isinstance(s, ModelSummary) and len(s) == len(d["layers"])


def test_containers_add_up_their_layers_and_indent():
    s = summary(models.resnet18(num_classes=10), (1, 3, 32, 32))
    index = next(i for i, r in enumerate(s.rows) if r.name == "layer2.0")
    block = s.rows[index]
    children = [r for r in s.rows if r.parent == index]
    assert [r.name for r in children] == [
        "layer2.0.conv1",
        "layer2.0.bn1",
        "layer2.0.relu",
        "layer2.0.conv2",
        "layer2.0.bn2",
        "layer2.0.downsample",
        "layer2.0.relu",
    ]
    assert block.macs == sum(r.macs for r in children) > 0
    assert block.connections == sum(r.connections for r in children)
    assert block.params == sum(r.params for r in children) == 230_144
    assert s.total_macs == sum(r.macs for r in s.rows if r.depth == 1)
    text = str(s)
    for column in ("Layer", "Type", "Output shape", "Params", "Trainable", "MACs", "Connections", "RF", "Jump"):
        assert column in text
    assert "\n  layer2.0 " in text and "\n    layer2.0.conv1 " in text and "\nlayer2 " in text
    assert "Total params:          11,181,642" in text


def test_depth_limits_rows_not_totals():
    full = summary(models.resnet18(num_classes=10), (1, 3, 32, 32), compute=False)
    top = summary(models.resnet18(num_classes=10), (1, 3, 32, 32), compute=False, depth=1)
    assert [r.name for r in top.rows] == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "fc",
    ]
    assert top.total_macs == full.total_macs and top.activation_bytes == full.activation_bytes


def test_trainable_and_frozen_parameters():
    model = models.lenet5()
    model.c1.requires_grad_(False)
    s = summary(model, (1, 1, 32, 32))
    assert s["c1"].params == 156 and s["c1"].trainable_params == 0
    assert s.total_params - s.trainable_params == 156
    assert "Non-trainable params:  156" in str(s)


def test_activation_bytes_are_the_layer_outputs():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Dropout(), nn.Flatten(), nn.Linear(2 * 6 * 6, 4))
    s = summary(model, (3, 1, 8, 8))  # eval: Dropout returns its input, counted once
    outputs = [3 * 2 * 6 * 6, 3 * 2 * 6 * 6, 3 * 72, 3 * 4]  # conv, relu, flatten (a new tensor), linear
    assert s.activation_bytes == 4 * sum(outputs)
    assert summary(model.double(), (3, 1, 8, 8)).activation_bytes == 8 * sum(outputs)


def test_summary_leaves_the_model_as_it_was():
    model = models.resnet20()
    model.layer1.eval()  # mixed modes are restored as they were
    state = {k: v.copy() for k, v in model.state_dict().items()}
    alex = models.alexnet(num_classes=3)
    cn.manual_seed(3)
    expected_draw = cn.rand(4).data
    cn.manual_seed(3)
    s = summary(alex, (2, 3, 63, 63), training=True)  # dropout draws masks ...
    assert np.array_equal(cn.rand(4).data, expected_draw)  # ... and the generator is restored
    s = summary(model, (4, 3, 16, 16), training=True)
    assert s["layer2.0.bn1"].output_shape == (4, 32, 8, 8)
    after = model.state_dict()
    assert all(np.array_equal(state[k], after[k]) for k in state)
    assert model.training and not model.layer1.training and model.layer2.training
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and "forward" not in m.__dict__
    summary(model, (1, 3, 16, 16), compute=False)
    assert all("forward" not in m.__dict__ and not m._forward_hooks for m in model.modules())


def test_a_single_layer_is_its_own_row():
    s = summary(nn.Conv2d(3, 4, 3), (1, 3, 5, 5))
    assert [r.name for r in s.rows] == ["Conv2d"] and s.total_macs == 9 * 4 * 27


def test_layer_errors_are_the_layers_own_in_both_modes():
    for compute in (True, False):
        with pytest.raises(
            ValueError,
            match=r"conv1 \(Conv2d\): expected input with 3 channels, received shape "
            r"\(1, 1, 32, 32\)",
        ):
            summary(models.resnet18(), (1, 1, 32, 32), compute=compute)
    messages = []
    for compute in (True, False):
        with pytest.raises(ValueError, match="features.12 \\(MaxPool2d\\): max_pool2d: the input is too small") as err:
            summary(models.alexnet(), (1, 3, 40, 40), compute=compute)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_summary_argument_errors():
    with pytest.raises(TypeError, match="summary: expected a convnp.nn.Module. Received: function"):
        summary(lambda x: x, (1, 3))
    with pytest.raises(
        TypeError,
        match=r"summary: input_size must be a tuple of ints, the shape of one input batch "
        r"such as \(1, 3, 224, 224\). Received: input_size=224",
    ):
        summary(models.lenet5(), 224)
    with pytest.raises(
        ValueError,
        match=r"summary: every entry of input_size must be at least 1. "
        r"Received: input_size=\(1, 0, 32, 32\)",
    ):
        summary(models.lenet5(), (1, 0, 32, 32))
    with pytest.raises(TypeError, match="summary: dtype must be a floating-point dtype. Received: dtype=int64"):
        summary(models.lenet5(), (1, 1, 32, 32), dtype=np.int64)
    with pytest.raises(ValueError, match="summary: depth must be a positive int or None. Received: depth=0"):
        summary(models.lenet5(), (1, 1, 32, 32), depth=0)


# --------------------------------------------------------------------------------------------
# `convnp summary`
# --------------------------------------------------------------------------------------------
def _run(argv):
    parser = argparse.ArgumentParser(prog="convnp")
    subparsers = parser.add_subparsers()
    cli_summary.add_parser(subparsers)
    args = parser.parse_args(["summary", *argv])
    return args.func(args)


def test_cli_prints_the_table(capsys):
    assert _run(["lenet5", "--variant", "original"]) == 0
    out = capsys.readouterr().out
    assert "c3" in out and "ConnectionTableConv2d" in out and "151,600" in out and "122,304" in out
    assert "Total params:          60,850" in out


def test_cli_json_is_summary_to_dict(capsys):
    assert _run(["resnet18", "--input", "3,64,48", "--num-classes", "10", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == summary(models.resnet18(num_classes=10), (1, 3, 64, 48)).to_dict()


def test_cli_input_channels_batch_and_depth(capsys):
    assert _run(["resnet18", "--input", "1,32,32", "--batch-size", "2", "--depth", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in d["layers"]] == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "fc",
    ]
    assert d["layers"][0]["output_shape"] == [2, 64, 16, 16] and d["layers"][-1]["output_shape"] == [2, 1000]
    assert d["total_params"] == 11_689_512 - 2 * 64 * 7 * 7  # one input channel instead of three


def test_cli_errors():
    with pytest.raises(CLIError, match="unknown model 'vgg17'; did you mean .*vgg16"):
        _run(["vgg17"])
    with pytest.raises(CLIError, match="--variant applies to lenet5 only; received --variant original for resnet18"):
        _run(["resnet18", "--variant", "original"])
    with pytest.raises(
        CLIError,
        match=r"--input must be C,H,W \(or N,C,H,W\) in positive whole numbers, for example "
        r"--input 3,224,224; received '3,224'",
    ):
        _run(["alexnet", "--input", "3,224"])
    with pytest.raises(CLIError, match="alexnet cannot take an input of 3,32,32: features.12 \\(MaxPool2d\\)"):
        _run(["alexnet", "--input", "3,32,32"])
    with pytest.raises(CLIError, match="--no-aux applies to googlenet only; received it for vgg16"):
        _run(["vgg16", "--no-aux"])


@pytest.mark.slow
def test_python_m_convnp_summary():
    done = subprocess.run(
        [sys.executable, "-m", "convnp", "summary", "lenet5", "--variant", "original", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    d = json.loads(done.stdout)
    rows = {r["name"]: r for r in d["layers"]}
    assert rows["s4"]["params"] == 32 and rows["s4"]["connections"] == 2000


class _PoolUnpool(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)

    def forward(self, x):
        return self.unpool(*self.pool(x))


@pytest.mark.parametrize("compute", [True, False])
def test_transposed_layers_shrink_the_jump(compute):
    # a transposed window reads ceil(k_eff / s) input units: r + (ceil(k_eff / s) - 1) * j, jump j / s
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1), _PoolUnpool()
    )
    s = summary(model, (1, 1, 16, 16), compute=compute)
    assert s["0"].receptive_field == (3, 3) and s["0"].jump == (2, 2)
    assert s["1"].receptive_field == (3 + 1 * 2,) * 2 and s["1"].jump == (1, 1)
    assert s["2.pool"].receptive_field == (6, 6) and s["2.pool"].jump == (2, 2)
    assert s["2.unpool"].receptive_field == (6, 6) and s["2.unpool"].jump == (1, 1)  # the pooling undone
    assert s["2.unpool"].output_shape == (1, 2, 16, 16)
