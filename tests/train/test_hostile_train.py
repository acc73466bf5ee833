"""Hostile inputs to training (issue #20): diverged networks and checkpoint metadata that lies.

- defect 1: a NaN or infinite prediction is never counted as correct; an epoch that leaves NaN or
  infinity in the weights is not kept (last.safetensors and best.safetensors keep the previous one);
- defect 6 and the metadata part of defect 5: every entry of a checkpoint's metadata is checked by
  type and range before it is used, with one line naming the entry (CheckpointError).
"""

import json
from pathlib import Path

import numpy as np
import pytest
from train_helpers import make_trainer

from convnp.serialization import load, save
from convnp.train import (
    Callback,
    CheckpointError,
    MetricAccumulator,
    SetupError,
    TrainingError,
    load_checkpoint,
)
from convnp.train import checkpoint as ckmod
from convnp.train.metrics import accuracy, topk_correct

# ----------------------------------------------------------------------------- defect 1: metrics


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_row_is_never_correct(bad):
    logits = np.array([[bad, bad, bad], [0.1, bad, 0.2], [bad, 0.1, 0.2], [0.3, 0.2, 0.1]])
    y = np.array([0, 2, 2, 0])
    # rows 0-2 hold a non-finite score: none counts, whatever k; row 3 is an ordinary hit
    assert topk_correct(logits, y, (1, 2, 3)).tolist() == [1, 1, 1]
    assert accuracy(logits, y) == 0.25


def test_an_all_nan_network_scores_zero_not_hundred_percent():
    logits = np.full((50, 10), np.nan, dtype=np.float32)
    acc = MetricAccumulator(topk=(1, 5))
    acc.update(float("nan"), logits, np.arange(50) % 10)
    assert acc.accuracy(1) == 0.0 and acc.accuracy(5) == 0.0


def test_finite_rows_keep_the_first_maximum_rule():
    logits = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    assert topk_correct(logits, np.array([0, 1]), (1, 2)).tolist() == [1, 2]


# ----------------------------------------------------------------------------- defect 1: training


class _PoisonAt(Callback):
    """Puts a NaN into the weights after the last batch of an epoch (what a diverging last step does
    after a finite loss was seen)."""

    def __init__(self, epoch, batches):
        self.epoch, self.batches = epoch, batches

    def on_batch_end(self, trainer, epoch, logs):
        if epoch == self.epoch and logs["batch"] == self.batches:
            trainer.model.classifier.weight.data[0, 0] = np.nan


def test_an_epoch_ending_with_nan_weights_is_not_kept(tmp_path):
    trainer, train, test = make_trainer(epochs=3)
    trainer.callbacks.append(_PoisonAt(2, len(train)))
    with pytest.raises(
        TrainingError,
        match=r"^the weights became non-finite \(NaN or infinity in "
        r"classifier\.weight\) during epoch 2: the learning rate .* is too high",
    ):
        trainer.fit(train, test, epochs=3, out_dir=tmp_path)
    assert trainer.epoch == 1
    for name in ("last.safetensors", "best.safetensors"):
        ckpt = load_checkpoint(tmp_path / name)
        assert ckpt["epoch"] == 1, name
        assert ckmod.nonfinite_tensors(ckpt["model"]["state"]) == [], name
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 1


def test_nan_weights_in_the_first_epoch_write_nothing(tmp_path):
    trainer, train, test = make_trainer(epochs=2)
    trainer.callbacks.append(_PoisonAt(1, len(train)))
    with pytest.raises(TrainingError, match="during epoch 1"):
        trainer.fit(train, test, epochs=2, out_dir=tmp_path)
    assert not (tmp_path / "best.safetensors").exists() and not (tmp_path / "last.safetensors").exists()


# ----------------------------------------------------------------------------- defect 6: metadata


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A real checkpoint of a short run (1 epoch)."""
    out = tmp_path_factory.mktemp("good")
    trainer, train, test = make_trainer(epochs=1)
    trainer.fit(train, test, epochs=1, out_dir=out)
    return load(out / "last.safetensors")


def _write(tmp_path, obj, change):
    import copy

    obj = copy.deepcopy(obj)
    change(obj)
    path = tmp_path / "bad.safetensors"
    save(obj, path)
    return path


def _set(path_keys, value):
    def change(obj):
        d = obj
        for k in path_keys[:-1]:
            d = d[k]
        d[path_keys[-1]] = value

    return change


BAD_METADATA = [
    (("epoch",), -3, r"epoch must be a whole number from 0 to 1,000,000; received -3 \(an int\)"),
    (("epoch",), "abc", r"epoch must be a whole number from 0 .*; received 'abc' \(a str\)"),
    (("epoch",), 1.5, r"epoch must be a whole number"),
    (("epoch",), True, r"epoch must be a whole number"),
    (("epoch",), 10**12, r"epoch must be a whole number from 0 to 1,000,000"),
    (("data", "classes"), 5, r"data\.classes must be a list of 1 to 100,000 class names; received 5"),
    (("data", "classes"), [], r"data\.classes must be a list of 1 to 100,000 class names"),
    (("data", "classes"), [[1], [2]], r"data\.classes must be a list"),
    (
        ("data", "classes"),
        [str(i) for i in range(7)],
        r"model\.args\.num_classes is 10 but data\.classes names 7 classes; expected the same number",
    ),
    (("data", "mean"), "x", r"data\.mean must be a list of 1 finite number, one per channel; received 'x'"),
    (("data", "mean"), [0.1, 0.2], r"data\.mean must be a list of 1 finite number, one per channel"),
    (("data", "mean"), [float("nan")], r"data\.mean must be"),
    (("data", "std"), [0.0], r"data\.std must be a list of 1 positive finite number, one per channel"),
    (("data", "std"), [-1.0], r"data\.std must be"),
    (("data", "channels"), 0, r"data\.channels must be a whole number from 1 to 64"),
    (("data", "channels"), "1", r"data\.channels must be a whole number"),
    (
        ("data", "image_size"),
        [100000, 100000],
        r"data\.image_size must be \[height, width\], two whole numbers "
        r"from 1 to 8,192",
    ),
    (("data", "image_size"), [28], r"data\.image_size must be"),
    (("data",), [1, 2], r"data must be a dict"),
    (
        ("model", "args", "num_classes"),
        30_000_000,
        r"model\.args\.num_classes must be a whole number from 0 to 144 \(the largest axis of the file's model tensors\)",
    ),
    (("model", "args", "num_classes"), 0, r"model\.args\.num_classes must be a positive whole number"),
    (("model", "args", "in_channels"), -1, r"model\.args\.in_channels must be a whole number from 0"),
    (("model", "args"), [1], r"model\.args must be a dict of constructor arguments by name"),
    (("model", "name"), 7, r"model\.name must be a model name \(a string\)"),
    (("config", "epochs"), "abc", r"config\.epochs must be a whole number from 1"),
    (("config", "lr"), -1.0, r"config\.lr must be a number in \(0, inf\)"),
    (("config", "batch_size"), 0, r"config\.batch_size must be a whole number from 1"),
    (("config", "optimizer"), "magic", r"config\.optimizer must be one of sgd, adam"),
    (("config", "seed"), -5, r"config\.seed must be a whole number from 0"),
    (("config", "freeze"), "features", r"config\.freeze must be a list of layer names"),
    (("config",), "x", r"config must be a dict"),
    (("history",), {"a": 1}, r"history must be a list of per-epoch dicts of numbers"),
    (("history",), [{"epoch": "x"}], r"history must be a list of per-epoch dicts of numbers"),
    (("best",), {"epoch": "x", "value": 1}, r"best must be null or"),
]


@pytest.mark.parametrize(
    "keys,value,message", BAD_METADATA, ids=[f"{'.'.join(k)}={v!r}"[:40] for k, v, _ in BAD_METADATA]
)
def test_bad_metadata_is_refused_with_one_line_naming_the_entry(good, tmp_path, keys, value, message):
    path = _write(tmp_path, good, _set(keys, value))
    with pytest.raises(CheckpointError, match=rf"^'{path}' has invalid metadata: {message}") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    assert str(info.value).endswith("the file was damaged or not written by 'convnp train'")


def test_the_good_checkpoint_and_a_minimal_one_pass(good, tmp_path):
    assert load_checkpoint(_write(tmp_path, good, lambda o: None))["epoch"] == 1
    minimal = ckmod.make_checkpoint(make_trainer()[0].model, epoch=0, model_name="tinynet", model_args={})
    save(minimal, tmp_path / "min.safetensors")
    assert load_checkpoint(tmp_path / "min.safetensors")["data"] == {}


def test_the_caps_are_adjustable(good, tmp_path, monkeypatch):
    path = _write(tmp_path, good, lambda o: None)
    monkeypatch.setattr(ckmod, "MAX_CLASSES", 5)
    with pytest.raises(CheckpointError, match="data.classes must be a list of 1 to 5 class names"):
        load_checkpoint(path)


def test_check_finite_weights(good, tmp_path):
    ckmod.check_finite_weights(good, "x")

    def poison(obj):
        obj["model"]["state"]["features.0.weight"][0, 0, 0, 0] = np.inf

    path = _write(tmp_path, good, poison)
    with pytest.raises(
        CheckpointError,
        match=r"^'.*bad.safetensors' holds non-finite weights \(NaN or infinity in "
        r"model\.state\.features\.0\.weight\); the run that wrote it diverged: "
        r"train again with a lower --lr$",
    ):
        ckmod.check_finite_weights(load_checkpoint(path), path)


# ----------------------------------------------------------------------------- defect 4: a crash between writes


class _Crash(BaseException):
    """A process killed mid-way (no except clause of convnp catches it)."""


RUN = dict(limit_train=150, epochs=2, batch_size=50, seed=4, progress="quiet")


@pytest.fixture
def zoo(tmp_path, monkeypatch):
    from train_helpers import tinynet

    import convnp.models

    monkeypatch.setitem(convnp.models.MODELS, "tinynet", tinynet)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVNP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVNP_MIRROR", "http://127.0.0.1:9/")
    return tmp_path


def _same_weights(a, b):
    a, b = load_checkpoint(a), load_checkpoint(b)
    assert a["epoch"] == b["epoch"]
    for k, v in a["model"]["state"].items():
        assert np.array_equal(v, b["model"]["state"][k]), k


def _metrics(path):
    m = json.loads(path.read_text())
    return m["complete"], m["epochs"], m["test_accuracy"], m["best_epoch"], [h["train_loss"] for h in m["history"]]


@pytest.mark.slow
def test_the_old_crash_between_last_and_best_is_repaired_by_resume(zoo, capsys):
    """The issue's state: last.safetensors holds epoch 2 (recorded best: epoch 2), best.safetensors and
    metrics.json are still those of epoch 1. Resume rewrites best from last and finishes the run."""
    from convnp.train import TrainingRun

    class StopAt2(Callback):
        def on_epoch_start(self, trainer, epoch):
            if epoch == 2:
                raise _Crash

    TrainingRun("tinynet", out="straight", **RUN).fit()
    assert load_checkpoint(zoo / "straight" / "last.safetensors")["best"]["epoch"] == 2  # epoch 2 improved
    with pytest.raises(_Crash):
        TrainingRun("tinynet", out="crashed", callbacks=[StopAt2()], **RUN).fit()
    epoch1 = {n: (zoo / "crashed" / n).read_bytes() for n in ("best.safetensors", "metrics.json")}
    TrainingRun(resume="crashed", progress="quiet").fit()
    for name, data in epoch1.items():  # back to what the crash left
        (zoo / "crashed" / name).write_bytes(data)
    assert _metrics(zoo / "crashed" / "metrics.json")[:2] == (False, 1)

    capsys.readouterr()
    result = TrainingRun(resume="crashed", progress="lines").fit()
    out = capsys.readouterr().out
    assert (
        f"  repaired: {Path('crashed') / 'best.safetensors'} holds epoch 1, but the run's best is epoch 2; "
        f"rewrote it from last.safetensors"
    ) in out
    assert "  finishing: all 2 epochs are in last.safetensors but metrics.json is not complete" in out
    assert "epoch 2/2" not in out and len(result.history) == 2  # nothing trained again
    _same_weights(zoo / "straight" / "best.safetensors", zoo / "crashed" / "best.safetensors")
    assert _metrics(zoo / "crashed" / "metrics.json") == _metrics(zoo / "straight" / "metrics.json")
    assert _metrics(zoo / "crashed" / "metrics.json")[0] is True
    with pytest.raises(SetupError, match="has already completed all 2 epochs"):
        TrainingRun(resume="crashed").plan()


@pytest.mark.slow
def test_a_crash_between_best_and_last_resumes_to_the_straight_run(zoo, monkeypatch, capsys):
    """Now best is written before last: a crash between them leaves last one epoch behind, and
    resuming redoes that epoch bit-identically."""
    import convnp.train.trainer as trainer_mod
    from convnp.train import TrainingRun

    TrainingRun("tinynet", out="straight", **RUN).fit()
    real = trainer_mod.save_checkpoint

    def crash_on_last_of_epoch_2(path, ckpt):
        if Path(path).name == "last.safetensors" and ckpt["epoch"] == 2:
            raise _Crash
        real(path, ckpt)

    monkeypatch.setattr(trainer_mod, "save_checkpoint", crash_on_last_of_epoch_2)
    with pytest.raises(_Crash):
        TrainingRun("tinynet", out="crashed", **RUN).fit()
    monkeypatch.setattr(trainer_mod, "save_checkpoint", real)
    assert load_checkpoint(zoo / "crashed" / "last.safetensors")["epoch"] == 1
    assert load_checkpoint(zoo / "crashed" / "best.safetensors")["epoch"] == 2
    capsys.readouterr()
    TrainingRun(resume="crashed", progress="lines").fit()
    assert (
        f"  note: {Path('crashed') / 'best.safetensors'} holds epoch 2, newer than last.safetensors (a crash came "
        f"between the two); the resumed epoch 2 rewrites it"
    ) in capsys.readouterr().out
    for name in ("best.safetensors", "last.safetensors"):
        _same_weights(zoo / "straight" / name, zoo / "crashed" / name)
    assert _metrics(zoo / "crashed" / "metrics.json") == _metrics(zoo / "straight" / "metrics.json")


def test_repair_run_notes_a_lost_earlier_best(zoo):
    from convnp.train.run import repair_run

    ckpt = {"epoch": 3, "best": {"epoch": 2, "metric": "test_accuracy", "value": 0.5}}
    lines = repair_run(zoo, ckpt, 5)
    assert lines == [
        f"  note: {zoo / 'best.safetensors'} is missing, but the run's best is epoch 2, whose weights "
        f"are no longer on disk; the next better epoch rewrites it"
    ]


def test_non_finite_rows_are_counted_and_left_out_of_the_confusion_matrix():
    logits = np.array([[np.nan, 0.0], [0.0, 1.0], [np.inf, 0.0], [2.0, 1.0]])
    acc = MetricAccumulator(num_classes=2, topk=(1,), confusion=True)
    acc.update(0.0, logits, np.array([0, 1, 0, 0]))
    assert acc.nonfinite == 2 and acc.accuracy(1) == 0.5
    assert acc.confusion.tolist() == [[1, 0], [0, 1]]  # only the two finite rows


def test_model_args_floats_are_capped_too(good, tmp_path):
    path = _write(tmp_path, good, _set(("model", "args", "dropout"), 1e300))
    with pytest.raises(CheckpointError, match=r"model\.args\.dropout must be a finite number of size at most 144"):
        load_checkpoint(path)


def test_resume_needs_the_recorded_settings(good, tmp_path):
    from convnp.train import TrainingRun

    path = _write(tmp_path, good, _set(("config",), {"epochs": 3}))
    with pytest.raises(
        SetupError,
        match=rf"^{path} does not record config\.seed, config\.batch_size, config\.lr, "
        rf"config\.optimizer, config\.scheduler, config\.augment, which resuming "
        rf"needs; it was damaged or not written by 'convnp train': start a new run "
        rf"from its weights with --init-from {path}$",
    ):
        TrainingRun(resume=path).plan()


# ----------------------------------------------------------------------------- defect 11: NaN in the data


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's, from the NaN reaching the loss
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_data_is_blamed_on_the_data_not_the_learning_rate(tmp_path, bad):
    from convnp.data import ArrayDataset, DataLoader

    trainer, train, test = make_trainer(epochs=1)
    ds = train.dataset
    images = ds.images.astype(np.float32)
    images[40, 0, 3, 3] = bad  # one image of the second batch (no shuffling below)
    poisoned = ArrayDataset(images, ds.labels, ds.classes, ds.mean, ds.std, name="poisoned", split="train")
    loader = DataLoader(poisoned, 32, transform=train.transform)
    with pytest.raises(TrainingError) as info:
        trainer.fit(loader, test, epochs=1, out_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(
        "the training data set 'poisoned' (split 'train') holds non-finite values (NaN or infinity): "
        "1 of the 32 images of batch 2 of epoch 1 do"
    ), message
    assert "learning rate is not the cause" in message and "--lr" not in message
    assert not (tmp_path / "last.safetensors").exists()


def test_a_finite_batch_with_a_diverging_loss_still_blames_the_learning_rate():
    from convnp.train.trainer import _check_finite_batch

    _check_finite_batch(np.ones((2, 1, 4, 4), np.float32), None, 1, 1)  # finite: no error, the caller blames the lr
    _check_finite_batch(np.arange(4), None, 1, 1)  # integer data cannot hold NaN
    with pytest.raises(TrainingError, match=r"^the training data holds non-finite values .* 1 of the 2 images"):
        _check_finite_batch(np.array([[1.0], [np.nan]]), object(), 3, 5)
