"""The zoo's torchvision networks against their PyTorch twins (issue 5, Done means 1 and 2).

torchvision is not installed here, so the twins are written below from torchvision's published
architecture (torchvision/models/{alexnet,vgg,resnet,googlenet}.py). Each test checks that the
module trees agree (state-dict keys in order, shapes), that a torch state dict loads into convnp
with ``strict=True``, and that, with the same weights, the outputs agree in eval and train mode
(train mode with dropout p = 0, so only BatchNorm's batch statistics differ from eval; the running
statistics after the step are compared too) and, for the residual and Inception nets, every
parameter's gradient.
"""

from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from helpers import assert_close

import convnp as cn
from convnp import models

TOL64 = 1e-9  # float64, relative to the largest output (errors add up over 50+ layers)
TOL32 = 1e-4  # float32 (AlexNet and VGG: their 60-120 M classifier weights in float64 cost seconds)


# --------------------------------------------------------------------------------------------
# The PyTorch twins (torchvision's architecture)
# --------------------------------------------------------------------------------------------
class TAlexNet(tnn.Module):
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            tnn.ReLU(inplace=True),
            tnn.MaxPool2d(kernel_size=3, stride=2),
            tnn.Conv2d(64, 192, kernel_size=5, padding=2),
            tnn.ReLU(inplace=True),
            tnn.MaxPool2d(kernel_size=3, stride=2),
            tnn.Conv2d(192, 384, kernel_size=3, padding=1),
            tnn.ReLU(inplace=True),
            tnn.Conv2d(384, 256, kernel_size=3, padding=1),
            tnn.ReLU(inplace=True),
            tnn.Conv2d(256, 256, kernel_size=3, padding=1),
            tnn.ReLU(inplace=True),
            tnn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        self.classifier = tnn.Sequential(
            tnn.Dropout(p=dropout),
            tnn.Linear(256 * 6 * 6, 4096),
            tnn.ReLU(inplace=True),
            tnn.Dropout(p=dropout),
            tnn.Linear(4096, 4096),
            tnn.ReLU(inplace=True),
            tnn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


VGG_CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def t_make_layers(cfg, batch_norm=False):
    layers, in_channels = [], 3
    for v in cfg:
        if v == "M":
            layers += [tnn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = tnn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, tnn.BatchNorm2d(v), tnn.ReLU(inplace=True)]
            else:
                layers += [conv2d, tnn.ReLU(inplace=True)]
            in_channels = v
    return tnn.Sequential(*layers)


class TVGG(tnn.Module):
    def __init__(self, features, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = features
        self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        self.classifier = tnn.Sequential(
            tnn.Linear(512 * 7 * 7, 4096),
            tnn.ReLU(True),
            tnn.Dropout(p=dropout),
            tnn.Linear(4096, 4096),
            tnn.ReLU(True),
            tnn.Dropout(p=dropout),
            tnn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def t_conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    return tnn.Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def t_conv1x1(in_planes, out_planes, stride=1):
    return tnn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class TBasicBlock(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = t_conv3x3(inplanes, planes, stride)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = t_conv3x3(planes, planes)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        width = planes
        self.conv1 = t_conv1x1(inplanes, width)
        self.bn1 = tnn.BatchNorm2d(width)
        self.conv2 = t_conv3x3(width, width, stride)
        self.bn2 = tnn.BatchNorm2d(width)
        self.conv3 = t_conv1x1(width, planes * self.expansion)
        self.bn3 = tnn.BatchNorm2d(planes * self.expansion)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = tnn.BatchNorm2d(self.inplanes)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(
                t_conv1x1(self.inplanes, planes * block.expansion, stride), tnn.BatchNorm2d(planes * block.expansion)
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


TGoogLeNetOutputs = namedtuple("TGoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class TBasicConv2d(tnn.Module):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = tnn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = tnn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return TF.relu(self.bn(self.conv(x)), inplace=True)


class TInception(tnn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = TBasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = tnn.Sequential(
            TBasicConv2d(in_channels, ch3x3red, kernel_size=1), TBasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1)
        )
        self.branch3 = tnn.Sequential(
            TBasicConv2d(in_channels, ch5x5red, kernel_size=1),
            # torchvision: kernel_size=3 instead of 5 is a known bug
            TBasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = tnn.Sequential(
            tnn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            TBasicConv2d(in_channels, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TInceptionAux(tnn.Module):
    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = TBasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = tnn.Linear(2048, 1024)
        self.fc2 = tnn.Linear(1024, num_classes)
        self.dropout = tnn.Dropout(p=dropout)

    def forward(self, x):
        x = TF.adaptive_avg_pool2d(x, (4, 4))
        x = self.conv(x)
        x = torch.flatten(x, 1)
        x = TF.relu(self.fc1(x), inplace=True)
        x = self.dropout(x)
        return self.fc2(x)


class TGoogLeNet(tnn.Module):
    def __init__(self, num_classes=1000, aux_logits=True, dropout=0.2, dropout_aux=0.7):
        super().__init__()
        self.aux_logits = aux_logits
        self.conv1 = TBasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = TBasicConv2d(64, 64, kernel_size=1)
        self.conv3 = TBasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = TInception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = TInception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = TInception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = TInception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = TInception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = TInception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = TInception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = tnn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = TInception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = TInception(832, 384, 192, 384, 48, 128, 128)
        if aux_logits:
            self.aux1 = TInceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = TInceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.dropout = tnn.Dropout(p=dropout)
        self.fc = tnn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        if self.training and self.aux_logits:
            return TGoogLeNetOutputs(x, aux2, aux1)
        return x


TORCH_TWINS = {
    "alexnet": lambda nc, **kw: TAlexNet(nc, **kw),
    "vgg11": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["A"]), nc, **kw),
    "vgg11_bn": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["A"], True), nc, **kw),
    "vgg13": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["B"]), nc, **kw),
    "vgg13_bn": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["B"], True), nc, **kw),
    "vgg16": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["D"]), nc, **kw),
    "vgg16_bn": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["D"], True), nc, **kw),
    "vgg19": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["E"]), nc, **kw),
    "vgg19_bn": lambda nc, **kw: TVGG(t_make_layers(VGG_CFGS["E"], True), nc, **kw),
    "resnet18": lambda nc, **kw: TResNet(TBasicBlock, [2, 2, 2, 2], nc),
    "resnet34": lambda nc, **kw: TResNet(TBasicBlock, [3, 4, 6, 3], nc),
    "resnet50": lambda nc, **kw: TResNet(TBottleneck, [3, 4, 6, 3], nc),
    "resnet101": lambda nc, **kw: TResNet(TBottleneck, [3, 4, 23, 3], nc),
    "resnet152": lambda nc, **kw: TResNet(TBottleneck, [3, 8, 36, 3], nc),
    "googlenet": lambda nc, **kw: TGoogLeNet(nc, **kw),
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _randomise_torch(model: tnn.Module, seed: int) -> None:
    """Non-trivial BatchNorm affine parameters and running statistics (the defaults 1, 0 would
    hide a swapped weight/bias or mean/var)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g, dtype=m.weight.dtype))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g, dtype=m.bias.dtype))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g, dtype=m.running_mean.dtype))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g, dtype=m.running_var.dtype))
                m.num_batches_tracked.fill_(3)


def _torch_state_as_numpy(model: tnn.Module) -> dict:
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _outputs(y):
    return list(y) if isinstance(y, tuple) else [y]


def _build_torch(name, num_classes, seed, dtype=np.float64, **kwargs):
    """The twin, built directly in ``dtype`` (no conversion of VGG's 0.5 GB), BatchNorms randomised."""
    torch.manual_seed(seed)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        tmodel = TORCH_TWINS[name](num_classes, **kwargs)
    finally:
        torch.set_default_dtype(old)
    _randomise_torch(tmodel, seed)
    return tmodel


def _twin_pair(name, num_classes=7, cn_kwargs=None, t_kwargs=None, seed=0, dtype=np.float64):
    """A torch twin with random weights, and the convnp model with those weights loaded strictly."""
    tmodel = _build_torch(name, num_classes, seed, dtype, **(t_kwargs or {}))
    cmodel = models.get_model(name, num_classes=num_classes, **(cn_kwargs or {})).to(dtype)
    result = cmodel.load_state_dict(_torch_state_as_numpy(tmodel), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    return tmodel, cmodel


def _assert_same_tree(cmodel, tmodel):
    ours = [(k, tuple(v.shape)) for k, v in cmodel.state_dict().items()]
    theirs = [(k, tuple(v.shape)) for k, v in tmodel.state_dict().items()]
    assert ours == theirs


def _compare(name, size, cn_kwargs=None, t_kwargs=None, grads=False, batch=2, seed=0, dtype=np.float64):
    """Eval mode, then train mode (one step of batch statistics), on the same pair of models:
    outputs, running statistics and (``grads``) every parameter's gradient."""
    tol = TOL64 if dtype == np.float64 else TOL32
    tmodel, cmodel = _twin_pair(name, cn_kwargs=cn_kwargs, t_kwargs=t_kwargs, seed=seed, dtype=dtype)
    _assert_same_tree(cmodel, tmodel)
    for train in (False, True):
        tmodel.train(train)
        cmodel.train(train)
        x = np.random.default_rng(seed + train).standard_normal((batch, 3, size, size)).astype(dtype)
        yt = tmodel(torch.tensor(x))
        yc = cmodel(cn.tensor(x))
        yts, ycs = _outputs(yt), _outputs(yc)
        assert len(yts) == len(ycs)
        mode = "train" if train else "eval"
        for k, (a, b) in enumerate(zip(ycs, yts)):
            assert_close(a, b, tol, f"{name} ({mode}) output {k}")
        if train:  # the running statistics moved the same way
            tstate = tmodel.state_dict()
            for key, value in cmodel.state_dict().items():
                if "running" in key or "num_batches" in key:
                    assert_close(value, tstate[key], tol, f"{name} {key}")
        if grads:
            up = [np.random.default_rng(seed + 1 + k).standard_normal(tuple(y.shape)) for k, y in enumerate(yts)]
            loss_t = sum((y * torch.tensor(u)).sum() for y, u in zip(yts, up))
            loss_c = (ycs[0] * cn.tensor(up[0])).sum()
            for y, u in zip(ycs[1:], up[1:]):
                loss_c = loss_c + (y * cn.tensor(u)).sum()
            tmodel.zero_grad()
            cmodel.zero_grad()
            loss_t.backward()
            loss_c.backward()
            tparams = dict(tmodel.named_parameters())
            assert [k for k, _ in cmodel.named_parameters()] == list(tparams)
            reached = 0
            for key, p in cmodel.named_parameters():
                expected = tparams[key].grad  # None for the auxiliary heads in eval mode
                assert (p.grad is None) == (expected is None), f"{name} ({mode}): gradient presence of {key}"
                if expected is not None:
                    assert_close(p.grad, expected, tol, f"{name} ({mode}) grad {key}")
                    reached += 1
            skipped = [k for k in tparams if tparams[k].grad is None]  # the auxiliary heads, in eval only
            assert skipped == [k for k in tparams if not train and k.startswith("aux")]
            assert reached == len(tparams) - len(skipped)
    return cmodel


# --------------------------------------------------------------------------------------------
# Done means 2: same weights, same outputs (train and eval)
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_alexnet_matches_torch():
    _compare("alexnet", 63, cn_kwargs={"dropout": 0.0}, t_kwargs={"dropout": 0.0}, dtype=np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg11_bn"])  # (vgg11: the same code without the BatchNorms)
def test_vgg_matches_torch(name):
    _compare(name, 32, cn_kwargs={"dropout": 0.0, "init_weights": False}, t_kwargs={"dropout": 0.0}, dtype=np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name,size", [("resnet18", 40), ("resnet50", 64)])
def test_resnet_matches_torch(name, size):
    _compare(name, size, grads=True)


@pytest.mark.slow
@pytest.mark.parametrize("aux", [True, False])
def test_googlenet_matches_torch(aux):
    kwargs = {"aux_logits": aux, "dropout": 0.0, "dropout_aux": 0.0}
    cmodel = _compare("googlenet", 48, cn_kwargs={**kwargs, "init_weights": False}, t_kwargs=kwargs, grads=True)
    y = cmodel(cn.randn(2, 3, 48, 48).double())  # still in training mode
    if aux:
        assert isinstance(y, models.GoogLeNetOutputs) and len(y) == 3
    else:
        assert isinstance(y, cn.Tensor) and y.shape == (2, 7)


# --------------------------------------------------------------------------------------------
# Done means 1: parameter counts; the state dicts of the big ones line up and load strictly
# --------------------------------------------------------------------------------------------
PUBLISHED = [
    ("alexnet", {}, 61_100_840),
    ("vgg16", {"init_weights": False}, 138_357_544),
    ("vgg16_bn", {"init_weights": False}, 138_365_992),
    ("vgg19", {"init_weights": False}, 143_667_240),
    ("googlenet", {"aux_logits": False, "init_weights": False}, 6_624_904),
    ("resnet18", {}, 11_689_512),
    ("resnet34", {}, 21_797_672),
    ("resnet50", {}, 25_557_032),
    ("resnet152", {}, 60_192_808),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,kwargs,count", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_parameter_counts_and_torchvision_state_dicts(name, kwargs, count):
    model = models.get_model(name, **kwargs)
    assert sum(p.numel() for p in model.parameters()) == count
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        t_kwargs = {"aux_logits": False} if name == "googlenet" else {}
        twin = TORCH_TWINS[name](1000, **t_kwargs)
    assert sum(p.numel() for p in twin.parameters()) == count
    _assert_same_tree(model, twin)
    # a state dict of torchvision's keys and shapes loads with strict=True
    fake = {
        k: np.zeros(tuple(v.shape), dtype=np.int64 if v.dtype == torch.int64 else np.float32)
        for k, v in twin.state_dict().items()
    }
    model.load_state_dict(fake, strict=True)
    assert all(not np.any(p.data) for p in model.parameters())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg19_bn", "resnet101"])
def test_other_torchvision_trees_match(name):
    kwargs = {"init_weights": False} if name.startswith("vgg") else {}
    model = models.get_model(name, num_classes=10, **kwargs)
    with torch.device("meta"):
        twin = TORCH_TWINS[name](10)
    _assert_same_tree(model, twin)


def test_googlenet_with_aux_heads_tree_and_count():
    model = models.googlenet(init_weights=False)
    with torch.device("meta"):
        twin = TGoogLeNet(1000, aux_logits=True)
    _assert_same_tree(model, twin)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in twin.parameters()) == 13_004_888


def test_strict_loading_reports_a_foreign_state_dict():
    tmodel = TORCH_TWINS["resnet18"](10)
    state = _torch_state_as_numpy(tmodel)
    state["fc.extra"] = np.zeros(3, dtype=np.float32)
    with pytest.raises(ValueError, match='Unexpected key\\(s\\) in state_dict: "fc.extra"'):
        models.resnet18(num_classes=10).load_state_dict(state, strict=True)
    state = _torch_state_as_numpy(tmodel)
    with pytest.raises(ValueError, match="size mismatch for fc.weight"):
        models.resnet18(num_classes=5).load_state_dict(state, strict=True)
