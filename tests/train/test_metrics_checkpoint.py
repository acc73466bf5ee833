"""Metrics against PyTorch and by hand; checkpoints round-trip and are checked on load; plots and files."""

import json
import os

import numpy as np
import pytest
import torch

import convnp as cn
from convnp import nn
from convnp.train import (
    CheckpointError,
    MetricAccumulator,
    accuracy,
    confusion_matrix,
    load_checkpoint,
    make_checkpoint,
    per_class_accuracy,
    save_checkpoint,
    topk_correct,
)
from convnp.train.files import atomic_write_bytes, write_csv, write_json
from convnp.train.plots import plot_confusion_matrix, plot_curves

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("n,k,seed", [(1, 2, 0), (7, 3, 1), (50, 10, 2), (33, 100, 3)])
def test_topk_matches_torch_topk(n, k, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, k)).astype(np.float32)
    y = rng.integers(0, k, n)
    ks = [1, 2, min(5, k), k]
    got = topk_correct(logits, y, ks)
    t = torch.from_numpy(logits)
    want = [int((t.topk(kk, dim=1).indices == torch.from_numpy(y)[:, None]).any(dim=1).sum()) for kk in ks]
    assert got.tolist() == want
    assert got[-1] == n  # top-K of K classes is always right


def test_top1_ties_follow_argmax_first_maximum():
    logits = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 2.0, 2.0]])
    y = np.array([0, 1, 2])
    assert topk_correct(logits, y, (1, 2)).tolist() == [1, 3]  # argmax picks class 0, 0, 1
    assert accuracy(logits, y) == pytest.approx((logits.argmax(1) == y).mean())
    assert accuracy(logits, y, (1, 2)) == pytest.approx([1 / 3, 1.0])


def test_confusion_matrix_and_per_class_accuracy():
    y = np.array([0, 0, 1, 1, 1, 3])
    p = np.array([0, 1, 1, 1, 0, 3])
    cm = confusion_matrix(p, y, 4)
    want = np.zeros((4, 4), int)
    for a, b in zip(y, p):
        want[a, b] += 1
    assert np.array_equal(cm, want) and cm.dtype == np.int64
    pc = per_class_accuracy(cm)
    assert pc[0] == 0.5 and pc[1] == pytest.approx(2 / 3) and np.isnan(pc[2]) and pc[3] == 1.0


def test_metric_errors_name_the_problem():
    with pytest.raises(
        ValueError,
        match=r"topk_correct: expected logits of shape \(N, num_classes\). "
        r"Received: shape \(3,\)",
    ):
        topk_correct(np.zeros(3), np.zeros(3, int))
    with pytest.raises(
        ValueError,
        match=r"expected one integer target per row of logits, shape \(2,\). "
        r"Received: targets of shape \(3,\)",
    ):
        accuracy(np.zeros((2, 3)), np.zeros(3, int))
    with pytest.raises(TypeError, match=r"targets must be integer class indices. Received: dtype float64"):
        accuracy(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"every k must be at least 1. Received: ks=\[0\]"):
        topk_correct(np.zeros((2, 3)), np.zeros(2, int), (0,))
    with pytest.raises(
        ValueError, match=r"confusion_matrix: targets must lie in \[0, 2\). Received: values from 0 to 5"
    ):
        confusion_matrix(np.array([0, 1]), np.array([0, 5]), 2)
    with pytest.raises(ValueError, match=r"same length. Received: 2 predictions, 3 targets"):
        confusion_matrix(np.array([0, 1]), np.array([0, 1, 1]), 2)
    with pytest.raises(ValueError, match=r"num_classes must be at least 1"):
        confusion_matrix(np.array([0]), np.array([0]), 0)
    with pytest.raises(ValueError, match=r"per_class_accuracy: expected a square confusion matrix"):
        per_class_accuracy(np.zeros((2, 3)))


def test_accumulator_weights_the_loss_by_batch_size():
    acc = MetricAccumulator(topk=(1, 5), confusion=True, num_classes=3)
    acc.update(1.0, np.eye(3)[[0, 1]], np.array([0, 0]))  # 2 images, 1 right
    acc.update(4.0, np.eye(3)[[2]], np.array([2]))  # 1 image, right
    assert acc.n == 3 and acc.loss == pytest.approx(2.0)
    assert acc.accuracy(1) == pytest.approx(2 / 3) and acc.accuracy(5) == 1.0  # top-5 of 3 classes
    assert acc.confusion.tolist() == [[1, 1, 0], [0, 0, 0], [0, 0, 1]]


def _checkpoint(model):
    opt = cn.optim.Adam(model.parameters(), lr=0.01)
    sched = cn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    gen = np.random.default_rng(3)
    gen.random(7)
    return make_checkpoint(
        model,
        opt,
        sched,
        epoch=2,
        model_name="net",
        model_args={"num_classes": 3},
        data={
            "dataset": "x",
            "classes": ["a", "b", "c"],
            "mean": (0.5,),
            "std": [0.25],
            "channels": 1,
            "image_size": (4, 4),
        },
        history=[{"epoch": 1, "test_accuracy": np.float64(0.5)}],
        best={"epoch": 1, "value": 0.5},
        loader_generator=gen,
    ), gen


def test_checkpoint_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3))
    ckpt, gen = _checkpoint(model)
    cn.manual_seed(11)
    state = cn.get_rng_state()
    ckpt["rng"]["global"] = state
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, ckpt)
    back = load_checkpoint(path)
    assert back["epoch"] == 2 and back["model"]["name"] == "net" and back["model"]["args"] == {"num_classes": 3}
    assert back["data"]["mean"] == [0.5] and back["data"]["image_size"] == [4, 4]
    assert back["history"] == [{"epoch": 1, "test_accuracy": 0.5}]
    for k, v in model.state_dict().items():
        assert np.array_equal(back["model"]["state"][k], v)
    assert back["rng"]["global"] == state  # 128-bit PCG64 state intact
    fresh = np.random.default_rng(0)
    from convnp.train import restore_rng

    cn.manual_seed(0)
    restore_rng(back, fresh)
    assert fresh.random() == gen.random()
    assert cn.get_rng_state() == state
    opt2 = cn.optim.Adam(model.parameters(), lr=0.01)
    opt2.load_state_dict(back["optimizer"])  # loads into a fresh optimiser
    # the safetensors tensors are named by their key path
    from safetensors.numpy import load_file

    assert "model.state.0.weight" in load_file(str(path))


def test_load_checkpoint_rejects_what_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint '.*nope.safetensors' does not exist"):
        load_checkpoint(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match=r"is a directory; give a file in it"):
        load_checkpoint(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("hello world, not weights")
    with pytest.raises(
        CheckpointError,
        match=r"'.*notes.txt' is not a readable convnp checkpoint \(.*\); give a "
        r"\.safetensors file that 'convnp train' wrote",
    ):
        load_checkpoint(text)
    plain = tmp_path / "weights.safetensors"
    cn.save(nn.Linear(2, 2).state_dict(), plain)
    with pytest.raises(
        CheckpointError,
        match=r"is a plain weights file \(tensors only\), not a convnp training "
        r"checkpoint",
    ):
        load_checkpoint(plain)
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, _checkpoint(nn.Linear(4, 3))[0])
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=r"not a readable convnp checkpoint \(is truncated"):
        load_checkpoint(truncated)
    other = tmp_path / "other.safetensors"
    cn.save({"format": "convnp.checkpoint", "format_version": 99, "model": {}}, other)
    with pytest.raises(CheckpointError, match=r"format version 99; this convnp reads version 1"):
        load_checkpoint(other)


def test_files_are_written_atomically(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    write_json(path, {"a": 1.0, "nan": float("nan"), "np": np.float32(0.5)})
    assert json.loads(path.read_text()) == {"a": 1.0, "nan": None, "np": 0.5}

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(path, b"half")
    monkeypatch.undo()
    assert json.loads(path.read_text())["a"] == 1.0  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left
    write_csv(tmp_path / "m.csv", [{"epoch": 1, "x": 0.5}, {"epoch": 2, "x": None, "y": 3}])
    assert (tmp_path / "m.csv").read_text() == "epoch,x,y\n1,0.5,\n2,,3\n"


def test_plots_are_pngs(tmp_path):
    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "test_loss": 1.2 / e,
            "train_accuracy": 0.5 + e / 10,
            "test_accuracy": 0.5 + e / 11,
            "test_top5": 0.9,
        }
        for e in range(1, 4)
    ]
    plot_curves(history, tmp_path / "curves.png", title="t")
    plot_confusion_matrix(np.array([[5, 1], [0, 4]]), ["cat", "dog"], tmp_path / "cm.png")
    plot_confusion_matrix(np.eye(25, dtype=int) * 3, [str(i) for i in range(25)], tmp_path / "big.png")
    for name in ("curves.png", "cm.png", "big.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


def test_recipes_by_model_and_dataset():
    from convnp.train.recipes import DEFAULT_RECIPE, describe_recipes, recipe_for

    lenet = recipe_for("lenet5", "mnist")
    assert (lenet["optimizer"], lenet["lr"], lenet["scheduler"], lenet["augment"], lenet["epochs"]) == (
        "sgd",
        0.05,
        "onecycle",
        "shift",
        12,
    )
    assert recipe_for("lenet5", "mnist-sample")["epochs"] == 10
    assert recipe_for("resnet20", "imagefolder:/x/cifar10-jpg.zip")["augment"] == "standard"
    assert recipe_for("somenet", "mnist") == DEFAULT_RECIPE
    assert "lenet5: sgd lr 0.05 momentum 0.9 nesterov" in describe_recipes()
