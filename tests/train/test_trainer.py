"""The training loop: history, reproducibility, exact resume, Ctrl-C, output files, progress lines."""

import json
import re

import numpy as np
import pytest
from train_helpers import make_trainer, small_mnist, weights, without_times

import convnp as cn
from convnp.train import Callback, Trainer, TrainingError, evaluate, load_checkpoint
from convnp.train.progress import Progress, format_epoch_line

HISTORY_KEYS = {
    "epoch",
    "lr",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
    "test_top5",
    "seconds",
    "train_seconds",
    "images_per_second",
    "data_seconds",
    "data_share",
    "n_train",
}


class InterruptAt(Callback):
    """Raise KeyboardInterrupt (what Ctrl-C raises) after a given batch of a given epoch."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, trainer, epoch, logs):
        if epoch == self.epoch and logs["batch"] == self.batch:
            raise KeyboardInterrupt


def test_fit_history_learns_and_reports_every_field():
    trainer, train, test = make_trainer(epochs=4)
    history = trainer.fit(train, test, epochs=4)
    assert len(history) == 4 and [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert set(history[0]) == HISTORY_KEYS
    for h in history:
        assert 0 <= h["train_accuracy"] <= 1 and 0 <= h["test_accuracy"] <= h["test_top5"] <= 1
        assert 0 <= h["data_share"] < 1 and h["data_seconds"] <= h["train_seconds"] <= h["seconds"]
        assert h["images_per_second"] == pytest.approx(h["n_train"] / h["train_seconds"])
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["test_accuracy"] > 0.5  # 10 classes: chance is 0.1
    # the reported test accuracy is the model's: evaluate agrees
    ev = evaluate(trainer.model, test)
    assert ev["accuracy"] == pytest.approx(history[-1]["test_accuracy"])
    assert ev["n"] == len(test.dataset)


def test_same_seed_same_run_different_seed_different_run():
    a, tl, vl = make_trainer(seed=3, epochs=2)
    ha = a.fit(tl, vl, epochs=2)
    b, tl, vl = make_trainer(seed=3, epochs=2)
    hb = b.fit(tl, vl, epochs=2)
    assert without_times(ha) == without_times(hb)
    wa, wb = weights(a.model), weights(b.model)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    c, tl, vl = make_trainer(seed=4, epochs=2)
    hc = c.fit(tl, vl, epochs=2)
    assert without_times(hc) != without_times(ha)


@pytest.mark.slow
def test_resume_after_epoch_two_is_bit_identical_to_a_straight_run(tmp_path):
    straight, tl, vl = make_trainer(seed=1, epochs=4)
    h_straight = straight.fit(tl, vl, epochs=4, out_dir=tmp_path / "straight")

    first, tl, vl = make_trainer(seed=1, epochs=4)
    first.fit(tl, vl, epochs=2, out_dir=tmp_path / "stopped")
    ckpt = load_checkpoint(tmp_path / "stopped" / "last.safetensors")
    assert ckpt["epoch"] == 2

    # a new process would rebuild everything from the seed (other initial weights would do too)
    resumed, tl, vl = make_trainer(seed=1, epochs=4)
    cn.manual_seed(999)  # the checkpoint's RNG state must win
    resumed.load_checkpoint(tmp_path / "stopped" / "last.safetensors")
    h_resumed = resumed.fit(tl, vl, epochs=4, out_dir=tmp_path / "stopped")
    ws, wr = weights(straight.model), weights(resumed.model)
    assert ws.keys() == wr.keys()
    for k in ws:
        assert np.array_equal(ws[k], wr[k]), k
    assert without_times(h_resumed) == without_times(h_straight)
    # the optimiser's momentum buffers and the schedule are where the straight run left them
    s_opt, r_opt = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    for i in s_opt["state"]:
        assert np.array_equal(s_opt["state"][i]["momentum_buffer"], r_opt["state"][i]["momentum_buffer"])
    assert straight.scheduler.get_last_lr() == resumed.scheduler.get_last_lr()
    saved = json.loads((tmp_path / "stopped" / "metrics.json").read_text())
    assert [h["epoch"] for h in saved["history"]] == [1, 2, 3, 4]


@pytest.mark.slow
def test_ctrl_c_keeps_the_last_completed_epoch_and_resumes_exactly(tmp_path, capsys):
    straight, tl, vl = make_trainer(seed=2, epochs=4)
    straight.fit(tl, vl, epochs=4)

    run = tmp_path / "run"
    trainer, tl, vl = make_trainer(seed=2, epochs=4, callbacks=[InterruptAt(epoch=3, batch=4)])
    history = trainer.fit(tl, vl, epochs=4, out_dir=run)
    assert trainer.interrupted and trainer.epoch == 2 and len(history) == 2
    ckpt = load_checkpoint(run / "last.safetensors")
    assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2
    # the half epoch is discarded: the trainer's model is back at the end of epoch 2
    for k, v in trainer.model.state_dict().items():
        assert np.array_equal(v, ckpt["model"]["state"][k]), k
    assert [h["epoch"] for h in json.loads((run / "metrics.json").read_text())["history"]] == [1, 2]
    assert not list(run.glob(".*tmp"))  # no temporary files left behind

    resumed, tl, vl = make_trainer(seed=2, epochs=4)
    resumed.load_checkpoint(run / "last.safetensors")
    resumed.fit(tl, vl, epochs=4, out_dir=run)
    for k, v in weights(straight.model).items():
        assert np.array_equal(v, resumed.model.state_dict()[k]), k


def test_ctrl_c_in_the_first_epoch_saves_nothing(tmp_path):
    trainer, tl, vl = make_trainer(epochs=2, callbacks=[InterruptAt(epoch=1, batch=2)])
    before = weights(trainer.model)
    trainer.fit(tl, vl, epochs=2, out_dir=tmp_path)
    assert trainer.interrupted and trainer.epoch == 0 and trainer.history == []
    assert not (tmp_path / "last.safetensors").exists()
    for k, v in before.items():  # back to the initial weights
        assert np.array_equal(v, trainer.model.state_dict()[k])


def test_the_same_trainer_continues_after_an_interrupt():
    straight, tl, vl = make_trainer(seed=5, epochs=3)
    straight.fit(tl, vl, epochs=3)
    stop = InterruptAt(epoch=2, batch=3)
    trainer, tl, vl = make_trainer(seed=5, epochs=3, callbacks=[stop])
    trainer.fit(tl, vl, epochs=3)
    assert trainer.interrupted and trainer.epoch == 1
    stop.epoch = None  # "press run again" in a notebook
    trainer.fit(tl, vl, epochs=3)
    assert not trainer.interrupted and trainer.epoch == 3
    for k, v in weights(straight.model).items():
        assert np.array_equal(v, trainer.model.state_dict()[k]), k


def test_output_files_schema_and_atomicity(tmp_path):
    trainer, tl, vl = make_trainer(epochs=3)
    trainer.fit(tl, vl, epochs=3, out_dir=tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.safetensors", "curves.png", "last.safetensors", "metrics.csv", "metrics.json"]
    m = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("model", "dataset", "test_accuracy", "best_test_accuracy", "history", "seconds"):
        assert key in m
    assert m["model"] == "tinynet" and m["dataset"] == "mnist-sample"
    assert m["test_accuracy"] == trainer.history[-1]["test_accuracy"]
    assert m["best_test_accuracy"] == max(h["test_accuracy"] for h in trainer.history)
    assert 0 <= m["test_accuracy"] <= 1 and m["complete"] is True
    assert m["seconds"] == pytest.approx(sum(h["seconds"] for h in trainer.history))
    assert len(m["history"]) == 3 and set(m["history"][0]) == HISTORY_KEYS
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert len(lines) == 4 and set(header) == HISTORY_KEYS and header[0] == "epoch"
    row = dict(zip(header, lines[3].split(",")))
    assert float(row["test_accuracy"]) == pytest.approx(trainer.history[-1]["test_accuracy"])
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = load_checkpoint(tmp_path / "best.safetensors")
    assert best["best"]["value"] == m["best_test_accuracy"] and best["epoch"] == m["best_epoch"]
    last = load_checkpoint(tmp_path / "last.safetensors")
    assert last["epoch"] == 3 and last["model"]["name"] == "tinynet"
    assert last["data"]["classes"] == [str(i) for i in range(10)] and last["data"]["image_size"] == [28, 28]
    assert last["rng"]["loader"] is not None and last["rng"]["global"]["bit_generator"] == "PCG64"
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_progress_on_a_non_terminal_is_one_line_per_epoch(capsys):
    trainer, tl, vl = make_trainer(epochs=3, progress="auto")
    trainer.fit(tl, vl, epochs=3)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    pattern = (
        r"^epoch [1-3]/3  train loss \d+\.\d{4} acc \d+\.\d\d%  test loss \d+\.\d{4} acc \d+\.\d\d% "
        r"top-5 \d+\.\d\d%  lr \S+  \d+\.\d s  [\d,]+ img/s  data \d+\.\d%$"
    )
    for line in out:
        assert re.match(pattern, line), line


class _Tty:
    def __init__(self):
        self.text = []

    def write(self, s):
        self.text.append(s)

    def flush(self):
        pass

    def isatty(self):
        return True


def test_progress_on_a_terminal_draws_a_bar_then_the_epoch_line():
    tty = _Tty()
    trainer, tl, vl = make_trainer(epochs=1, progress=Progress("auto", stream=tty))
    trainer.fit(tl, vl, epochs=1)
    text = "".join(tty.text)
    assert "img/s" in text and "\r" in text  # tqdm redraws in place
    assert re.search(r"epoch 1/1  train loss", text)


def test_format_epoch_line_without_evaluation():
    line = format_epoch_line(
        {
            "epoch": 2,
            "train_loss": 0.5,
            "train_accuracy": 0.8,
            "seconds": 1.0,
            "images_per_second": 1000.0,
            "lr": 0.1,
            "data_share": 0.01,
        },
        epochs=10,
    )
    assert line == "epoch  2/10  train loss 0.5000 acc 80.00%  lr 0.1  1.0 s  1,000 img/s  data 1.0%"


def test_a_diverging_loss_stops_with_advice_and_keeps_earlier_checkpoints(tmp_path):
    class Explode(Callback):
        def on_epoch_end(self, trainer, epoch, entry):
            if epoch == 1:
                for p in trainer.model.parameters():
                    p.data[...] = np.nan

    trainer, tl, vl = make_trainer(epochs=3, callbacks=[Explode()])
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 2, batch 1: .*lower it"):
        trainer.fit(tl, vl, epochs=3, out_dir=tmp_path)
    assert load_checkpoint(tmp_path / "last.safetensors")["epoch"] == 1
    assert len(json.loads((tmp_path / "metrics.json").read_text())["history"]) == 1


def test_validation_split_reports_val_keys_and_final_test_accuracy(tmp_path):
    from convnp.data import DataLoader, transforms

    trainer, tl, vl = make_trainer(epochs=2)
    train, test = small_mnist(200, 100)
    test_loader = DataLoader(test, 100, transform=transforms.Normalize(train.mean, train.std))
    history = trainer.fit(tl, vl, epochs=2, out_dir=tmp_path, eval_name="val", test_loader=test_loader)
    assert "val_accuracy" in history[0] and "test_accuracy" not in history[0]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["test_accuracy"] == pytest.approx(evaluate(trainer.model, test_loader)["accuracy"])
    assert m["best_test_accuracy"] is not None


def test_fit_rejects_bad_epochs():
    trainer, tl, vl = make_trainer(epochs=1)
    with pytest.raises(ValueError, match=r"Trainer.fit: epochs must be a positive int. Received: epochs=0"):
        trainer.fit(tl, vl, epochs=0)
    with pytest.raises(ValueError, match=r"scheduler_interval must be 'batch', 'epoch' or None"):
        Trainer(trainer.model, trainer.optimizer, scheduler_interval="step")


def test_per_epoch_scheduler_and_plateau_are_stepped_once_per_epoch():
    from convnp.optim.lr_scheduler import ReduceLROnPlateau, StepLR

    trainer, tl, vl = make_trainer(epochs=3)
    trainer.scheduler = StepLR(trainer.optimizer, step_size=1, gamma=0.5)
    trainer.scheduler_interval = "epoch"
    lr0 = trainer.optimizer.param_groups[0]["lr"]
    h = trainer.fit(tl, vl, epochs=3)
    assert [e["lr"] for e in h] == pytest.approx([lr0, lr0 / 2, lr0 / 4])
    trainer, tl, vl = make_trainer(epochs=2)
    trainer.scheduler = ReduceLROnPlateau(trainer.optimizer, patience=0, factor=0.5, threshold=10.0)
    trainer.scheduler_interval = "epoch"
    h = trainer.fit(tl, vl, epochs=2)  # threshold 10: never "better" -> halves
    assert trainer.optimizer.param_groups[0]["lr"] < h[0]["lr"]


def test_a_model_with_auxiliary_outputs_trains_on_the_weighted_sum():
    """GoogLeNet-style: a tuple (logits, aux...) in training mode, logits alone in eval mode."""
    from train_helpers import TinyNet

    from convnp import nn

    class WithAux(TinyNet):
        def __init__(self):
            super().__init__()
            self.aux = nn.Linear(4 * 6 * 6, 10)

        def forward(self, x):
            h = self.features(x).reshape(x.shape[0], -1)
            logits = self.classifier(h)
            return (logits, self.aux(h), None) if self.training else logits

    cn.manual_seed(0)
    model = WithAux()
    trainer, tl, vl = make_trainer(epochs=2, model=model)
    x, y = next(iter(tl))
    logits, loss = trainer._forward_loss(x, y)
    ce = cn.nn.CrossEntropyLoss()
    main, aux, _ = model(cn.tensor(x))
    assert float(loss.data) == pytest.approx(float(ce(main, y).data) + 0.3 * float(ce(aux, y).data), rel=1e-6)
    aux_before = model.aux.weight.data.copy()
    history = trainer.fit(tl, vl, epochs=2)
    assert history[-1]["test_accuracy"] > 0.3 and not np.array_equal(aux_before, model.aux.weight.data)
