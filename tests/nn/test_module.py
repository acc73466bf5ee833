"""Module, Parameter and the containers against torch.nn as the oracle.

The real layers (Conv2d, BatchNorm2d, ...) are written later, so the tests build toy layers with
the same parameter and buffer names, shapes and reprs as torch.nn.Conv2d / BatchNorm2d / Linear
and compare whole trees (Sequential, ModuleList, ModuleDict, a residual block) with the same tree
of real torch modules: parameter, buffer, module and state_dict names, order and shapes; reprs;
load_state_dict's results and error messages.
"""

import copy
import re
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import convnp as cn
from convnp import nn
from convnp.nn import Identity, LayerInputError, Module, ModuleDict, ModuleList, Parameter, Sequential


# --------------------------------------------------------------------------------------------
# toy layers shaped like torch's
# --------------------------------------------------------------------------------------------
def _param(*shape, seed=0):
    return Parameter(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class ToyConv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.weight = _param(out_channels, in_channels, *self.kernel_size)
        if bias:
            self.bias = _param(out_channels, seed=1)
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        self.check_input(x, ndim=4, channels=self.in_channels, layout="(N, C, H, W)")
        n, _, h, w = x.shape
        return cn.zeros(n, self.out_channels, h, w)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ToyBatchNorm2d(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype=np.float32))
        self.bias = Parameter(np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_mean", np.zeros(num_features, dtype=np.float32))
        self.register_buffer("running_var", np.ones(num_features, dtype=np.float32))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x):
        self.check_input(x, ndim=4, channels=self.num_features)
        return x

    def extra_repr(self):
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine=True, bias=True, "
            f"track_running_stats=True"
        )


class ToyLinear(Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _param(out_features, in_features)
        self.bias = _param(out_features, seed=1) if bias else None
        if not bias:
            self.register_parameter("bias", None)

    def forward(self, x):
        self.check_input(x, ndim=2, channels=self.in_features)
        return cn.zeros(x.shape[0], self.out_features)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ToyReLU(Module):
    def forward(self, x):
        return x


CN = SimpleNamespace(
    Module=Module,
    Conv2d=ToyConv2d,
    BatchNorm2d=ToyBatchNorm2d,
    Linear=ToyLinear,
    ReLU=ToyReLU,
    Sequential=Sequential,
    ModuleList=ModuleList,
    ModuleDict=ModuleDict,
    Identity=Identity,
    Parameter=lambda *s: Parameter(np.ones(s, dtype=np.float32)),
    buffer=lambda *s: np.zeros(s, dtype=np.float32),
)
TH = SimpleNamespace(
    Module=torch.nn.Module,
    Conv2d=torch.nn.Conv2d,
    BatchNorm2d=torch.nn.BatchNorm2d,
    Linear=torch.nn.Linear,
    ReLU=torch.nn.ReLU,
    Sequential=torch.nn.Sequential,
    ModuleList=torch.nn.ModuleList,
    ModuleDict=torch.nn.ModuleDict,
    Identity=torch.nn.Identity,
    Parameter=lambda *s: torch.nn.Parameter(torch.ones(s)),
    buffer=lambda *s: torch.zeros(s),
)


def build_net(ns):
    """The same composite in either library: Sequential, a residual block, ModuleList (with
    repeated identical children), ModuleDict, own parameters and buffers registered after the
    children, a non-persistent buffer, a None parameter, and a module shared at two places."""

    class ResidualBlock(ns.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = ns.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = ns.BatchNorm2d(cout)
            self.relu = ns.ReLU()
            self.conv2 = ns.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = ns.BatchNorm2d(cout)
            self.downsample = ns.Sequential(ns.Conv2d(cin, cout, 1, stride=stride, bias=False), ns.BatchNorm2d(cout))

    class Net(ns.Module):
        def __init__(self):
            super().__init__()
            self.features = ns.Sequential(
                ns.Conv2d(3, 8, 5), ns.BatchNorm2d(8), ns.ReLU(), ResidualBlock(8, 16, stride=2), ns.Identity()
            )
            self.blocks = ns.ModuleList(
                [
                    ns.ReLU(),
                    ns.ReLU(),
                    ns.Linear(4, 4),
                    ns.Linear(4, 4),
                    ns.Sequential(OrderedDict(conv=ns.Conv2d(16, 16, 3), bn=ns.BatchNorm2d(16))),
                ]
            )
            self.heads = ns.ModuleDict({"cls": ns.Linear(16, 10), "aux": ns.Sequential(ns.Linear(16, 8), ns.ReLU())})
            self.scale = ns.Parameter(1)
            self.register_buffer("step_count", ns.buffer(3))
            self.register_buffer("scratch", ns.buffer(2), persistent=False)
            self.register_parameter("absent", None)
            self.tied = self.heads["cls"]  # the same module under two names

    return Net()


RENAME = {"ToyConv2d": "Conv2d", "ToyBatchNorm2d": "BatchNorm2d", "ToyLinear": "Linear", "ToyReLU": "ReLU"}


def tname(m):
    return RENAME.get(type(m).__name__, type(m).__name__)


def names_and_shapes(pairs):
    return [(k, tuple(v.shape)) for k, v in pairs]


@pytest.fixture
def nets():
    return build_net(CN), build_net(TH)


# --------------------------------------------------------------------------------------------
# Parameter
# --------------------------------------------------------------------------------------------
def test_parameter_dtypes_and_memory():
    a64 = np.arange(6.0).reshape(2, 3)
    p = Parameter(a64)
    assert p.dtype == np.float64 and p.requires_grad and p.is_leaf and isinstance(p, cn.Tensor)
    p.data[0, 0] = 99  # an array is copied
    assert a64[0, 0] == 0
    assert Parameter(a64.astype(np.float32)).dtype == np.float32
    assert Parameter([[1.0, 2.0]]).dtype == np.float32  # Python data -> float32, torch's default
    t = cn.randn(3, dtype=np.float64)
    pt = Parameter(t)  # a tensor's memory is shared, like torch
    pt.data[0] = 5.0
    assert t.data[0] == 5.0
    assert Parameter(np.zeros(2), requires_grad=False).requires_grad is False
    assert Parameter().shape == (0,)
    with pytest.raises(TypeError, match="only float tensors can require gradients"):
        Parameter(np.arange(3))


def test_parameter_grad_is_numpy_and_assignable():
    p = Parameter(np.ones((2, 3)))
    assert p.grad is None
    (p * p).sum().backward()  # autograd accumulates into .grad
    assert isinstance(p.grad, np.ndarray)
    np.testing.assert_array_equal(p.grad, 2 * np.ones((2, 3)))
    p.grad = np.full((2, 3), 0.5, dtype=np.float32)  # assigned grads take the parameter's dtype
    assert p.grad.dtype == np.float64 and p.grad[0, 0] == 0.5
    p.grad = cn.tensor(np.zeros((2, 3)))
    assert isinstance(p.grad, np.ndarray)
    with pytest.raises(
        ValueError, match=re.escape("the gradient must have the parameter's shape (2, 3). Received: shape (3, 2)")
    ):
        p.grad = np.zeros((3, 2))
    p.grad = None
    assert p.grad is None


def test_parameter_repr():
    r = repr(Parameter(np.array([1.0, 2.0], dtype=np.float32)))
    assert r.startswith("Parameter containing:\ntensor([1., 2.]") and "requires_grad=True" in r


# --------------------------------------------------------------------------------------------
# registration by assignment
# --------------------------------------------------------------------------------------------
def test_setattr_files_parameters_buffers_and_modules():
    m = Module()
    m.w = Parameter(np.zeros(2))
    m.child = Identity()
    m.register_buffer("buf", np.zeros(3))
    m.plain = 5
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"] and list(m._buffers) == ["buf"]
    assert "w" not in m.__dict__ and "child" not in m.__dict__ and m.plain == 5
    assert m.w is m._parameters["w"] and m.child is m._modules["child"] and m.buf is m._buffers["buf"]

    m.buf = np.ones(4)  # a registered buffer name stays a buffer
    assert m._buffers["buf"].shape == (4,) and "buf" not in m.__dict__
    m.buf = cn.tensor([1.0, 2.0])  # tensors are stored as their arrays
    assert isinstance(m._buffers["buf"], np.ndarray)
    with pytest.raises(TypeError, match="cannot assign 'str' object to buffer 'buf'"):
        m.buf = "x"

    m.w = None  # a declared, absent parameter
    assert m._parameters["w"] is None and m.w is None
    with pytest.raises(
        TypeError,
        match=re.escape(
            "cannot assign 'convnp.autograd.tensor.Tensor' as parameter 'w' (convnp.nn.Parameter or None expected)"
        ),
    ):
        m.w = cn.zeros(2)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'child'"):
        m.child = 3

    m.plain = Parameter(np.zeros(1))  # a plain attribute becomes a parameter
    assert "plain" in m._parameters and "plain" not in m.__dict__
    with pytest.raises(TypeError, match="cannot assign 'convnp.nn.containers.Identity' as parameter 'plain'"):
        m.plain = Identity()  # as torch: a parameter name takes Parameters
    m.plain = None
    del m.plain
    m.plain = Identity()
    assert "plain" in m._modules and "plain" not in m._parameters

    del m.plain, m.buf, m.w
    assert "plain" not in m._modules and "buf" not in m._buffers and "w" not in m._parameters
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nothing'"):
        m.nothing


def test_registration_errors_match_torch():
    m, t = Module(), torch.nn.Module()
    m.x, t.x = 1, 1
    for fn, args in [
        ("register_buffer", ("a.b", None)),
        ("register_buffer", ("", None)),
        ("register_buffer", ("x", None)),
        ("register_parameter", ("a.b", None)),
        ("register_parameter", ("", None)),
        ("register_parameter", ("x", None)),
        ("add_module", ("x", None)),
        ("add_module", ("a.b", None)),
        ("add_module", ("", None)),
    ]:
        with pytest.raises(KeyError) as theirs:
            getattr(t, fn)(*args)
        with pytest.raises(KeyError) as ours:
            getattr(m, fn)(*args)
        assert ours.value.args == theirs.value.args
    with pytest.raises(TypeError, match="buffer name should be a string. Got int"):
        m.register_buffer(3, None)
    with pytest.raises(TypeError, match=re.escape("cannot assign 'list' object to buffer 'b'")):
        m.register_buffer("b", [1, 2])
    with pytest.raises(TypeError, match="cannot assign 'numpy.ndarray' object to parameter 'p'"):
        m.register_parameter("p", np.zeros(2))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("c", 3)
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'q'"):
        p = Parameter(np.ones(2))
        q = p * 2
        q.__class__ = Parameter
        m.register_parameter("q", q)

    class Forgot(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match=re.escape("cannot assign parameters before Module.__init__() call")):
        Forgot()
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        Module()(1)


def test_get_submodule_and_named_modules_prefix(nets):
    net, tnet = nets
    assert net.get_submodule("features.3.downsample.1") is net.features[3].downsample[1]
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="ResidualBlock has no attribute `nope`"):
        net.get_submodule("features.3.nope")
    with pytest.raises(AttributeError, match="`scale` is not a Module"):
        net.get_submodule("scale")
    assert [n for n, _ in net.named_modules(prefix="model")] == [n for n, _ in tnet.named_modules(prefix="model")]


# --------------------------------------------------------------------------------------------
# walking the tree: names, order and shapes equal torch's
# --------------------------------------------------------------------------------------------
def test_names_order_and_shapes_equal_torch(nets):
    net, tnet = nets
    assert names_and_shapes(net.named_parameters()) == names_and_shapes(tnet.named_parameters())
    assert names_and_shapes(net.named_buffers()) == names_and_shapes(tnet.named_buffers())
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [n for n, _ in net.named_children()] == [n for n, _ in tnet.named_children()]
    assert [tname(m) for m in net.children()] == [tname(m) for m in tnet.children()]
    assert [tname(m) for m in net.modules()] == [tname(m) for m in tnet.modules()]
    assert names_and_shapes(net.named_parameters(prefix="m", recurse=False)) == names_and_shapes(
        tnet.named_parameters(prefix="m", recurse=False)
    )
    assert names_and_shapes(net.named_parameters(remove_duplicate=False)) == names_and_shapes(
        tnet.named_parameters(remove_duplicate=False)
    )
    assert len(list(net.parameters())) == len(list(tnet.parameters()))  # the tied head once
    assert len(list(net.modules())) == len(list(tnet.modules()))
    assert [b.shape for b in net.buffers()] == [tuple(b.shape) for b in tnet.buffers()]


def test_state_dict_keys_order_shapes_equal_torch(nets):
    net, tnet = nets
    ours, theirs = net.state_dict(), tnet.state_dict()
    assert isinstance(ours, OrderedDict)
    assert names_and_shapes(ours.items()) == names_and_shapes(theirs.items())
    assert "scratch" not in ours and "tied.weight" in ours  # as torch: shared listed twice
    assert ours["features.1.num_batches_tracked"].dtype == np.int64
    assert ours["features.1.num_batches_tracked"].shape == ()
    assert all(isinstance(v, np.ndarray) for v in ours.values())
    ours["features.0.weight"][...] = 123.0  # copies: the model is untouched
    assert not np.any(net.features[0].weight.data == 123.0)
    kept = net.state_dict(keep_vars=True)
    assert kept["features.0.weight"] is net.features[0].weight
    assert kept["features.1.running_mean"] is net.features[1].running_mean
    assert list(net.state_dict(prefix="model.")) == list(tnet.state_dict(prefix="model."))


def test_shared_parameters_yielded_once():
    a = ToyLinear(3, 3)
    b = ToyLinear(3, 3)
    b.weight = a.weight
    seq = Sequential(a, b, a)
    names = [n for n, _ in seq.named_parameters()]
    tseq_a, tseq_b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    tseq_b.weight = tseq_a.weight
    tseq = torch.nn.Sequential(tseq_a, tseq_b, tseq_a)
    assert names == [n for n, _ in tseq.named_parameters()]
    assert list(seq.state_dict()) == list(tseq.state_dict())


# --------------------------------------------------------------------------------------------
# modes, gradients, dtypes
# --------------------------------------------------------------------------------------------
def test_train_eval_propagate(nets):
    net, tnet = nets
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.features.train()
    tnet.eval()
    tnet.features.train()
    assert [m.training for m in net.modules()] == [m.training for m in tnet.modules()]
    with pytest.raises(ValueError, match="training mode is expected to be boolean. Received: mode=1"):
        net.train(1)


def test_requires_grad_freezes_and_backward_skips_frozen():
    lin = ToyLinear(3, 2)
    head = ToyLinear(2, 2)
    model = Sequential(lin, head)
    assert lin.requires_grad_(False) is lin
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    x = cn.tensor(np.ones((4, 3), dtype=np.float32))
    loss = ((x @ lin.weight.T) @ head.weight.T).sum()
    loss.backward()
    assert lin.weight.grad is None and head.weight.grad is not None
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_zero_grad(nets):
    net, _ = nets
    for p in net.parameters():
        p.grad = np.ones(p.shape, dtype=p.dtype)
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_float_double_to(nets):
    net, _ = nets
    params = list(net.parameters())
    w = net.features[0].weight
    w.grad = np.ones(w.shape, dtype=np.float32)
    assert all(p.dtype == np.float32 for p in params)
    assert net.double() is net
    assert all(a is b for a, b in zip(net.parameters(), params))  # the same Parameter objects
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert w.grad.dtype == np.float64
    bn = net.features[1]
    assert bn.running_mean.dtype == np.float64 and bn.running_var.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64  # integer buffers are left alone
    assert net.scratch.dtype == np.float64
    assert all(dict(net.named_buffers())[k] is v for k, v in net.named_buffers())
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters()) and w.grad.dtype == np.float32
    net.to(np.float64)
    assert w.dtype == np.float64
    net.to("float32")
    assert w.dtype == np.float32
    net.to(dtype=cn.float64)
    assert w.dtype == np.float64
    net.to("cpu")
    assert w.dtype == np.float64
    net.to("cpu", np.float32)
    assert w.dtype == np.float32
    with pytest.raises(ValueError, match=re.escape("Module.to: convnp runs on the CPU only. Received: device='cuda'")):
        net.to("cuda")
    with pytest.raises(
        TypeError, match=re.escape("Module.to: only floating point dtypes are accepted. Received: dtype=int64")
    ):
        net.to(np.int64)


def test_apply_visits_children_first_like_torch(nets):
    net, tnet = nets
    seen, tseen = [], []
    assert net.apply(lambda m: seen.append(tname(m))) is net
    tnet.apply(lambda m: tseen.append(tname(m)))
    assert seen == tseen


def test_deepcopy_is_independent(nets):
    net, _ = nets
    clone = copy.deepcopy(net)
    assert names_and_shapes(clone.state_dict().items()) == names_and_shapes(net.state_dict().items())
    clone.features[0].weight.data[...] = 0
    assert net.features[0].weight.data.any()


# --------------------------------------------------------------------------------------------
# load_state_dict: results and messages as torch's
# --------------------------------------------------------------------------------------------
def _torch_sd_from(sd):
    return OrderedDict((k, torch.from_numpy(np.array(v))) for k, v in sd.items())


def test_load_state_dict_round_trip_in_place_keeps_dtype():
    a, b = build_net(CN), build_net(CN)
    for i, p in enumerate(a.parameters()):
        p.data[...] = np.random.default_rng(i).standard_normal(p.shape)
    a.features[1].running_mean[...] = 7.0
    a.features[1].num_batches_tracked[...] = 12
    targets = {k: id(v.data if isinstance(v, cn.Tensor) else v) for k, v in b.state_dict(keep_vars=True).items()}
    sd64 = OrderedDict((k, v.astype(np.float64) if v.dtype == np.float32 else v) for k, v in a.state_dict().items())
    result = b.load_state_dict(sd64)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for k, v in b.state_dict(keep_vars=True).items():
        arr = v.data if isinstance(v, cn.Tensor) else v
        assert id(arr) == targets[k]  # written into the existing arrays
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert vb.dtype == va.dtype, k  # float64 input, float32 kept
        np.testing.assert_array_equal(va, vb)
    assert b.features[1].num_batches_tracked.dtype == np.int64 and int(b.features[1].num_batches_tracked) == 12
    # tensors are accepted as values
    c = build_net(CN)
    c.load_state_dict({k: cn.tensor(v) for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(c.heads["aux"][0].weight.data, a.heads["aux"][0].weight.data)


def _torch_error(tnet, sd, strict=True):
    with pytest.raises(RuntimeError) as info:
        tnet.load_state_dict(_torch_sd_from(sd), strict=strict)
    return re.sub(
        r"torch\.Size\(\[([^\]]*)\]\)",
        lambda m: "(" + m.group(1) + ("," if "," not in m.group(1) and m.group(1) else "") + ")",
        str(info.value),
    )


def test_load_state_dict_missing_unexpected_as_torch(nets):
    net, tnet = nets
    sd = net.state_dict()
    del sd["features.1.running_var"], sd["heads.aux.0.bias"]
    sd["features.9.weight"] = np.zeros(3, dtype=np.float32)
    sd["extra"] = np.zeros(1, dtype=np.float32)
    sd["blocks.4.conv.nothing"] = np.zeros(1, dtype=np.float32)
    theirs = tnet.load_state_dict(_torch_sd_from(sd), strict=False)
    ours = net.load_state_dict(sd, strict=False)
    assert ours.missing_keys == theirs.missing_keys and ours.unexpected_keys == theirs.unexpected_keys
    assert ours.missing_keys == ["features.1.running_var", "heads.aux.0.bias"]
    with pytest.raises(nn.LoadStateDictError) as info:
        net.load_state_dict(sd)
    assert str(info.value) == _torch_error(tnet, sd)
    assert str(info.value).startswith(
        "Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "
        '"features.1.running_var", "heads.aux.0.bias". \n\tUnexpected key(s) in '
        'state_dict: "extra", "features.9.weight", "blocks.4.conv.nothing". '
    )
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)


def test_load_state_dict_shape_mismatch_names_first_key_with_both_shapes(nets):
    net, tnet = nets
    sd = net.state_dict()
    sd["features.0.weight"] = np.zeros((8, 1, 5, 5), dtype=np.float32)
    sd["heads.cls.bias"] = np.zeros(3, dtype=np.float32)
    for strict in (True, False):  # a shape mismatch is an error either way
        with pytest.raises(ValueError) as info:
            net.load_state_dict(sd, strict=strict)
        msg = str(info.value)
        assert msg == _torch_error(tnet, sd, strict)
        assert msg.startswith(
            "Error(s) in loading state_dict for Net:\n\tsize mismatch for features.0.weight: "
            "copying a param with shape (8, 1, 5, 5) from checkpoint, the shape in current "
            "model is (8, 3, 5, 5)."
        )
        assert (
            "size mismatch for heads.cls.bias: copying a param with shape (3,) from checkpoint, the shape "
            "in current model is (10,)." in msg
        )


def test_load_state_dict_bad_values():
    lin = ToyLinear(2, 2)
    with pytest.raises(
        ValueError,
        match='While copying the parameter named "weight", expected a NumPy array or '
        "tensor from checkpoint but received str",
    ):
        lin.load_state_dict({"weight": "nope", "bias": np.zeros(2)})
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got list"):
        lin.load_state_dict([1, 2])


# --------------------------------------------------------------------------------------------
# repr
# --------------------------------------------------------------------------------------------
def test_repr_equals_torch(nets):
    net, tnet = nets
    ours = repr(net)
    for a, b in RENAME.items():
        ours = ours.replace(a + "(", b + "(")
    assert ours == repr(tnet)
    assert "(0-1): 2 x ReLU()" in ours and "(2-3): 2 x Linear(in_features=4, out_features=4, bias=True)" in ours
    assert repr(ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"
    assert repr(Sequential()) == "Sequential()"


# --------------------------------------------------------------------------------------------
# layer-path errors
# --------------------------------------------------------------------------------------------
class Deep(Module):
    """blocks: a ModuleList holding a Sequential nested two deep: blocks.0.0.1 expects 4 channels."""

    def __init__(self):
        super().__init__()
        self.stem = ToyConv2d(3, 6, 3)
        self.blocks = ModuleList([Sequential(Sequential(ToyConv2d(6, 6, 1), ToyConv2d(4, 6, 1))), ToyBatchNorm2d(6)])

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return x


def test_layer_error_direct_call_names_the_layer():
    conv = ToyConv2d(6, 8, 3)
    with pytest.raises(
        ValueError, match=re.escape("ToyConv2d: expected input with 6 channels, received shape (2, 3, 28, 28)")
    ) as info:
        conv(cn.zeros(2, 3, 28, 28))
    assert isinstance(info.value, LayerInputError) and info.value.module is conv and info.value.path == ""
    with pytest.raises(
        ValueError, match=re.escape("ToyConv2d: expected 4D input (N, C, H, W), received shape (3, 28, 28)")
    ):
        conv(cn.zeros(3, 28, 28))


def test_layer_error_path_through_modulelist_and_nested_sequentials():
    model = Deep()
    with pytest.raises(ValueError) as info:
        model(cn.zeros(2, 3, 8, 8))
    assert str(info.value) == "blocks.0.0.1 (ToyConv2d): expected input with 4 channels, received shape (2, 6, 8, 8)"
    assert info.value.path == "blocks.0.0.1" and info.value.module is model.blocks[0][0][1]
    with pytest.raises(ValueError) as info:  # the wrong input to the first layer
        model(cn.zeros(2, 5, 8, 8))
    assert str(info.value) == "stem (ToyConv2d): expected input with 3 channels, received shape (2, 5, 8, 8)"
    with pytest.raises(ValueError) as info:  # called on the inner Sequential: relative path
        model.blocks[0](cn.zeros(2, 6, 8, 8))
    assert str(info.value) == "0.1 (ToyConv2d): expected input with 4 channels, received shape (2, 6, 8, 8)"
    with pytest.raises(ValueError) as info:  # ... and again from the top: the message is rebuilt
        Sequential(model)(cn.zeros(2, 3, 8, 8))
    assert str(info.value) == "0.blocks.0.0.1 (ToyConv2d): expected input with 4 channels, received shape (2, 6, 8, 8)"


def test_layer_error_when_forward_is_called_directly_or_layer_is_foreign():
    class Direct(Module):
        def __init__(self):
            super().__init__()
            self.body = Sequential(ToyBatchNorm2d(1))
            self.outsider = [ToyConv2d(5, 5, 1)]  # not registered: not part of the tree

        def forward(self, x):
            x = self.body.forward(x)  # bypasses Sequential.__call__
            return self.outsider[0](x)

    model = Direct()
    with pytest.raises(ValueError) as info:
        model(cn.zeros(1, 2, 4, 4))
    assert str(info.value) == "body.0 (ToyBatchNorm2d): expected input with 1 channel, received shape (1, 2, 4, 4)"
    with pytest.raises(ValueError) as info:
        model(cn.zeros(1, 1, 4, 4))
    assert str(info.value) == "ToyConv2d: expected input with 5 channels, received shape (1, 1, 4, 4)"


def test_check_input_variants():
    m = Module()
    m.check_input(cn.zeros(2, 3), ndim=(2, 3), channels=3, channel_axis=-1)
    with pytest.raises(ValueError, match=re.escape("Module: expected 3D or 4D input, received shape (2,)")):
        m.check_input(np.zeros(2), ndim=(3, 4))
    with pytest.raises(ValueError, match=re.escape("Module: expected input with 3 channels, received shape (5, 2)")):
        m.check_input(np.zeros((5, 2)), channels=3, channel_axis=-1)
    with pytest.raises(ValueError, match=re.escape("Module: expected input with 2 channels, received shape (5,)")):
        m.check_input(np.zeros(5), channels=2)  # no channel axis at all
    with pytest.raises(LayerInputError, match=re.escape("Module: custom detail")):
        m._input_error("custom detail")


# --------------------------------------------------------------------------------------------
# containers
# --------------------------------------------------------------------------------------------
class AddConst(Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return x + self.c


class MulConst(AddConst):
    def forward(self, x):
        return x * self.c


def test_sequential_forward_index_slice_and_edit():
    seq = Sequential(AddConst(1), MulConst(3), AddConst(-2))
    assert float(seq(cn.tensor(2.0)).item()) == (2 + 1) * 3 - 2
    assert seq[-1].c == -2 and seq[0].c == 1 and len(seq) == 3
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    sub = seq[1:]
    assert isinstance(sub, Sequential) and list(sub._modules) == ["1", "2"] and sub[0] is seq[1]
    assert [m.c for m in seq] == [1, 3, -2]
    named = Sequential(OrderedDict([("first", AddConst(1)), ("second", MulConst(2))]))
    assert list(named._modules) == ["first", "second"] and named.first.c == 1
    assert list(named[1:]._modules) == ["second"]

    tseq = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh(), torch.nn.Sigmoid())
    seq.append(AddConst(10))
    tseq.append(torch.nn.ReLU())
    seq.insert(1, AddConst(20))
    tseq.insert(1, torch.nn.ReLU())
    del seq[0]
    del tseq[0]
    seq.extend([AddConst(30)])
    tseq.extend([torch.nn.ReLU()])
    popped = seq.pop(-1)
    tseq.pop(-1)
    assert popped.c == 30
    seq[0] = AddConst(99)
    assert list(seq._modules) == list(tseq._modules) and [m.c for m in seq] == [99, 3, -2, 10]
    del seq[1:3]
    assert list(seq._modules) == ["0", "1"] and [m.c for m in seq] == [99, 10]
    both = seq + Sequential(AddConst(5))
    assert [m.c for m in both] == [99, 10, 5] and list(both._modules) == ["0", "1", "2"]
    seq += Sequential(AddConst(6))
    assert [m.c for m in seq] == [99, 10, 6]
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential class"):
        seq + [AddConst(1)]


def test_modulelist_operations_match_torch_keys():
    ml = ModuleList([AddConst(i) for i in range(3)])
    tl = torch.nn.ModuleList([torch.nn.ReLU() for _ in range(3)])
    assert len(ml) == 3 and ml[-1].c == 2 and [m.c for m in ml] == [0, 1, 2]
    assert isinstance(ml[1:], ModuleList) and [m.c for m in ml[::2]] == [0, 2]
    ml.append(AddConst(3))
    tl.append(torch.nn.ReLU())
    ml.extend([AddConst(4), AddConst(5)])
    tl.extend([torch.nn.ReLU(), torch.nn.ReLU()])
    ml.insert(1, AddConst(10))
    tl.insert(1, torch.nn.ReLU())
    assert [m.c for m in ml] == [0, 10, 1, 2, 3, 4, 5]
    ml.insert(-1, AddConst(11))  # like list.insert
    assert [m.c for m in ml] == [0, 10, 1, 2, 3, 4, 11, 5]
    del ml[-2]
    del ml[0]
    del tl[0]
    assert [m.c for m in ml] == [10, 1, 2, 3, 4, 5] and list(ml._modules) == list(tl._modules)
    ml[0] = AddConst(7)
    assert ml[0].c == 7 and ml.pop(0).c == 7 and len(ml) == 5
    ml += [AddConst(8)]
    assert ml[-1].c == 8 and [m.c for m in ml + [AddConst(9)]][-1] == 9
    with pytest.raises(IndexError, match="index -7 is out of range"):
        ml[-7]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable, but got int"):
        ml.extend(3)
    with pytest.raises(NotImplementedError):
        ml(1)


def test_moduledict_operations():
    md = ModuleDict({"a": AddConst(1), "b": AddConst(2)})
    md["c"] = AddConst(3)
    md.update([("d", AddConst(4))])
    md.update(OrderedDict(e=AddConst(5)))
    assert list(md) == ["a", "b", "c", "d", "e"] and list(md.keys()) == list(md._modules)
    assert "c" in md and len(md) == 5 and md["b"].c == 2
    assert [m.c for m in md.values()] == [1, 2, 3, 4, 5] and [k for k, _ in md.items()] == list(md)
    assert md.pop("a").c == 1 and "a" not in md
    del md["b"]
    assert list(md) == ["c", "d", "e"]
    with pytest.raises(ValueError, match="ModuleDict update sequence element #0 has length 3; 2 is required"):
        md.update([("x", AddConst(1), 3)])
    with pytest.raises(TypeError, match="ModuleDict update sequence element #0 should be Iterable"):
        md.update([5])
    md.clear()
    assert len(md) == 0


def test_identity():
    x = cn.randn(2, 3)
    assert Identity(54, unused="x")(x) is x
    assert repr(Identity()) == "Identity()"


# --------------------------------------------------------------------------------------------
# hooks
# --------------------------------------------------------------------------------------------
def test_forward_hooks():
    seq = Sequential(AddConst(1), MulConst(2))
    seen = []
    h1 = seq[0].register_forward_hook(lambda m, args, out: seen.append((float(args[0].item()), float(out.item()))))
    h2 = seq[1].register_forward_pre_hook(lambda m, args: (args[0] + 100,))
    assert float(seq(cn.tensor(1.0)).item()) == (1 + 1 + 100) * 2
    assert seen == [(1.0, 2.0)]
    h2.remove()
    with h1:
        assert float(seq(cn.tensor(1.0)).item()) == 4.0
    assert float(seq(cn.tensor(1.0)).item()) == 4.0 and len(seen) == 2  # h1 removed on leaving the with
    seq.register_forward_hook(lambda m, args, out: out * 10)
    assert float(seq(cn.tensor(1.0)).item()) == 40.0
