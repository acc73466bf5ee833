"""The model zoo: the registry, LeNet-5 as published, ZFNet, TinyVGG, the CIFAR ResNets
(issue 5, Done means 3, 4 and 6; the torchvision twins are in test_torchvision_twins.py).
"""

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from helpers import assert_close, check_gradcheck, compare_with_torch

import convnp as cn
from convnp import models
from convnp.models.lenet import LENET5_C3_TABLE, ConnectionTableConv2d, ScaledTanh, Subsampling
from convnp.models.resnet import PadShortcut
from convnp.nn import CrossEntropyLoss
from convnp.optim import SGD
from convnp.summary import summary

ALL = [
    "alexnet",
    "googlenet",
    "lenet5",
    "resnet101",
    "resnet110",
    "resnet152",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet56",
    "tinyvgg",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "zfnet",
]


def _load_from_torch(cmodel, tmodel):
    cmodel.load_state_dict({k: v.detach().numpy() for k, v in tmodel.state_dict().items()}, strict=True)


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------
def test_registry_lists_every_model():
    assert models.list_models() == sorted(ALL)
    assert set(models.MODELS) == set(ALL)


def test_get_model_passes_arguments_and_ignores_case():
    m = models.get_model("LeNet5", variant="original", num_classes=4)
    assert isinstance(m, models.LeNet5) and m.variant == "original" and m.output.out_features == 4
    m = models.get_model("resnet20", in_channels=1)
    assert m.conv1.weight.shape == (16, 1, 3, 3)


def test_get_model_errors():
    with pytest.raises(
        ValueError,
        match=r"get_model: unknown model 'vgg17'\. Expected one of: alexnet, .*"
        r"Received: name='vgg17'",
    ):
        models.get_model("vgg17")
    with pytest.raises(TypeError, match="get_model: name must be a string. Received: name=3"):
        models.get_model(3)


# --------------------------------------------------------------------------------------------
# LeNet-5 as published (Done means 3)
# --------------------------------------------------------------------------------------------
def test_c3_connection_table_is_table_one():
    sizes = [len(row) for row in LENET5_C3_TABLE]
    assert sizes == [3] * 6 + [4] * 9 + [6]
    # Table I, read by S2 map (the paper's rows): which C3 maps each S2 map feeds
    feeds = {s: [o for o, row in enumerate(LENET5_C3_TABLE) if s in row] for s in range(6)}
    assert feeds[0] == [0, 4, 5, 6, 9, 10, 11, 12, 14, 15]
    assert feeds[1] == [0, 1, 5, 6, 7, 10, 11, 12, 13, 15]
    assert feeds[2] == [0, 1, 2, 6, 7, 8, 11, 13, 14, 15]
    assert feeds[3] == [1, 2, 3, 6, 7, 8, 9, 12, 14, 15]
    assert feeds[4] == [2, 3, 4, 7, 8, 9, 10, 12, 13, 15]
    assert feeds[5] == [3, 4, 5, 8, 9, 10, 11, 13, 14, 15]


def test_original_lenet5_layer_parameters():
    net = models.lenet5(variant="original")
    counts = {
        name: sum(p.numel() for p in getattr(net, name).parameters())
        for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output")
    }
    assert counts == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164, "output": 850}
    assert isinstance(net.s2, Subsampling) and isinstance(net.c3, ConnectionTableConv2d)
    assert isinstance(net.act, ScaledTanh)


def test_summary_of_original_lenet5_reports_the_published_numbers():
    s = summary(models.lenet5(variant="original"), (1, 1, 32, 32))
    published = {
        "c1": (156, 122_304),
        "s2": (12, 5_880),
        "c3": (1_516, 151_600),
        "s4": (32, 2_000),
        "c5": (48_120, 48_120),
        "f6": (10_164, 10_164),
    }
    got = {name: (s[name].params, s[name].connections) for name in published}
    assert got == published
    assert [s[n].output_shape for n in ("c1", "s2", "c3", "s4", "c5", "f6")] == [
        (1, 6, 28, 28),
        (1, 6, 14, 14),
        (1, 16, 10, 10),
        (1, 16, 5, 5),
        (1, 120, 1, 1),
        (1, 84),
    ]


def test_scaled_tanh():
    x = cn.tensor(np.array([-1.0, 0.0, 1.0, 3.0]))
    y = ScaledTanh()(x).data
    assert_close(y, 1.7159 * np.tanh(2.0 / 3.0 * x.data), 1e-12)
    assert abs(y[2] - 1.0) < 1e-4 and abs(y[0] + 1.0) < 1e-4  # f(+-1) = +-1, the paper's choice
    check_gradcheck(lambda t: ScaledTanh()(t), [np.random.default_rng(0).standard_normal((2, 3))])


def _dense_c3(weight: np.ndarray, table) -> np.ndarray:
    dense = np.zeros((len(table), 6) + weight.shape[1:], dtype=weight.dtype)
    k = 0
    for o, row in enumerate(table):
        for c in row:
            dense[o, c] = weight[k]
            k += 1
    return dense


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_connection_table_conv_matches_a_masked_torch_conv(dtype):
    rng = np.random.default_rng(1)
    layer = ConnectionTableConv2d(6, LENET5_C3_TABLE, 5).to(dtype)
    w, b = layer.weight.data.copy(), layer.bias.data.copy()
    mask = torch.tensor(_dense_c3(np.ones_like(w), LENET5_C3_TABLE))
    x = rng.standard_normal((2, 6, 14, 14))

    def ours(xt, wt, bt):
        layer.weight.data[...] = wt.data
        layer.bias.data[...] = bt.data
        layer.zero_grad()
        return layer(xt)

    def theirs(xt, wt, bt):
        dense = torch.zeros((16, 6, 5, 5), dtype=wt.dtype)
        idx = [(o, c) for o, row in enumerate(LENET5_C3_TABLE) for c in row]
        dense = dense.index_put((torch.tensor([i[0] for i in idx]), torch.tensor([i[1] for i in idx])), wt)
        return TF.conv2d(xt, dense * mask, bt)

    out, _ = compare_with_torch(ours, theirs, [x, w, b], dtype=dtype, requires_grad=[True, False, False])
    # the parameters' gradients, through the layer's own parameters
    upstream = rng.standard_normal(out.shape).astype(dtype)
    layer.zero_grad()
    xt = cn.tensor(x.astype(dtype))
    (layer(xt) * cn.tensor(upstream)).sum().backward()
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    (theirs(torch.tensor(x.astype(dtype)), wt, bt) * torch.tensor(upstream)).sum().backward()
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert_close(layer.weight.grad, wt.grad, tol, "C3 weight grad")
    assert_close(layer.bias.grad, bt.grad, tol, "C3 bias grad")


def test_connection_table_conv_gradcheck():
    layer = ConnectionTableConv2d(3, [(0,), (1, 2), (0, 1, 2)], 2).double()
    rng = np.random.default_rng(2)
    check_gradcheck(lambda t: layer(t), [rng.standard_normal((1, 3, 4, 5))])


def test_connection_table_conv_bad_table():
    with pytest.raises(
        ValueError,
        match=r"ConnectionTableConv2d: every row of the table must list distinct input "
        r"maps in \[0, 6\)\. Received: \(0, 6\)",
    ):
        ConnectionTableConv2d(6, [(0, 1), (0, 6)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_subsampling_matches_torch(dtype):
    rng = np.random.default_rng(3)
    layer = Subsampling(3).to(dtype)
    x = rng.standard_normal((2, 3, 6, 8))
    w = rng.standard_normal(3)
    b = rng.standard_normal(3)

    def ours(xt, wt, bt):
        layer.weight.data[...] = wt.data
        layer.bias.data[...] = bt.data
        return layer(xt)

    def theirs(xt, wt, bt):
        return TF.avg_pool2d(xt, 2) * wt.reshape(1, -1, 1, 1) + bt.reshape(1, -1, 1, 1)

    compare_with_torch(ours, theirs, [x, w, b], dtype=dtype, requires_grad=[True, False, False])
    layer.zero_grad()
    up = rng.standard_normal((2, 3, 3, 4)).astype(dtype)
    (layer(cn.tensor(x.astype(dtype))) * cn.tensor(up)).sum().backward()
    wt = torch.tensor(w.astype(dtype), requires_grad=True)
    bt = torch.tensor(b.astype(dtype), requires_grad=True)
    (theirs(torch.tensor(x.astype(dtype)), wt, bt) * torch.tensor(up)).sum().backward()
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert_close(layer.weight.grad, wt.grad, tol, "subsampling coefficient grad")
    assert_close(layer.bias.grad, bt.grad, tol, "subsampling bias grad")


def _torch_lenet(net, x, variant):
    """LeNet-5 in PyTorch from the convnp net's parameters (float64)."""
    p = {k: torch.tensor(v) for k, v in net.state_dict().items()}
    if x.shape[-1] == 28:
        x = TF.pad(x, (2, 2, 2, 2))
    if variant == "original":
        act = lambda t: 1.7159 * torch.tanh(2.0 / 3.0 * t)  # noqa: E731

        def sub(t, n):
            return TF.avg_pool2d(t, 2) * p[f"{n}.weight"].reshape(1, -1, 1, 1) + p[f"{n}.bias"].reshape(1, -1, 1, 1)  # noqa: E731

        c3 = torch.tensor(_dense_c3(net.c3.weight.data, LENET5_C3_TABLE))
        x = act(sub(act(TF.conv2d(x, p["c1.weight"], p["c1.bias"])), "s2"))
        x = act(sub(act(TF.conv2d(x, c3, p["c3.bias"])), "s4"))
    else:
        act = torch.relu
        x = TF.max_pool2d(act(TF.conv2d(x, p["c1.weight"], p["c1.bias"])), 2)
        x = TF.max_pool2d(act(TF.conv2d(x, p["c3.weight"], p["c3.bias"])), 2)
    x = act(TF.conv2d(x, p["c5.weight"], p["c5.bias"])).flatten(1)
    x = act(TF.linear(x, p["f6.weight"], p["f6.bias"]))
    return TF.linear(x, p["output.weight"], p["output.bias"])


@pytest.mark.parametrize("variant", ["original", "modern"])
@pytest.mark.parametrize("side", [32, 28])
def test_lenet5_matches_torch(variant, side):
    net = models.lenet5(variant=variant).double()
    x = np.random.default_rng(4).standard_normal((3, 1, side, side))
    assert_close(net(cn.tensor(x)), _torch_lenet(net, torch.tensor(x), variant), 1e-10, f"lenet5 {variant}")


def test_lenet5_28_is_32_with_a_zero_border():
    net = models.lenet5(variant="original").double()
    x = np.random.default_rng(5).standard_normal((2, 1, 28, 28))
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    assert_close(net(cn.tensor(x)), net(cn.tensor(padded)).data, 1e-12)


def test_lenet5_original_initialisation_is_lecuns():
    cn.manual_seed(0)
    net = models.lenet5(variant="original")
    assert np.abs(net.c1.weight.data).max() <= 2.4 / 25
    assert np.abs(net.c5.weight.data).max() <= 2.4 / 400
    assert np.abs(net.f6.weight.data).max() <= 2.4 / 120
    assert np.abs(net.c1.weight.data).max() > 0.8 * 2.4 / 25  # spread over the whole interval
    # C3: the fan-in of a map is (maps it sees) * 25
    first_3 = net.c3.weight.data[:18]  # the 6 maps that see 3 inputs
    last_6 = net.c3.weight.data[-6:]  # the map that sees all 6
    assert np.abs(first_3).max() <= 2.4 / 75 and np.abs(last_6).max() <= 2.4 / 150


def test_lenet5_errors():
    with pytest.raises(ValueError, match="lenet5: variant must be 'modern' or 'original'. Received: variant='new'"):
        models.lenet5(variant="new")
    with pytest.raises(
        ValueError,
        match=r"LeNet5: expected input of shape \(N, 1, 32, 32\) or \(N, 1, 28, 28\) "
        r"\(zero-padded to 32x32, as in the paper\), received shape \(2, 1, 30, 30\)",
    ):
        models.lenet5()(cn.randn(2, 1, 30, 30))


# --------------------------------------------------------------------------------------------
# ZFNet and TinyVGG
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_zfnet_sizes_are_the_papers():
    s = summary(models.zfnet(), (1, 3, 224, 224), compute=False)
    f = [r for r in s.rows if r.name.startswith("features.")]
    shapes = {r.name: r.output_shape[1:] for r in f}
    assert shapes["features.0"] == (96, 110, 110)  # 7x7 stride 2
    assert shapes["features.2"] == (96, 55, 55)  # 3x3 max pool stride 2
    assert shapes["features.4"] == (256, 26, 26)  # 5x5 stride 2
    assert shapes["features.6"] == (256, 13, 13)
    assert shapes["features.12"] == (256, 13, 13)
    assert shapes["features.14"] == (256, 6, 6)
    assert s["classifier"].output_shape == (1, 1000)
    expected = (
        (7 * 7 * 3 + 1) * 96
        + (5 * 5 * 96 + 1) * 256
        + (9 * 256 + 1) * 384
        + (9 * 384 + 1) * 384
        + (9 * 384 + 1) * 256
        + (9216 + 1) * 4096
        + (4096 + 1) * 4096
        + (4096 + 1) * 1000
    )
    assert s.total_params == expected


class TZFNet(tnn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(3, 96, 7, 2, 1),
            tnn.ReLU(),
            tnn.MaxPool2d(3, 2, ceil_mode=True),
            tnn.LocalResponseNorm(5, k=2.0),
            tnn.Conv2d(96, 256, 5, 2),
            tnn.ReLU(),
            tnn.MaxPool2d(3, 2, ceil_mode=True),
            tnn.LocalResponseNorm(5, k=2.0),
            tnn.Conv2d(256, 384, 3, 1, 1),
            tnn.ReLU(),
            tnn.Conv2d(384, 384, 3, 1, 1),
            tnn.ReLU(),
            tnn.Conv2d(384, 256, 3, 1, 1),
            tnn.ReLU(),
            tnn.MaxPool2d(3, 2, ceil_mode=True),
        )
        self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        self.classifier = tnn.Sequential(
            tnn.Linear(9216, 4096),
            tnn.ReLU(),
            tnn.Dropout(),
            tnn.Linear(4096, 4096),
            tnn.ReLU(),
            tnn.Dropout(),
            tnn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


@pytest.mark.slow
def test_zfnet_matches_torch():
    tmodel = TZFNet(5).eval()
    cmodel = models.zfnet(num_classes=5).eval()
    _load_from_torch(cmodel, tmodel)
    x = np.random.default_rng(6).standard_normal((2, 3, 67, 67)).astype(np.float32)
    assert_close(cmodel(cn.tensor(x)), tmodel(torch.tensor(x)), 1e-4, "zfnet")


class TTinyVGG(tnn.Module):
    def __init__(self, num_classes=10, hidden=10, side=13):
        super().__init__()

        def block(cin):
            return tnn.Sequential(
                tnn.Conv2d(cin, hidden, 3),
                tnn.ReLU(),
                tnn.Conv2d(hidden, hidden, 3),  # noqa
                tnn.ReLU(),
                tnn.MaxPool2d(2, 2),
            )

        self.block1 = block(3)
        self.block2 = block(hidden)
        self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(hidden * side * side, num_classes))

    def forward(self, x):
        return self.classifier(self.block2(self.block1(x)))


@pytest.mark.parametrize("side,final", [(64, 13), (32, 5)])
def test_tinyvgg_matches_torch(side, final):
    tmodel = TTinyVGG(side=final).double()
    cmodel = models.tinyvgg(input_size=side).double()
    _load_from_torch(cmodel, tmodel)
    x = np.random.default_rng(7).standard_normal((2, 3, side, side))
    assert_close(cmodel(cn.tensor(x)), tmodel(torch.tensor(x)), 1e-10, "tinyvgg")


def test_tinyvgg_is_cnn_explainers():
    s = summary(models.tinyvgg(), (1, 3, 64, 64), compute=False)
    convs = [r.output_shape for r in s.rows if r.type == "Conv2d"]
    assert convs == [(1, 10, 62, 62), (1, 10, 60, 60), (1, 10, 28, 28), (1, 10, 26, 26)]
    assert s["block2.4"].output_shape == (1, 10, 13, 13)
    assert s.total_params == 4 * 10 + 3 * 9 * 10 + 3 * 10 * 9 * 10 + 1690 * 10 + 10
    with pytest.raises(
        ValueError,
        match="TinyVGG: input_size is too small for two blocks of two 3x3 convolutions "
        "and a 2x2 max pool \\(expected at least 16\\). Received: input_size=15",
    ):
        models.tinyvgg(input_size=15)
    models.tinyvgg(input_size=16)(cn.randn(1, 3, 16, 16))


# --------------------------------------------------------------------------------------------
# CIFAR ResNets (Done means 4)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,published",
    [("resnet20", "0.27"), ("resnet32", "0.46"), ("resnet44", "0.66"), ("resnet56", "0.85"), ("resnet110", "1.7")],
)
def test_cifar_resnet_parameter_counts_are_table_6(name, published):
    m = models.get_model(name)
    n = sum(p.numel() for p in m.parameters())
    assert f"{n / 1e6:.2g}" == published
    depth = int(name[len("resnet") :])
    convs = [mod for mod in m.modules() if isinstance(mod, cn.nn.Conv2d)]
    assert len(convs) + 1 == depth  # 6n + 2 weighted layers: convolutions + fc
    assert not any(isinstance(mod, cn.nn.Conv2d) and mod.kernel_size == (1, 1) for mod in m.modules())  # option A


def test_cifar_resnet_stages():
    s = summary(models.resnet20(), (1, 3, 32, 32), compute=False)
    assert s["layer1"].output_shape == (1, 16, 32, 32)
    assert s["layer2"].output_shape == (1, 32, 16, 16)
    assert s["layer3"].output_shape == (1, 64, 8, 8)
    assert len([r for r in s.rows if r.type == "BasicBlock"]) == 9


def test_cifar_resnet_option_b_has_projections():
    m = models.resnet20(shortcut="B")
    assert isinstance(m.layer2[0].downsample[0], cn.nn.Conv2d)
    assert sum(p.numel() for p in m.parameters()) > sum(p.numel() for p in models.resnet20().parameters())
    with pytest.raises(
        ValueError,
        match="CifarResNet: shortcut must be 'A' \\(zero-padding identity\\) or 'B' "
        "\\(projection\\). Received: shortcut='C'",
    ):
        models.resnet20(shortcut="C")


class TPadShortcut(tnn.Module):
    def __init__(self, planes):
        super().__init__()
        self.planes = planes

    def forward(self, x):
        return TF.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.planes // 4, self.planes // 4))


class TCifarBlock(tnn.Module):
    def __init__(self, inp, planes, stride=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = TPadShortcut(planes) if stride != 1 or inp != planes else None

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class TCifarResNet(tnn.Module):
    """akamaster's widely used PyTorch CIFAR ResNet (option A), with torchvision-style names."""

    def __init__(self, n, num_classes=10):
        super().__init__()
        self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        inp = 16
        for i, planes in enumerate((16, 32, 64)):
            blocks = [TCifarBlock(inp, planes, 1 if i == 0 else 2)] + [
                TCifarBlock(planes, planes) for _ in range(n - 1)
            ]
            setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
            inp = planes
        self.fc = tnn.Linear(64, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(TF.adaptive_avg_pool2d(x, 1).flatten(1))


@pytest.mark.parametrize("train", [False, True])
def test_resnet20_matches_torch(train):
    torch.manual_seed(0)
    tmodel = TCifarResNet(3).double().train(train)
    with torch.no_grad():
        for m in tmodel.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    cmodel = models.resnet20().double().train(train)
    _load_from_torch(cmodel, tmodel)
    x = np.random.default_rng(8).standard_normal((4, 3, 16, 16))
    yt = tmodel(torch.tensor(x))
    yc = cmodel(cn.tensor(x))
    assert_close(yc, yt, 1e-9, "resnet20")
    up = np.random.default_rng(9).standard_normal(yt.shape)
    (yt * torch.tensor(up)).sum().backward()
    (yc * cn.tensor(up)).sum().backward()
    tparams = dict(tmodel.named_parameters())
    for key, p in cmodel.named_parameters():
        assert_close(p.grad, tparams[key].grad, 1e-9, f"resnet20 grad {key}")


def test_pad_shortcut():
    sc = PadShortcut(2, 6, stride=2).double()
    x = np.random.default_rng(10).standard_normal((1, 2, 5, 5))
    y = sc(cn.tensor(x)).data
    assert y.shape == (1, 6, 3, 3)
    assert_close(y[:, 2:4], x[:, :, ::2, ::2], 0)
    assert not y[:, :2].any() and not y[:, 4:].any()
    check_gradcheck(lambda t: PadShortcut(2, 5)(t), [x])
    with pytest.raises(
        ValueError,
        match=r"PadShortcut: out_planes must be at least in_planes. "
        r"Received: in_planes=4, out_planes=2",
    ):
        PadShortcut(4, 2)


# --------------------------------------------------------------------------------------------
# Done means 6: every zoo model trains one step
# --------------------------------------------------------------------------------------------
SMOKE_SIDE = {"lenet5": 28, "tinyvgg": 32, "alexnet": 63, "zfnet": 63, "googlenet": 32}


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_every_model_trains_one_step(name):
    """Built with num_classes=3 and in_channels=2 (every constructor takes both), one SGD step on a
    random batch: every parameter gets a finite gradient and moves."""
    cn.manual_seed(0)
    side = SMOKE_SIDE.get(name, 32)
    kwargs = {"input_size": side} if name == "tinyvgg" else {}
    if name.startswith("vgg"):
        kwargs["init_weights"] = False  # PyTorch's default layer initialisation: quicker to draw
    model = models.get_model(name, num_classes=3, in_channels=2, **kwargs).train()
    first = next(p for p in model.parameters() if p.ndim == 4)
    assert first.shape[1] == 2
    assert [m for m in model.modules() if isinstance(m, cn.nn.Linear)][-1].out_features == 3
    params = list(model.parameters())
    rng = np.random.default_rng(0)  # watch up to 256 entries of each parameter (VGG's are 100 M)
    watch = [rng.integers(0, p.numel(), size=min(p.numel(), 256)) for p in params]
    before = [p.data.reshape(-1)[w].copy() for p, w in zip(params, watch)]
    x = cn.randn(2, 2, side, side)
    target = cn.tensor(np.array([0, 2]))
    out = model(x)
    loss_fn = CrossEntropyLoss()
    if isinstance(out, tuple):  # GoogLeNet in training: logits and two auxiliary heads
        assert [o.shape for o in out] == [(2, 3)] * 3
        loss = loss_fn(out[0], target) + 0.3 * (loss_fn(out[1], target) + loss_fn(out[2], target))
    else:
        assert out.shape == (2, 3)
        loss = loss_fn(out, target)
    assert np.isfinite(loss.item())
    opt = SGD(params, lr=0.01)
    opt.zero_grad()
    loss.backward()
    grads = []
    for p, w in zip(params, watch):
        assert p.grad is not None and p.grad.shape == p.shape, name
        g = p.grad.reshape(-1)[w]
        assert np.all(np.isfinite(g)), name
        grads.append(g.copy())
    assert sum(bool(np.any(g)) for g in grads) >= 0.9 * len(params)  # the gradient reaches (almost) every parameter
    opt.step()
    for p, w, b, g in zip(params, watch, before, grads):  # SGD: p <- p - lr * grad
        np.testing.assert_allclose(p.data.reshape(-1)[w], b - np.float32(0.01) * g, rtol=1e-6, atol=1e-30)
    assert sum(not np.array_equal(p.data.reshape(-1)[w], b) for p, w, b in zip(params, watch, before)) >= 0.9 * len(
        params
    )
