"""report.html: one self-contained file; and the `convnp inspect` command on a tiny checkpoint."""

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from inspect_nets import randomize

from convnp import inspect
from convnp.cli import main
from convnp.data import ArrayDataset, DataLoader
from convnp.models import lenet5
from convnp.nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from convnp.train.checkpoint import make_checkpoint, save_checkpoint

PNG = b"\x89PNG\r\n\x1a\n"


def check_self_contained(html: str, folder: Path) -> int:
    """Every image is an embedded PNG that was also written to ``folder``; nothing is fetched."""
    assert "<script" not in html.lower()
    assert not re.search(r"https?://", html), "the report must not reference the network"
    assert not re.search(r"<link[^>]+stylesheet", html)
    srcs = re.findall(r'<img[^>]* src="([^"]*)"', html)
    written = {p.read_bytes() for p in folder.glob("*.png")}
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert data.startswith(PNG) and data in written
    for target in re.findall(r'href="#([^"]+)"', html):  # the navigation points at sections
        assert f'id="{target}"' in html, target
    assert re.findall(r'href="([^"#][^"]*)"', html) == ["data:,"]  # only the empty favicon
    return len(srcs)


def _tiny_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 12, 12)).astype(np.uint8)
    return ArrayDataset(images, rng.integers(0, 4, n), classes=["cat", "dog", "owl", "eel"])


@pytest.mark.slow
def test_report_writes_one_self_contained_file(tmp_path):
    model = randomize(
        Sequential(
            Conv2d(3, 4, 3, padding=1), ReLU(), MaxPool2d(2), Conv2d(4, 5, 3), ReLU(), Flatten(), Linear(5 * 4 * 4, 4)
        ),
        seed=1,
    )
    ds = _tiny_data()
    loader = DataLoader(ds, 16)
    history = [
        {"epoch": 1, "train_loss": 1.3, "test_accuracy": 0.3},
        {"epoch": 2, "train_loss": 1.1, "test_accuracy": 0.4},
    ]
    (tmp_path / "metrics.json").write_text(json.dumps({"history": history}))
    r = inspect.report(
        model,
        loader,
        tmp_path / "out",
        classes=ds.classes,
        mean=[0.5] * 3,
        std=[0.25] * 3,
        metrics=tmp_path / "metrics.json",
        k=4,
        info={"model": "tiny"},
    )
    html = r.html.read_text()
    n_images = check_self_contained(html, tmp_path / "out")
    assert n_images == len(r.pngs) == len(list((tmp_path / "out").glob("*.png")))
    for name in (
        "curves",
        "predictions",
        "confusion",
        "confused_pairs",
        "saliency",
        "grad_cam",
        "guided_backprop",
        "filters_0",
        "filters_3",
        "feature_maps_0",
        "feature_maps_2",
        "feature_maps_3",
        "top_patches_0",
        "top_patches_3",
    ):
        assert (tmp_path / "out" / f"{name}.png").exists(), name
    for text in (
        "Model summary",
        "Receptive fields",
        "One output value by hand",
        "top-4 patches of every channel of 0 over 40 images",
        'href="#layer-3"',
    ):
        assert text in html, text
    pred = inspect.class_scores(model, ds.images / np.float32(255)).argmax(axis=1)  # the loader's inputs
    assert r.accuracy == pytest.approx(np.mean(pred == ds.labels))


def test_report_with_chosen_layers_and_no_labels(tmp_path):
    model = randomize(Sequential(Conv2d(3, 4, 3), ReLU(), Flatten(), Linear(4 * 10 * 10, 3)), seed=2)
    x = np.random.default_rng(3).standard_normal((20, 3, 12, 12)).astype(np.float32)
    r = inspect.report(model, x, tmp_path, layers=["1"], k=2, deconv=False)
    html = r.html.read_text()
    check_self_contained(html, tmp_path)
    assert r.accuracy is None and "top_patches_1.png" in {p.name for p in r.pngs}
    with pytest.raises(KeyError, match=r"no layer named 'nope'"):
        inspect.report(model, x, tmp_path, layers=["nope"])
    with pytest.raises(TypeError, match=r"report: the loader is read several times .*Received: generator"):
        inspect.report(model, (b for b in [x]), tmp_path)


@pytest.fixture
def checkpoint(tmp_path):
    """A LeNet-5 checkpoint as `convnp train` writes it, for the bundled MNIST sample, with metrics.json."""
    model = lenet5()
    data = {
        "dataset": "mnist-sample",
        "data_dir": None,
        "classes": [str(i) for i in range(10)],
        "mean": [0.1307],
        "std": [0.3081],
        "channels": 1,
        "image_size": [28, 28],
    }
    run = tmp_path / "run"
    run.mkdir()
    path = run / "best.safetensors"
    save_checkpoint(
        path,
        make_checkpoint(
            model, epoch=1, model_name="lenet5", model_args={"num_classes": 10, "in_channels": 1}, data=data
        ),
    )
    (run / "metrics.json").write_text(json.dumps({"history": [{"epoch": 1, "train_loss": 2.3, "test_accuracy": 0.1}]}))
    return path


@pytest.mark.slow
def test_inspect_command(checkpoint, tmp_path, capsys):
    out = tmp_path / "inspect"
    assert main(["inspect", str(checkpoint), "--limit", "300", "--out", str(out), "--k", "4"]) == 0
    text = capsys.readouterr().out
    assert "on mnist-sample test: 300 images" in text and "wrote" in text
    html = (out / "report.html").read_text()
    check_self_contained(html, out)
    assert "top-4 patches of every channel of c1 over 300 images" in html
    assert "top-4 patches of every channel of c3 over 300 images" in html
    assert (out / "curves.png").exists()  # metrics.json beside the checkpoint
    # --layers, and the default --out beside the checkpoint
    assert main(["inspect", str(checkpoint), "--limit", "50", "--layers", "c3", "act#1", "--no-deconv"]) == 0
    assert (checkpoint.parent / "inspect" / "top_patches_act_1.png").exists()


def test_inspect_command_errors(checkpoint, tmp_path, capsys):
    assert main(["inspect", str(checkpoint), "--layers", "c9", "--limit", "20", "--out", str(tmp_path / "o")]) == 2
    assert "--layers: inspect: no layer named 'c9'" in capsys.readouterr().err
    assert main(["inspect", str(checkpoint), "--k", "0"]) == 2
    assert "--k must be a positive whole number" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "missing.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["inspect", str(checkpoint), "--dataset", "nosuchset"]) == 2
    assert "unknown dataset 'nosuchset'" in capsys.readouterr().err
