"""The pieces together: layers, containers, losses, optimisers, schedulers and weights on disk.

- The issue's LeNet-style CNN trains on a fixed random batch until its loss is below 1% of its
  start (SGD with momentum and weight decay, cosine annealing), then round-trips its state_dict
  through cn.save / cn.load with identical outputs.
- The same network in convnp and in PyTorch, from the same weights on the same batch, gives the
  same loss curve over 10 SGD steps (float64).
- A composite network (Sequential, ModuleList, ModuleDict, BatchNorm, residual blocks, LayerNorm)
  built from the real layers of both libraries: state_dict keys, shapes, dtypes and order equal;
  with torch's weights loaded, forward, every parameter gradient and the running statistics match,
  in train and eval mode, as a float64 model (``.double()``) and a float32 one.
- Bad input deep in a model names the layer by its path (``features.0 (Conv2d)``,
  ``features.5 (Linear)``, ``blocks.1.bn2 (BatchNorm2d)``).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from helpers import TOL, assert_close

import convnp as cn
from convnp import nn, optim

TDT = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


def lenet(lib):
    """The issue's network, from ``lib`` (convnp.nn or torch.nn)."""
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2),
        lib.ReLU(),
        lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5),
        lib.ReLU(),
        lib.MaxPool2d(2),
        lib.Flatten(),
        lib.Linear(16 * 5 * 5, 120),
        lib.ReLU(),
        lib.Linear(120, 84),
        lib.ReLU(),
        lib.Linear(84, 10),
    )


def _batch(seed=0, n=32):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, 1, 28, 28)), r.integers(0, 10, n)


def _copy_torch_to_cn(cn_model, t_model):
    result = cn_model.load_state_dict({k: v.detach().numpy().copy() for k, v in t_model.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys


# --------------------------------------------------------------------------------------------
# Training, saving, loading
# --------------------------------------------------------------------------------------------
def test_lenet_trains_on_a_fixed_batch_and_round_trips_through_disk(tmp_path):
    cn.manual_seed(0)
    model = lenet(nn)
    assert all(p.dtype == np.float32 for p in model.parameters())
    x_np, y = _batch(0)
    x = cn.tensor(x_np.astype(np.float32))
    max_steps = 150
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max_steps)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for _ in range(max_steps):
        loss = criterion(model(x), y)
        losses.append(loss.item())
        if loss.item() < 0.01 * losses[0]:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    assert losses[0] > 2.0  # about log(10) at the start
    assert losses[-1] < 0.01 * losses[0], f"loss {losses[-1]:.4f} after {len(losses)} steps (start {losses[0]:.4f})"
    assert (np.argmax(model(x).data, axis=1) == y).all()  # the batch is memorised

    path = tmp_path / "lenet.safetensors"
    cn.save(model.state_dict(), path)
    cn.manual_seed(1)
    fresh = lenet(nn)
    assert not np.array_equal(fresh(x).data, model(x).data)
    fresh.load_state_dict(cn.load(path))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    for (k, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=k)
        assert a.dtype == b.dtype
    # the same model loads back through the optimiser round trip too
    opt_path = tmp_path / "opt.safetensors"
    cn.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, opt_path)
    ckpt = cn.load(opt_path)
    fresh.load_state_dict(ckpt["model"])
    opt2 = optim.SGD(fresh.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    opt2.load_state_dict(ckpt["optimizer"])
    for (_, a), b in zip(model.named_parameters(), fresh.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_lenet_loss_curve_matches_torch_for_10_sgd_steps():
    torch.manual_seed(0)
    theirs = lenet(torch.nn).double()
    ours = lenet(nn).double()
    _copy_torch_to_cn(ours, theirs)
    x_np, y = _batch(1)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    c_opt = optim.SGD(ours.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    t_sched = torch.optim.lr_scheduler.CosineAnnealingLR(t_opt, T_max=10)
    c_sched = optim.lr_scheduler.CosineAnnealingLR(c_opt, T_max=10)
    xt, yt, xc = torch.tensor(x_np), torch.tensor(y), cn.tensor(x_np)
    t_losses, c_losses = [], []
    for _ in range(10):
        lt = torch.nn.functional.cross_entropy(theirs(xt), yt)
        lc = nn.functional.cross_entropy(ours(xc), y)
        t_losses.append(lt.item())
        c_losses.append(lc.item())
        t_opt.zero_grad()
        c_opt.zero_grad()
        lt.backward()
        lc.backward()
        t_opt.step()
        c_opt.step()
        t_sched.step()
        c_sched.step()
    np.testing.assert_allclose(c_losses, t_losses, rtol=1e-10, atol=0)
    assert c_losses[-1] < c_losses[0]  # it learned something
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p, tp, 1e-10, name)


# --------------------------------------------------------------------------------------------
# A composite network from the real layers of both libraries
# --------------------------------------------------------------------------------------------
def composite(lib):
    class Residual(lib.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = lib.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = lib.BatchNorm2d(c)
            self.relu = lib.ReLU()
            self.conv2 = lib.Conv2d(c, c, 3, padding=1, bias=False, padding_mode="reflect")
            self.bn2 = lib.BatchNorm2d(c, momentum=None)

        def forward(self, x):
            return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + x)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.Sequential(
                lib.Conv2d(3, 8, 3, padding=1, bias=False), lib.BatchNorm2d(8), lib.PReLU(8), lib.MaxPool2d(2)
            )
            self.blocks = lib.ModuleList([Residual(8), Residual(8)])
            self.pool = lib.AdaptiveAvgPool2d(1)
            self.norm = lib.LayerNorm(8)
            self.heads = lib.ModuleDict(
                {"cls": lib.Linear(8, 5), "aux": lib.Sequential(lib.Linear(8, 4), lib.GELU(), lib.Linear(4, 2))}
            )

        def forward(self, x):
            x = self.features(x)
            for block in self.blocks:
                x = block(x)
            x = self.norm(self.pool(x).flatten(1))
            return self.heads["cls"](x), self.heads["aux"](x)

    return Net()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_composite_network_matches_torch(dtype):
    dtype = np.dtype(dtype)
    torch.manual_seed(3)
    theirs = composite(torch.nn).to(TDT[dtype])
    ours = composite(nn)
    assert repr(ours) == repr(theirs)
    if dtype == np.float64:
        ours.double()
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)  # keys and their order
    assert "blocks.1.bn2.num_batches_tracked" in ours_sd and "heads.aux.2.bias" in ours_sd
    for k in ours_sd:
        assert ours_sd[k].shape == tuple(theirs_sd[k].shape), k
        assert ours_sd[k].dtype == theirs_sd[k].numpy().dtype, k
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    _copy_torch_to_cn(ours, theirs)

    tol = TOL[dtype]
    r = np.random.default_rng(4)
    for step, train in enumerate([True, True, False, True]):
        ours.train(train)
        theirs.train(train)
        ours.zero_grad()
        theirs.zero_grad()
        x = r.standard_normal((3, 3, 8, 6)).astype(dtype) + step
        xc, xt = cn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (c1, c2), (t1, t2) = ours(xc), theirs(xt)
        assert_close(c1, t1, tol, f"step {step} cls")
        assert_close(c2, t2, tol, f"step {step} aux")
        g1, g2 = r.standard_normal(c1.shape).astype(dtype), r.standard_normal(c2.shape).astype(dtype)
        ((c1 * g1).sum() + (c2 * g2).sum()).backward()
        ((t1 * torch.tensor(g1)).sum() + (t2 * torch.tensor(g2)).sum()).backward()
        assert_close(xc.grad, xt.grad, tol, f"step {step} input grad")
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            assert p.grad.dtype == dtype
            assert_close(p.grad, tp.grad, tol, f"step {step} {name} grad")
        for (name, b), tb in zip(ours.state_dict().items(), theirs.state_dict().values()):
            assert_close(b, tb, tol, f"step {step} {name}")
    assert int(ours.blocks[1].bn2.num_batches_tracked) == 3


def test_float_model_rejects_double_input_and_double_converts():
    model = composite(nn)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 6))
    with pytest.raises(TypeError, match="dtype"):
        model(cn.tensor(x))  # float32 parameters, float64 input
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert all(
        b.dtype == (np.int64 if n.endswith("num_batches_tracked") else np.float64) for n, b in model.named_buffers()
    )
    assert model(cn.tensor(x))[0].dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())


# --------------------------------------------------------------------------------------------
# Layer-path errors in nested models
# --------------------------------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self, bn_channels=6):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5),
            nn.BatchNorm2d(bn_channels),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(6 * 12 * 12, 10),
        )

    def forward(self, x):
        return self.features(x)


def test_errors_name_the_layer_by_its_path():
    x = cn.randn(2, 1, 28, 28).astype(np.float32)
    assert Net()(x).shape == (2, 10)
    cases = [
        (Net(), (2, 3, 28, 28), "features.0 (Conv2d): expected input with 1 channel, received shape (2, 3, 28, 28)"),
        (
            Net(),
            (28, 28),
            "features.0 (Conv2d): expected 3D or 4D input (C, H, W) or (N, C, H, W), received shape (28, 28)",
        ),
        (
            Net(),
            (2, 1, 32, 32),
            "features.5 (Linear): expected input of shape (*, 864) (in_features=864 in the last "
            "dimension), received shape (2, 1176)",
        ),
        (
            Net(bn_channels=4),
            (2, 1, 28, 28),
            "features.1 (BatchNorm2d): expected input with 4 channels, received shape (2, 6, 24, 24)",
        ),
        (
            nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Conv2d(6, 16, 5)),
            (2, 3, 28, 28),
            "0 (Conv2d): expected input with 1 channel, received shape (2, 3, 28, 28)",
        ),
        (
            nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(4, 2)),
            (5, 4),
            "2 (Linear): expected input of shape (*, 4) (in_features=4 in the last dimension), received shape (5, 3)",
        ),
    ]
    for model, shape, message in cases:
        with pytest.raises(nn.LayerInputError, match="^" + re.escape(message) + "$"):
            model(cn.randn(*shape).astype(np.float32))
    # deeper: inside a ModuleList's residual block
    model = composite(nn)
    model.blocks[1].bn2 = nn.BatchNorm2d(4)
    with pytest.raises(
        ValueError,
        match=r"^blocks\.1\.bn2 \(BatchNorm2d\): expected input with 4 channels, "
        r"received shape \(2, 8, 4, 3\)$",
    ):
        model(cn.randn(2, 3, 8, 6).astype(np.float32))
    # called directly, the layer names itself
    with pytest.raises(ValueError, match=r"^Linear: expected input of shape \(\*, 864\)"):
        Net().features[5](cn.randn(2, 10).astype(np.float32))
