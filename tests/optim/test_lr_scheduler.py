"""Every scheduler against torch.optim.lr_scheduler as the oracle.

The same scheduler on the same optimiser (two param groups with different learning rates) must
produce the same learning-rate sequence as PyTorch's for 40 steps, bit for bit (the recursions
are the same formulas evaluated in the same order), also when its state is saved halfway (state_dict, through
cn.save / cn.load) and restored into a freshly built optimiser and scheduler.
"""

import re
import warnings

import numpy as np
import pytest
import torch

from convnp import optim
from convnp.nn import Parameter
from convnp.optim import lr_scheduler as ls
from convnp.serialization import load, save

N_STEPS = 40
HALF = 17
LRS = (0.1, 0.03)


def make_cn_opt(kind="SGD"):
    groups = [{"params": [Parameter(np.ones(2))], "lr": LRS[0]}, {"params": [Parameter(np.ones(3))], "lr": LRS[1]}]
    if kind == "SGD":
        return optim.SGD(groups, lr=0.5, momentum=0.9)
    return getattr(optim, kind)(groups)


def make_torch_opt(kind="SGD"):
    groups = [
        {"params": [torch.nn.Parameter(torch.ones(2))], "lr": LRS[0]},
        {"params": [torch.nn.Parameter(torch.ones(3))], "lr": LRS[1]},
    ]
    if kind == "SGD":
        return torch.optim.SGD(groups, lr=0.5, momentum=0.9)
    return getattr(torch.optim, kind)(groups)


def group_values(opt):
    """What a scheduler may change in each group: lr, momentum, beta1."""
    out = []
    for g in opt.param_groups:
        out.append((g["lr"], g.get("momentum"), g["betas"][0] if "betas" in g else None))
    return out


def close(a, b):
    if a is None or b is None:
        return a is b
    return a == b  # bit for bit: the same formulas in the same order


def assert_same(ours, theirs, what):
    assert len(ours) == len(theirs), what
    for t, (o, th) in enumerate(zip(ours, theirs)):
        for go, gt in zip(o, th):
            assert all(close(x, y) for x, y in zip(go, gt)), f"{what}: step {t}: {go} != {gt}"


def run_torch(make, kind, n=N_STEPS, metrics=None):
    opt = make_torch_opt(kind)
    sched = make(torch.optim.lr_scheduler, opt)
    seq = [group_values(opt)]
    last = [list(sched.get_last_lr())]
    for t in range(n):
        opt.step()
        sched.step(metrics[t]) if metrics is not None else sched.step()
        seq.append(group_values(opt))
        last.append(list(sched.get_last_lr()))
    return seq, last


def run_cn(make, kind, n=N_STEPS, metrics=None, restore_at=None, tmp_path=None):
    opt = make_cn_opt(kind)
    sched = make(ls, opt)
    seq = [group_values(opt)]
    last = [list(sched.get_last_lr())]
    for t in range(n):
        if t == restore_at:  # save, rebuild from scratch, load, continue
            ckpt = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
            if tmp_path is not None:
                save(ckpt, tmp_path / "sched.safetensors")
                ckpt = load(tmp_path / "sched.safetensors")
            opt = make_cn_opt(kind)
            sched = make(ls, opt)  # (scheduler before the optimiser's state)
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
        opt.step()
        sched.step(metrics[t]) if metrics is not None else sched.step()
        seq.append(group_values(opt))
        last.append(list(sched.get_last_lr()))
    return seq, last, opt


SCHEDULERS = {
    "StepLR": (lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), "SGD"),
    "StepLR-3": (lambda m, o: m.StepLR(o, step_size=3), "SGD"),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3), "SGD"),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.93), "SGD"),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=12, eta_min=1e-3), "SGD"),
    "CosineAnnealingLR-0": (lambda m, o: m.CosineAnnealingLR(o, T_max=7), "Adam"),
    "LinearLR": (lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=10), "SGD"),
    "LinearLR-default": (lambda m, o: m.LinearLR(o), "Adam"),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=6), "SGD"),
    "OneCycleLR-cos-SGD": (lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.4], total_steps=N_STEPS), "SGD"),
    "OneCycleLR-linear-Adam": (
        lambda m, o: m.OneCycleLR(
            o, max_lr=0.2, epochs=4, steps_per_epoch=10, anneal_strategy="linear", pct_start=0.25
        ),
        "Adam",
    ),
    "OneCycleLR-three-phase": (
        lambda m, o: m.OneCycleLR(
            o,
            max_lr=0.5,
            total_steps=N_STEPS,
            three_phase=True,
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
        "SGD",
    ),
    "OneCycleLR-no-momentum": (
        lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=N_STEPS + 5, cycle_momentum=False),
        "Adadelta",
    ),
    "OneCycleLR-RMSprop": (lambda m, o: m.OneCycleLR(o, max_lr=0.05, total_steps=N_STEPS), "RMSprop"),
    "SequentialLR": (
        lambda m, o: m.SequentialLR(
            o,
            [m.LinearLR(o, start_factor=0.2, total_iters=5), m.CosineAnnealingLR(o, T_max=15, eta_min=1e-4)],
            milestones=[5],
        ),
        "SGD",
    ),
    "SequentialLR-3": (
        lambda m, o: m.SequentialLR(
            o,
            [
                m.ConstantLR(o, factor=0.5, total_iters=4),
                m.ExponentialLR(o, gamma=0.9),
                m.StepLR(o, step_size=4, gamma=0.5),
            ],
            milestones=[6, 20],
        ),
        "AdamW",
    ),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + e) ** 0.5), "SGD"),
    "LambdaLR-per-group": (
        lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 0.95**e, lambda e: min(1.0, (e + 1) / 5)]),
        "SGD",
    ),
    "CosineAnnealingWarmRestarts": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, eta_min=1e-3), "SGD"),
    "CosineAnnealingWarmRestarts-mult": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), "Adam"),
    "CyclicLR-triangular": (
        lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.002], max_lr=[0.1, 0.05], step_size_up=5, step_size_down=3),
        "SGD",
    ),
    "CyclicLR-triangular2-Adam": (
        lambda m, o: m.CyclicLR(
            o,
            base_lr=0.001,
            max_lr=0.01,
            step_size_up=4,
            mode="triangular2",
            base_momentum=0.85,
            max_momentum=[0.95, 0.9],
        ),
        "Adam",
    ),
    "CyclicLR-exp_range": (
        lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=3, mode="exp_range", gamma=0.97),
        "SGD",
    ),
    "CyclicLR-scale_fn-iterations": (
        lambda m, o: m.CyclicLR(
            o,
            base_lr=0.01,
            max_lr=0.1,
            step_size_up=6,
            scale_fn=lambda x: 1 / (1 + 0.1 * x),
            scale_mode="iterations",
            cycle_momentum=False,
        ),
        "Adadelta",
    ),
    "CyclicLR-scale_fn-cycle": (
        lambda m, o: m.CyclicLR(
            o, base_lr=0.02, max_lr=0.3, step_size_up=2, step_size_down=7, scale_fn=lambda x: 0.8**x
        ),
        "RMSprop",
    ),
    "PolynomialLR": (lambda m, o: m.PolynomialLR(o, total_iters=25, power=2.0), "SGD"),
    "PolynomialLR-default": (lambda m, o: m.PolynomialLR(o), "Adam"),
    "PolynomialLR-sqrt": (lambda m, o: m.PolynomialLR(o, total_iters=13, power=0.5), "SGD"),
    "MultiplicativeLR": (lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.95), "SGD"),
    "MultiplicativeLR-per-group": (
        lambda m, o: m.MultiplicativeLR(o, lr_lambda=[lambda e: 0.9 if e % 3 else 1.1, lambda e: 1.0 / (1 + 0.01 * e)]),
        "Adam",
    ),
    "ChainedScheduler": (
        lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9)]),
        "SGD",
    ),
    "ChainedScheduler-3": (
        lambda m, o: m.ChainedScheduler(
            [
                m.LinearLR(o, start_factor=0.2, total_iters=5),
                m.CosineAnnealingLR(o, T_max=15, eta_min=1e-4),
                m.MultiplicativeLR(o, lr_lambda=lambda e: 0.99),
            ],
            optimizer=o,
        ),
        "AdamW",
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_equals_torch(name):
    make, kind = SCHEDULERS[name]
    theirs, theirs_last = run_torch(make, kind)
    ours, ours_last, opt = run_cn(make, kind)
    assert_same(ours, theirs, name)
    assert_same([[tuple(x)] for x in ours_last], [[tuple(x)] for x in theirs_last], name + " get_last_lr")
    assert len({round(v[0][0], 15) for v in ours}) > 1 or name == "ConstantLR"  # the lr did move
    assert [g["initial_lr"] for g in opt.param_groups] == [g["initial_lr"] for g in make_torch_opt_with(make, kind)]


def make_torch_opt_with(make, kind):
    opt = make_torch_opt(kind)
    make(torch.optim.lr_scheduler, opt)
    return opt.param_groups


@pytest.mark.parametrize("through_file", [False, True])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_state_dict_round_trip_halfway(name, through_file, tmp_path):
    make, kind = SCHEDULERS[name]
    theirs, theirs_last = run_torch(make, kind)
    ours, ours_last, _ = run_cn(make, kind, restore_at=HALF, tmp_path=tmp_path if through_file else None)
    assert_same(ours, theirs, name)
    assert_same([[tuple(x)] for x in ours_last], [[tuple(x)] for x in theirs_last], name)


def test_state_dict_keys_like_torch():
    for name, (make, kind) in SCHEDULERS.items():
        if name.startswith(("LambdaLR", "SequentialLR", "ChainedScheduler")):
            continue
        topt, opt = make_torch_opt(kind), make_cn_opt(kind)
        theirs, ours = make(torch.optim.lr_scheduler, topt).state_dict(), make(ls, opt).state_dict()
        assert set(ours) <= set(theirs), name
        assert {"base_lrs", "last_epoch", "_step_count", "_last_lr"} <= set(ours), name
        for k in ("base_lrs", "last_epoch", "_step_count", "_last_lr"):
            assert ours[k] == theirs[k], (name, k)


# --------------------------------------------------------------------------------------------
# ReduceLROnPlateau
# --------------------------------------------------------------------------------------------
def plateau_metrics(seed):
    rng = np.random.default_rng(seed)
    # improving, then a long noisy plateau a little above the best value, then improving again
    noise = 0.002 * rng.standard_normal(40)
    return list(
        np.concatenate(
            [np.linspace(1.0, 0.5, 8) + noise[:8], 0.51 + np.abs(noise[8:28]), np.linspace(0.49, 0.2, 12) + noise[28:]]
        )
    )


PLATEAU = {
    "min-rel": dict(),
    "min-rel-patience": dict(patience=2, factor=0.5, threshold=1e-3),
    "min-abs-cooldown": dict(mode="min", threshold_mode="abs", threshold=0.01, patience=1, cooldown=3, factor=0.7),
    "min_lr-list": dict(patience=0, factor=0.3, min_lr=[0.01, 0.005]),
    "min_lr-eps": dict(patience=0, factor=0.99, eps=1e-3),
    "max-rel": dict(mode="max", patience=3, factor=0.5),
    "max-abs": dict(mode="max", threshold_mode="abs", threshold=0.05, patience=2, cooldown=1),
}


@pytest.mark.parametrize("name", list(PLATEAU))
@pytest.mark.parametrize("restore", [False, True])
def test_reduce_lr_on_plateau_equals_torch(name, restore, tmp_path):
    kwargs = PLATEAU[name]
    metrics = plateau_metrics(len(name))
    if kwargs.get("mode") == "max":
        metrics = [-m for m in metrics]

    def make(m, o):
        return m.ReduceLROnPlateau(o, **kwargs)

    theirs, theirs_last = run_torch(make, "SGD", metrics=metrics)
    ours, ours_last, _ = run_cn(
        make, "SGD", metrics=metrics, restore_at=HALF if restore else None, tmp_path=tmp_path if restore else None
    )
    assert_same(ours, theirs, name)
    assert_same([[tuple(x)] for x in ours_last], [[tuple(x)] for x in theirs_last], name)
    assert ours[-1][0][0] < LRS[0]  # it did reduce


def test_reduce_lr_on_plateau_accepts_tensors_and_arrays():
    import convnp as cn

    opt = make_cn_opt()
    sched = ls.ReduceLROnPlateau(opt, patience=0)
    sched.step(cn.tensor(1.0))
    sched.step(np.array(2.0))
    assert sched.get_last_lr() == [LRS[0] * 0.1, LRS[1] * 0.1]


# --------------------------------------------------------------------------------------------
# closed forms, warnings, errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "ConstantLR", "PolynomialLR"]
)
def test_step_with_epoch_uses_closed_form_like_torch(name):
    make, kind = SCHEDULERS[name]
    topt, opt = make_torch_opt(kind), make_cn_opt(kind)
    tsched, sched = make(torch.optim.lr_scheduler, topt), make(ls, opt)
    for epoch in [3, 9, 4, 15]:
        topt.step()
        opt.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tsched.step(epoch)
        with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
            sched.step(epoch)
        assert_same([group_values(opt)], [group_values(topt)], f"{name} epoch {epoch}")


def test_scheduler_before_optimizer_warns():
    opt = make_cn_opt()
    sched = ls.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=re.escape("Detected call of `lr_scheduler.step()` before `optimizer.step()`")):
        sched.step()
    opt2 = make_cn_opt()
    sched2 = ls.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()
        sched2.get_last_lr()
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched2.get_lr()


def test_one_cycle_past_total_steps_raises():
    opt = make_cn_opt()
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(2):
        opt.step()
        sched.step()
    opt.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()
        sched.step()


def test_resuming_with_last_epoch_needs_initial_lr():
    opt = make_cn_opt()
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        ls.StepLR(opt, step_size=2, last_epoch=5)


@pytest.mark.parametrize(
    "make",
    [
        lambda m, o: m.StepLR("not an optimizer", step_size=2),
        lambda m, o: m.ReduceLROnPlateau(o, factor=1.0),
        lambda m, o: m.ReduceLROnPlateau(o, mode="middle"),
        lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="relative"),
        lambda m, o: m.ReduceLROnPlateau(o, min_lr=[0.1]),
        lambda m, o: m.LinearLR(o, start_factor=0.0),
        lambda m, o: m.LinearLR(o, end_factor=1.5),
        lambda m, o: m.ConstantLR(o, factor=2.0),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=0),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1),
        lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
        lambda m, o: m.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10),
        lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2), m.StepLR(o, 3)], milestones=[1, 2]),
        lambda m, o: m.SequentialLR(o, [], milestones=[]),
        lambda m, o: m.SequentialLR(o, [m.ReduceLROnPlateau(o)], milestones=[]),
        lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 1.0]),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=1.5),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, eta_min="0"),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3).step(-1),
        lambda m, o: m.CyclicLR("not an optimizer", base_lr=0.1, max_lr=1.0),
        lambda m, o: m.CyclicLR(o, base_lr=0.1, max_lr=1.0, mode="sawtooth"),
        lambda m, o: m.CyclicLR(o, base_lr=[0.1, 0.2, 0.3], max_lr=1.0),
        lambda m, o: m.CyclicLR(o, base_lr=0.1, max_lr=[1.0]),
        lambda m, o: m.CyclicLR(o, base_lr=0.1, max_lr=1.0, base_momentum=[0.8]),
        lambda m, o: m.MultiplicativeLR(o, lr_lambda=0.9),
        lambda m, o: m.MultiplicativeLR(o, lr_lambda=[lambda e: 1.0, "x"]),
        lambda m, o: m.MultiplicativeLR(o, lr_lambda=[lambda e: 1.0]),
        lambda m, o: m.ChainedScheduler([]),
        lambda m, o: m.ChainedScheduler([m.ReduceLROnPlateau(o)]),
        lambda m, o: m.ChainedScheduler([m.StepLR(o, 2), "not a scheduler"]),
    ],
)
def test_errors_match_torch(make):
    with pytest.raises((ValueError, TypeError)) as theirs:
        make(torch.optim.lr_scheduler, make_torch_opt())
    with pytest.raises(type(theirs.value)) as ours:
        make(ls, make_cn_opt())
    assert str(ours.value) == str(theirs.value)


def test_one_cycle_needs_momentum_or_betas():
    class NoMomentum(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum` option"):
        ls.OneCycleLR(NoMomentum([Parameter(np.ones(1))]), max_lr=0.1, total_steps=5)


def test_sequential_lr_rejects_foreign_optimizer():
    opt, other = make_cn_opt(), make_cn_opt()
    with pytest.raises(ValueError, match="SequentialLR expects all schedulers to belong to the same optimizer"):
        ls.SequentialLR(opt, [ls.StepLR(opt, 2), ls.StepLR(other, 2)], milestones=[3])


def test_cyclic_lr_needs_momentum_or_betas():
    class NoMomentum(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum` option"):
        ls.CyclicLR(NoMomentum([Parameter(np.ones(1))]), base_lr=0.01, max_lr=0.1)
    sched = ls.CyclicLR(NoMomentum([Parameter(np.ones(1))]), base_lr=0.01, max_lr=0.1, cycle_momentum=False)
    assert sched.get_last_lr() == [0.01]


def test_chained_scheduler_rejects_foreign_optimizer():
    opt, other = make_cn_opt(), make_cn_opt()
    with pytest.raises(ValueError, match="ChainedScheduler expects all schedulers to belong to the same optimizer"):
        ls.ChainedScheduler([ls.StepLR(opt, 2), ls.StepLR(other, 2)])


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_cosine_warm_restarts_fractional_epochs_like_torch(T_mult):
    """step(epoch) per batch with a float epoch (epoch + i / iters), jumps back and forward included."""
    topt, opt = make_torch_opt(), make_cn_opt()
    tsched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=3, T_mult=T_mult, eta_min=0.001)
    sched = ls.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult, eta_min=0.001)
    epochs = [e + i / 7 for e in range(12) for i in range(7)] + [2.5, 0, 30.25, 5, 9.999]
    for epoch in epochs:
        topt.step()
        opt.step()
        tsched.step(epoch)
        sched.step(epoch)
        assert_same([group_values(opt)], [group_values(topt)], f"epoch {epoch}")
        assert sched.last_epoch == tsched.last_epoch and sched.T_cur == tsched.T_cur and sched.T_i == tsched.T_i
    sched.step()  # and back to plain steps
    tsched.step()
    assert_same([group_values(opt)], [group_values(topt)], "step() after step(epoch)")


def test_cyclic_lr_callable_object_scale_fn_state_round_trip():
    """A callable object's attributes are saved (a plain function is not), as PyTorch."""

    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, x):
            return self.rate**x

    opt = make_cn_opt()
    sched = ls.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=Decay(0.5))
    for _ in range(5):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["_scale_fn_custom"] == {"rate": 0.5} and "_scale_fn_ref" not in state
    opt2 = make_cn_opt()
    sched2 = ls.CyclicLR(opt2, base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=Decay(0.9))
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(state)
    assert sched2._scale_fn_custom.rate == 0.5
    for s, o in ((sched, opt), (sched2, opt2)):
        o.step()
        s.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
