"""convnp.train.TrainingRun: the training run as library code gives what ``convnp train`` gives.

A tiny model is registered in the zoo for each test and every run trains on a few hundred digits
of the bundled sample, so that each takes a second or two.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from train_helpers import TIME_KEYS, tinynet

import convnp.models
from convnp.cli import main
from convnp.train import (
    Callback,
    RunResult,
    SetupError,
    SetupFileNotFoundError,
    Trainer,
    TrainingError,
    TrainingRun,
    fit_run,
    load_checkpoint,
)

QUICK = dict(limit_train=150, epochs=2, batch_size=50, seed=4, augment="shift", progress="quiet")
QUICK_ARGS = [
    "--limit-train",
    "150",
    "--epochs",
    "2",
    "--batch-size",
    "50",
    "--seed",
    "4",
    "--augment",
    "shift",
    "--progress",
    "quiet",
]


@pytest.fixture(autouse=True)
def zoo_and_dirs(tmp_path, monkeypatch):
    monkeypatch.setitem(convnp.models.MODELS, "tinynet", tinynet)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVNP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CONVNP_MIRROR", "http://127.0.0.1:9/")  # refused at once: no download
    return tmp_path


def _metrics(folder: Path) -> dict:
    m = json.loads((folder / "metrics.json").read_text())
    m.pop("seconds")
    m["history"] = [{k: v for k, v in h.items() if k not in TIME_KEYS} for h in m["history"]]
    return m


def _same_checkpoints(a_path: Path, b_path: Path) -> None:
    a, b = load_checkpoint(a_path), load_checkpoint(b_path)
    assert a["epoch"] == b["epoch"] and a["config"] == b["config"] and a["data"] == b["data"]
    assert a["model"]["args"] == b["model"]["args"] and a["best"] == b["best"]
    assert a["model"]["state"].keys() == b["model"]["state"].keys()
    for k, v in a["model"]["state"].items():
        assert np.array_equal(v, b["model"]["state"][k]), k
    assert json.dumps(a["optimizer"]["param_groups"]) == json.dumps(b["optimizer"]["param_groups"])


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("convnp: error: ") and err.count("\n") == 1, err
    return err.removeprefix("convnp: error: ").strip()


def test_the_library_and_the_command_give_the_same_run(tmp_path, capsys):
    assert main(["train", "tinynet", *QUICK_ARGS, "--model-arg", "width=3", "--out", str(tmp_path / "cli")]) == 0
    result = TrainingRun("tinynet", model_args={"width": 3}, out=tmp_path / "lib", **QUICK).fit()
    assert isinstance(result, RunResult) and not result.interrupted
    assert result.out == tmp_path / "lib" and result.epoch == result.epochs == 2 and result.seed == 4
    assert sorted(p.name for p in result.out.iterdir()) == [
        "best.safetensors",
        "curves.png",
        "last.safetensors",
        "metrics.csv",
        "metrics.json",
    ]
    assert _metrics(tmp_path / "cli") == _metrics(tmp_path / "lib")
    _same_checkpoints(tmp_path / "cli" / "last.safetensors", result.last_path)
    _same_checkpoints(tmp_path / "cli" / "best.safetensors", result.best_path)
    # the result holds the trained network and the metrics as metrics.json records them
    state = load_checkpoint(result.last_path)["model"]["state"]
    assert all(np.array_equal(v.data, state[k]) for k, v in result.model.state_dict().items())
    assert (
        result.metrics["test_accuracy"] == json.loads((tmp_path / "lib" / "metrics.json").read_text())["test_accuracy"]
    )
    assert [h["epoch"] for h in result.history] == [1, 2] and result.best["epoch"] in (1, 2)


def test_settings_left_out_come_from_the_recipe_or_the_recorded_run(tmp_path):
    plan = TrainingRun("resnet20", dataset="cifar10", lr=0.02).plan()  # reads and writes nothing
    assert plan.model_name == "resnet20" and plan.out == Path("runs/resnet20-cifar10")
    assert (plan.config["lr"], plan.config["scheduler"], plan.config["augment"], plan.epochs) == (
        0.02,
        "cosine",
        "standard",
        30,
    )
    assert 0 <= plan.seed < 2**31 and plan.config["seed"] == plan.seed
    assert not (tmp_path / "runs").exists()
    plan = TrainingRun("resnet_20", dataset="mnist-sample").plan()  # the zoo's spelling; per-data-set
    assert plan.model_name == "resnet20" and plan.config["augment"] == "shift" and plan.epochs == 10
    # resumed: everything from the checkpoint
    fit_run("tinynet", out="r", scheduler="step", **{**QUICK, "epochs": 1})
    plan = TrainingRun(resume="r", epochs=2).plan()  # a step schedule may be extended
    assert plan.model_name == "tinynet" and plan.resume_path == Path("r/last.safetensors") and plan.epochs == 2
    assert plan.config["limit_train"] == 150 and plan.config["seed"] == 4 and plan.config["scheduler"] == "step"


@pytest.mark.slow
def test_ctrl_c_returns_and_resume_ends_bit_identical(tmp_path):
    class InterruptAt(Callback):
        def on_batch_end(self, trainer, epoch, logs):
            if epoch == 2 and logs["batch"] == 2:
                raise KeyboardInterrupt

    settings = dict(QUICK, epochs=3)
    straight = fit_run("tinynet", out=tmp_path / "straight", **settings)
    stopped = TrainingRun("tinynet", out=tmp_path / "stopped", callbacks=[InterruptAt()], **settings).fit()
    assert stopped.interrupted and stopped.epoch == 1 and stopped.epochs == 3
    assert load_checkpoint(stopped.last_path)["epoch"] == 1
    resumed = TrainingRun(resume=stopped.last_path, progress="quiet").fit()
    assert not resumed.interrupted and resumed.epoch == 3
    _same_checkpoints(straight.last_path, resumed.last_path)
    assert _metrics(tmp_path / "straight") == _metrics(tmp_path / "stopped")


@pytest.mark.parametrize(
    "settings,argv,kind",
    [
        (dict(lr=-1.0), ["--lr", "-1"], SetupError),
        (dict(epochs=0), ["--epochs", "0"], SetupError),
        (dict(backbone_lr_scale=0.1), ["--backbone-lr-scale", "0.1"], SetupError),
        (dict(dataset="mnst"), ["--dataset", "mnst"], SetupError),
        (dict(model_args=["width"]), ["--model-arg", "width"], SetupError),
        (dict(model_args={"bogus": 1}), ["--model-arg", "bogus=1"], SetupError),
        (dict(freeze="feature", limit_train=50), ["--freeze", "feature", "--limit-train", "50"], SetupError),
        (dict(init_from="nope.safetensors"), ["--init-from", "nope.safetensors"], SetupFileNotFoundError),
        (dict(resume="nothere"), ["--resume", "nothere"], SetupFileNotFoundError),
    ],
)
def test_bad_settings_raise_the_message_the_command_prints(settings, argv, kind, capsys):
    with pytest.raises(kind) as info:
        TrainingRun("tinynet", **settings).fit()
    assert isinstance(info.value, ValueError)
    assert main(["train", "tinynet", *argv]) == 2
    assert _error_line(capsys) == str(info.value)
    assert not Path("runs").exists()


def test_refusals_of_a_recorded_run(tmp_path, capsys):
    fit_run("tinynet", out="r", **QUICK)
    before = {p.name: p.read_bytes() for p in Path("r").iterdir()}
    cases = [
        (dict(out="r"), ["--out", "r"], "r already holds a training run; continue it with --resume"),
        (dict(resume=True, out="r"), ["--resume", "--out", "r"], "has already completed all 2 epochs"),
        (dict(resume="r", lr=0.3), ["--resume", "r", "--lr", "0.3"], "leave out --lr"),
        (dict(resume="r", epochs=5), ["--resume", "r", "--epochs", "5"], "planned for 2 epochs"),
        (dict(resume="r", dataset="mnist"), ["--resume", "r", "--dataset", "mnist"], "not 'mnist'"),
        (dict(resume="r", model="lenet5"), ["lenet5", "--resume", "r"], "not 'lenet5'"),
    ]
    for settings, argv, text in cases:
        with pytest.raises(SetupError, match=text) as info:
            TrainingRun(**settings).fit()
        assert main(["train", *argv]) == 2
        assert _error_line(capsys) == str(info.value)
    assert {p.name: p.read_bytes() for p in Path("r").iterdir()} == before


@pytest.mark.slow
def test_python_values_are_accepted(tmp_path):
    """Paths for files, a string for one frozen prefix, a dict of model arguments; the record holds strings."""
    first = fit_run("tinynet", out=tmp_path / "a", **QUICK)
    result = fit_run(
        "tinynet",
        out=tmp_path / "b",
        init_from=first.best_path,
        freeze="features",
        backbone_lr_scale=0.5,
        model_args={"dropout": 0.0},
        **QUICK,
    )
    config = load_checkpoint(result.last_path)["config"]
    assert config["init_from"] == str(first.best_path) and config["freeze"] == ["features"]
    assert config["model_args"] == {"dropout": 0.0} and config["pretrained"]
    assert np.array_equal(result.model.features[0].weight.data, first.model.features[0].weight.data)


class _PoisonAt(Callback):
    """NaN weights after the first batch of epoch 2: the next batch's loss is NaN."""

    def on_batch_end(self, trainer, epoch, logs):
        if epoch == 2 and logs["batch"] == 1:
            for p in trainer.model.parameters():
                p.data[...] = np.nan


def test_a_diverged_loss_raises_training_error_and_the_command_exits_1(capsys, monkeypatch):
    with pytest.raises(TrainingError) as info:
        fit_run("tinynet", out="a", callbacks=[_PoisonAt()], **QUICK)
    lib = str(info.value)
    assert lib.startswith("the training loss became nan at epoch 2, batch 2: ")
    assert lib.endswith("; a/last.safetensors keeps epoch 1") and load_checkpoint("a/last.safetensors")["epoch"] == 1

    original_init = Trainer.__init__

    def init_with_poison(self, *a, **kw):
        original_init(self, *a, **kw)
        self.callbacks.append(_PoisonAt())

    monkeypatch.setattr(Trainer, "__init__", init_with_poison)
    assert main(["train", "tinynet", *QUICK_ARGS, "--out", "b"]) == 1
    assert _error_line(capsys) == lib.replace("a/last", "b/last")
