"""The convnp command: train / eval / predict end to end on a tiny model, and every bad input.

The command runs in-process through ``convnp.cli.main(argv)``; a tiny model is registered in the
zoo for the duration of each test so that a run takes a second or two.
"""

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from data_helpers import MNIST_DIR, need
from train_helpers import tinynet

import convnp as cn
import convnp.models
from convnp.cli import main
from convnp.data import get_dataset
from convnp.train import Callback, Trainer, load_checkpoint

MNIST = MNIST_DIR  # the real MNIST files: $CONVNP_TEST_DATA/mnist (tests/data/data_helpers.py)
QUICK = ["--limit-train", "300", "--epochs", "2", "--batch-size", "50", "--seed", "0", "--progress", "lines"]


@pytest.fixture(autouse=True)
def zoo_and_dirs(tmp_path, monkeypatch):
    """A tiny registered model; runs/ and the data cache inside tmp_path; no real network."""
    monkeypatch.setitem(convnp.models.MODELS, "tinynet", tinynet)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONVNP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CONVNP_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("CONVNP_MIRROR", "http://127.0.0.1:9/")  # refused at once: no download
    return tmp_path


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("convnp: error: "), err
    assert "Traceback" not in err
    return lines[0]


def image_folder(root: Path, classes: int = 4, rgb: bool = False, per_class: int = 40) -> Path:
    """A class-per-folder tree of real digits (PNG) with train/ and test/ splits."""
    from PIL import Image

    ds = get_dataset("mnist-sample")
    for c in range(classes):
        idx = np.flatnonzero(ds.labels == c)[:per_class]
        for j, i in enumerate(idx):
            split = "test" if j % 4 == 0 else "train"
            folder = root / split / str(c)
            folder.mkdir(parents=True, exist_ok=True)
            img = Image.fromarray(ds.images[i, 0])
            (img.convert("RGB").resize((32, 32)) if rgb else img).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick run shared by the tests that only read it."""
    root = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(convnp.models.MODELS, "tinynet", tinynet)
        mp.chdir(root)
        mp.setenv("CONVNP_CACHE", str(root / "cache"))
        mp.setenv("CONVNP_MIRROR", "http://127.0.0.1:9/")
        status = main(["train", "tinynet", *QUICK, "--out", str(root / "run")])
    assert status == 0
    return root / "run"


# ----------------------------------------------------------------------------- train


def test_train_writes_the_run_and_reports_each_epoch(trained):
    names = sorted(p.name for p in trained.iterdir())
    assert names == ["best.safetensors", "curves.png", "last.safetensors", "metrics.csv", "metrics.json"]
    m = json.loads((trained / "metrics.json").read_text())
    assert m["model"] == "tinynet" and m["dataset"] == "mnist-sample" and len(m["history"]) == 2
    assert 0.3 < m["test_accuracy"] <= 1 and m["best_test_accuracy"] >= m["test_accuracy"]
    assert m["config"]["seed"] == 0 and m["config"]["augment"] == "none"  # the default recipe's
    ckpt = load_checkpoint(trained / "last.safetensors")
    assert ckpt["model"]["args"] == {"num_classes": 10, "in_channels": 1}
    assert ckpt["data"]["mean"] == pytest.approx([0.1307], abs=1e-3) and ckpt["data"]["channels"] == 1
    assert ckpt["config"]["epochs"] == 2 and ckpt["config"]["limit_train"] == 300
    assert (trained / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_train_output_on_a_pipe_is_one_line_per_epoch(tmp_path, capsys):
    status, out, err = run(capsys, "train", "tinynet", *QUICK[:-2], "--out", tmp_path / "r")  # progress auto
    assert status == 0, err
    lines = out.splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 2 and all(re.search(r"img/s  data \d+\.\d%$", e) for e in epochs)
    assert (
        lines[0].startswith("convnp train: tinynet (") and "mnist-sample: 300 training images, 2,000 test" in lines[0]
    )
    assert "\r" not in out
    assert re.match(r"test accuracy \d+\.\d\d% \(best test \d+\.\d\d% at epoch [12]\); \d+\.\d s", lines[-2])


@pytest.mark.slow
def test_same_seed_gives_the_same_metrics(tmp_path, capsys):
    for name in ("a", "b"):
        assert run(capsys, "train", "tinynet", *QUICK, "--augment", "shift", "--out", tmp_path / name)[0] == 0
    times = {"seconds", "train_seconds", "images_per_second", "data_seconds", "data_share"}
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("a", "b"))
    assert a.pop("seconds") > 0 and b.pop("seconds") > 0
    for m in (a, b):
        m["history"] = [{k: v for k, v in h.items() if k not in times} for h in m["history"]]
    assert a == b


@pytest.mark.slow
def test_default_out_folder_never_overwrites_a_run(tmp_path, capsys):
    args = ["train", "tinynet", "--limit-train", "100", "--epochs", "1", "--seed", "1"]
    assert run(capsys, *args)[0] == 0
    first = (tmp_path / "runs" / "tinynet-mnist-sample" / "last.safetensors").read_bytes()
    status, out, _ = run(capsys, *args)
    assert status == 0 and "runs/tinynet-mnist-sample-2" in out
    assert (tmp_path / "runs" / "tinynet-mnist-sample" / "last.safetensors").read_bytes() == first


class _InterruptAt(Callback):
    def on_batch_end(self, trainer, epoch, logs):
        if epoch == 3 and logs["batch"] == 2:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_ctrl_c_then_resume_ends_bit_identical_to_a_straight_run(tmp_path, capsys, monkeypatch):
    args = [
        "train",
        "tinynet",
        "--limit-train",
        "300",
        "--epochs",
        "4",
        "--batch-size",
        "50",
        "--seed",
        "5",
        "--augment",
        "shift",
        "--progress",
        "lines",
        "--model-arg",
        "dropout=0.3",
    ]
    assert run(capsys, *args, "--out", tmp_path / "straight")[0] == 0

    original_init = Trainer.__init__

    def init_with_interrupt(self, *a, **kw):
        original_init(self, *a, **kw)
        self.callbacks.append(_InterruptAt())

    monkeypatch.setattr(Trainer, "__init__", init_with_interrupt)
    status, out, err = run(capsys, *args, "--out", tmp_path / "stopped")
    assert status == 130
    last = tmp_path / "stopped" / "last.safetensors"
    assert f"interrupted during epoch 3: {last} holds epoch 2 of 4; continue with: convnp train --resume {last}" in err
    assert load_checkpoint(last)["epoch"] == 2
    assert len(json.loads((tmp_path / "stopped" / "metrics.json").read_text())["history"]) == 2
    monkeypatch.setattr(Trainer, "__init__", original_init)

    status, out, err = run(capsys, "train", "--resume", last, "--progress", "lines")
    assert status == 0, err
    assert "resuming after epoch 2 of 4" in out
    a = load_checkpoint(tmp_path / "straight" / "last.safetensors")
    b = load_checkpoint(last)
    assert a["epoch"] == b["epoch"] == 4
    for k, v in a["model"]["state"].items():
        assert np.array_equal(v, b["model"]["state"][k]), k
    ma = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "stopped" / "metrics.json").read_text())
    assert ma["test_accuracy"] == mb["test_accuracy"]
    assert [h["train_loss"] for h in ma["history"]] == [h["train_loss"] for h in mb["history"]]


def test_resume_by_out_folder_and_refusals(trained, capsys):
    status, _, err = run(capsys, "train", "tinynet", "--out", trained, "--resume")
    assert status == 2 and "has already completed all 2 epochs" in one_error_line(err)
    status, _, err = run(capsys, "train", "tinynet", "--out", trained, "--resume", "--lr", "0.3")
    assert status == 2 and "--resume continues the recorded run with its own settings; leave out --lr" in err
    status, _, err = run(capsys, "train", "tinynet", "--out", trained, "--resume", "--epochs", "5")
    assert status == 2 and "planned for 2 epochs and its onecycle learning-rate schedule is fixed" in err
    status, _, err = run(capsys, "train", "tinynet", "--out", trained / "nothing", "--resume")
    assert status == 2 and "there is no checkpoint" in one_error_line(err)


@pytest.mark.slow
def test_init_from_freeze_and_backbone_lr_scale(trained, tmp_path, capsys):
    status, out, err = run(
        capsys,
        "train",
        "tinynet",
        "--init-from",
        trained / "best.safetensors",
        "--freeze",
        "features",
        *QUICK,
        "--out",
        tmp_path / "ft",
    )
    assert status == 0, err
    assert "init-from: copied 4 of 4 tensors from best.safetensors" in out
    assert "frozen: features (40 parameters)" in out
    src = load_checkpoint(trained / "best.safetensors")["model"]["state"]
    dst = load_checkpoint(tmp_path / "ft" / "last.safetensors")["model"]["state"]
    assert np.array_equal(src["features.0.weight"], dst["features.0.weight"])
    assert not np.array_equal(src["classifier.weight"], dst["classifier.weight"])

    # a head for another class count is re-initialised and reported in one line
    folder = image_folder(tmp_path / "digits4", classes=4)
    status, out, err = run(
        capsys,
        "train",
        "tinynet",
        "--dataset",
        f"imagefolder:{folder}",
        "--init-from",
        trained / "best.safetensors",
        *QUICK,
        "--backbone-lr-scale",
        "0.1",
        "--out",
        tmp_path / "ft4",
    )
    assert status == 0, err
    line = [ln for ln in out.splitlines() if "init-from" in ln]
    assert line == [
        "  init-from: copied 2 of 4 tensors from best.safetensors; re-initialised classifier.weight, "
        "classifier.bias (shape (10, 144) in the checkpoint, (4, 144) here)"
    ]
    ckpt = load_checkpoint(tmp_path / "ft4" / "last.safetensors")
    assert ckpt["data"]["classes"] == ["0", "1", "2", "3"] and ckpt["model"]["args"]["num_classes"] == 4
    groups = ckpt["optimizer"]["param_groups"]
    assert [g["name"] for g in groups] == ["backbone", "head"]
    assert groups[0]["max_lr"] == pytest.approx(0.1 * groups[1]["max_lr"])
    m = json.loads((tmp_path / "ft4" / "metrics.json").read_text())
    assert m["test_accuracy"] > 0.5  # the new head learns (chance: 0.25)


def test_version_and_help(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.strip() == f"convnp {cn.__version__}"
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0 and "--init-from" in out and "--resume" in out
    status, _, err = run(capsys)
    assert status == 2 and "COMMAND" in err


def test_python_dash_m_convnp(tmp_path):
    env_python = sys.executable
    done = subprocess.run(
        [env_python, "-m", "convnp", "train", "--lr", "-1"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "convnp: error: --lr must be a positive number, for example --lr 0.05; received -1.0"
    done = subprocess.run([env_python, "-m", "convnp", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("convnp ")


# ----------------------------------------------------------------------------- eval and predict


def test_eval_prints_accuracy_per_class_and_confusion_and_writes_png(trained, tmp_path, capsys):
    status, out, err = run(capsys, "eval", trained / "best.safetensors", "--out", tmp_path / "ev")
    assert status == 0, err
    assert re.search(r"accuracy \d+\.\d\d%   top-5 \d+\.\d\d%   loss \d+\.\d{4}", out)
    assert "per-class accuracy:" in out and "confusion matrix (rows: true class, columns: predicted class):" in out
    report = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert report["n"] == 2000 and np.array(report["confusion"]).sum() == 2000
    metrics = json.loads((trained / "metrics.json").read_text())
    best = load_checkpoint(trained / "best.safetensors")
    assert report["accuracy"] == pytest.approx(best["best"]["value"])
    assert metrics["best_test_accuracy"] == pytest.approx(report["accuracy"])
    assert (tmp_path / "ev" / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    status, out, _ = run(capsys, "eval", trained / "best.safetensors", "--json")
    assert status == 0 and json.loads(out)["accuracy"] == pytest.approx(report["accuracy"])


def _digit_files(tmp_path):
    from PIL import Image

    ds = get_dataset("mnist-sample", split="test")
    paths = []
    for i in (0, 1):
        p = tmp_path / f"digit{i}.png"
        Image.fromarray(ds.images[i, 0]).save(p)
        paths.append(p)
    dark_on_light = tmp_path / "paper.jpg"
    Image.fromarray(255 - ds.images[0, 0]).resize((56, 56)).convert("RGB").save(dark_on_light)
    return paths, dark_on_light, ds


def test_predict_prints_top_k_and_json_agrees_with_the_model(trained, tmp_path, capsys):
    paths, paper, ds = _digit_files(tmp_path)
    status, out, err = run(capsys, "predict", trained / "best.safetensors", *paths, "--top", "3")
    assert status == 0, err
    blocks = out.strip().split("\n")
    assert len(blocks) == 2 * 4 and blocks[0].startswith(f"{paths[0]}: ") and blocks[1].startswith("  1. ")
    status, out, _ = run(capsys, "predict", trained / "best.safetensors", *paths, "--json")
    results = json.loads(out)
    assert [r["image"] for r in results] == [str(p) for p in paths]
    for r in results:
        probs = [p["probability"] for p in r["predictions"]]
        assert len(probs) == 5 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    # the same probabilities as the model on the same normalised digits
    from convnp.cli.common import model_from_checkpoint

    ckpt = load_checkpoint(trained / "best.safetensors")
    model = model_from_checkpoint(ckpt, "x")
    x = (ds.images[:2].astype(np.float32) / 255 - np.float32(ckpt["data"]["mean"][0])) / np.float32(
        ckpt["data"]["std"][0]
    )
    with cn.no_grad():
        logits = model(cn.tensor(x)).data.astype(np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    for n, r in enumerate(results):
        assert r["predictions"][0]["index"] == int(p[n].argmax())
        assert r["predictions"][0]["probability"] == pytest.approx(p[n].max(), rel=1e-5)


def test_predict_never_inverts_silently_but_suggests_invert(trained, tmp_path, capsys):
    paths, paper, _ = _digit_files(tmp_path)
    status, out, err = run(capsys, "predict", trained / "best.safetensors", paper)
    assert status == 0
    assert "is mostly light, but mnist-sample images are light on a dark background" in err and "--invert" in err
    status, out, err = run(capsys, "predict", trained / "best.safetensors", paper, "--invert", "--json")
    assert status == 0 and err == ""
    status, out2, _ = run(capsys, "predict", trained / "best.safetensors", paths[0], "--json")
    assert json.loads(out)[0]["predictions"][0]["class"] == json.loads(out2)[0]["predictions"][0]["class"]


# ----------------------------------------------------------------------------- bad input: one line, status 2


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "lenet", "--epochs", "1"], r"unknown model 'lenet'; did you mean lenet5.*\? available models: .*"),
        (["train", "tinynte"], r"unknown model 'tinynte'; did you mean tinynet( or \w+)?\?"),
        (["train", "tinynet", "--lr", "-0.1"], r"--lr must be a positive number, for example --lr 0.05; received -0.1"),
        (["train", "tinynet", "--lr", "0"], r"--lr must be a positive number"),
        (["train", "tinynet", "--lr", "nan"], r"--lr must be a positive number"),
        (
            ["train", "tinynet", "--batch-size", "0"],
            r"--batch-size must be a positive whole number, for example "
            r"--batch-size 128; received 0",
        ),
        (["train", "tinynet", "--epochs", "0"], r"--epochs must be a positive whole number.*received 0"),
        (["train", "tinynet", "--epochs", "-3"], r"--epochs must be a positive whole number.*received -3"),
        (
            ["train", "tinynet", "--dataset", "mnst"],
            r"unknown dataset 'mnst'; did you mean mnist( or [\w-]+)?\? choose one of mnist, ",
        ),
        (["train", "tinynet", "--dataset", "imagenet"], r"unknown dataset 'imagenet'; choose one of "),
        (["train", "tinynet", "--val-split", "1.5"], r"--val-split must lie in \(0, 1\)"),
        (["train", "tinynet", "--momentum", "1.2"], r"--momentum must lie in \[0, 1\)"),
        (["train", "tinynet", "--weight-decay", "-1"], r"--weight-decay must be zero or positive"),
        (["train", "tinynet", "--backbone-lr-scale", "0.1"], r"--backbone-lr-scale needs --init-from CKPT"),
        (
            ["train", "tinynet", "--lr", "abc"],
            r"train: argument --lr: invalid float value: 'abc'; see 'convnp train --help'",
        ),
        (["train", "tinynet", "--optimizer", "adamm"], r"argument --optimizer: invalid choice: 'adamm'"),
        (
            ["train", "tinynet", "--freeze", "feature", "--limit-train", "50", "--epochs", "1"],
            r"--freeze: no layer named 'feature' holds parameters.*Did you mean 'features'",
        ),
        (["bogus"], r"argument COMMAND: invalid choice: 'bogus'"),
        (["eval", "missing.safetensors"], r"checkpoint 'missing.safetensors' does not exist"),
        (["predict", "missing.safetensors", "x.png"], r"checkpoint 'missing.safetensors' does not exist"),
    ],
)
def test_bad_input_gets_one_line_and_status_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert re.search(message, one_error_line(err)), err


def test_missing_data_files_say_where_to_put_them(tmp_path, capsys):
    status, _, err = run(capsys, "train", "tinynet", "--dataset", "mnist", "--data-dir", tmp_path / "empty")
    line = one_error_line(err)
    assert status == 2
    assert "missing from" in line and "train-images-idx3-ubyte.gz" in line and "--data-dir" in line
    assert "data_dir=" not in line


def test_corrupt_data_file_is_named(tmp_path, capsys):
    data = tmp_path / "bad" / "mnist"
    data.mkdir(parents=True)
    for f in need(MNIST).iterdir():
        shutil.copy(f, data / f.name)
    raw = gzip.decompress((MNIST / "train-labels-idx1-ubyte.gz").read_bytes())
    (data / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw[:-500]))  # truncated labels
    status, _, err = run(
        capsys, "train", "tinynet", "--dataset", "mnist", "--data-dir", tmp_path / "bad", "--limit-train", "50"
    )
    line = one_error_line(err)
    assert status == 2 and "train-labels-idx1-ubyte" in line


def test_not_an_image_and_missing_image(trained, tmp_path, capsys):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    status, out, err = run(capsys, "predict", trained / "best.safetensors", text)
    assert status == 2 and out == ""
    assert (
        one_error_line(err) == f"convnp: error: '{text}' is not an image that Pillow can read; give PNG or JPEG files"
    )
    status, out, err = run(capsys, "predict", trained / "best.safetensors", tmp_path / "nope.png")
    assert status == 2 and "image '" in one_error_line(err) and "nope.png' does not exist" in err
    status, _, err = run(capsys, "predict", trained / "best.safetensors", text, "--top", "0")
    assert status == 2 and "--top must be a positive whole number" in one_error_line(err)


def test_not_a_checkpoint(tmp_path, capsys):
    text = tmp_path / "readme.safetensors"
    text.write_text("hello")
    for cmd in (["eval", text], ["predict", text, "x.png"], ["train", "--resume", text]):
        status, _, err = run(capsys, *cmd)
        assert status == 2 and "is not a readable convnp checkpoint" in one_error_line(err)
    plain = tmp_path / "weights.safetensors"
    cn.save(tinynet().state_dict(), plain)
    status, _, err = run(capsys, "eval", plain)
    assert status == 2 and "is a plain weights file (tensors only), not a convnp training checkpoint" in one_error_line(
        err
    )


def test_checkpoint_of_another_model(trained, tmp_path, capsys):
    status, _, err = run(capsys, "train", "lenet5", "--resume", trained / "last.safetensors")
    assert status == 2
    assert "is a checkpoint of model 'tinynet', not 'lenet5'" in one_error_line(err)
    # weights of one network under another network's name
    ckpt = load_checkpoint(trained / "best.safetensors")
    ckpt["model"]["name"] = "lenet5"
    from convnp.train import save_checkpoint

    save_checkpoint(tmp_path / "renamed.safetensors", ckpt)
    for cmd in (["eval", tmp_path / "renamed.safetensors"], ["predict", tmp_path / "renamed.safetensors", "x.png"]):
        status, _, err = run(capsys, *cmd)
        assert status == 2
        assert re.search(
            r"the weights in '.*renamed.safetensors' do not fit model 'lenet5' as convnp builds it \(.+\);"
            r" the file belongs to another model",
            one_error_line(err),
        )
    ckpt["model"]["name"] = "nosuchnet"
    save_checkpoint(tmp_path / "unknown.safetensors", ckpt)
    status, _, err = run(capsys, "eval", tmp_path / "unknown.safetensors")
    assert status == 2 and "was saved by model 'nosuchnet', which this convnp does not have" in one_error_line(err)
    status, _, err = run(capsys, "train", "lenet5", "--init-from", trained / "best.safetensors", "--limit-train", "50")
    assert status == 2
    assert "(a checkpoint of model 'tinynet') shares no layer (same name and shape) with this model" in one_error_line(
        err
    )


def test_eval_on_a_data_set_of_another_shape(trained, tmp_path, capsys):
    folder = image_folder(tmp_path / "rgb", classes=10, rgb=True, per_class=4)
    status, _, err = run(capsys, "eval", trained / "best.safetensors", "--dataset", f"imagefolder:{folder}")
    assert status == 2
    line = one_error_line(err)
    assert "was trained on mnist-sample: 10 classes of 1x28x28 images, but" in line and "3x32x32" in line


def test_nothing_written_is_lost_by_a_failing_command(trained, capsys):
    before = {p.name: p.read_bytes() for p in trained.iterdir()}
    status, _, err = run(capsys, "train", "tinynet", "--out", trained, "--limit-train", "50")
    assert status == 2 and "already holds a training run; continue it with --resume" in one_error_line(err)
    status, _, err = run(capsys, "train", "tinynet", "--out", trained, "--resume", "--epochs", "0")
    assert status == 2
    assert {p.name: p.read_bytes() for p in trained.iterdir()} == before


def test_debug_shows_the_traceback(capsys):
    status, _, err = run(capsys, "--debug", "train", "tinynet", "--dataset", "mnst")
    assert status == 2 and "Traceback" in err and err.strip().endswith("(--dataset NAME)")
    status, _, err = run(capsys, "train", "tinynet", "--dataset", "mnst", "--debug")
    assert status == 2 and "Traceback" in err


def test_an_unexpected_failure_is_one_line_with_status_1(capsys, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setitem(convnp.models.MODELS, "tinynet", broken)
    status, _, err = run(capsys, "train", "tinynet", "--limit-train", "50")
    assert status == 1
    assert one_error_line(err) == ("convnp: error: RuntimeError: boom (run again with --debug for the traceback)")


def test_subcommands_that_are_missing_are_skipped_and_broken_ones_report(capsys, monkeypatch):
    import importlib

    import convnp.cli as cli

    real = importlib.import_module

    def fake_import(name, *a, **k):
        if name == "convnp.cli.broken":
            raise SyntaxError("invalid syntax (broken.py, line 3)")
        return real(name, *a, **k)

    monkeypatch.setattr(cli, "SUBCOMMANDS", ("train", "nosuchcommand", "broken"))
    monkeypatch.setattr(cli.importlib, "import_module", fake_import)
    status, out, _ = run(capsys, "--help")
    assert status == 0 and "train" in out and "nosuchcommand" not in out and "broken" in out
    status, _, err = run(capsys, "broken")
    assert status == 1
    assert one_error_line(err) == (
        "convnp: error: the 'broken' command cannot load: SyntaxError: invalid syntax (broken.py, line 3)"
    )
    status, _, err = run(capsys, "train", "--lr", "-1")  # the others still work
    assert status == 2
