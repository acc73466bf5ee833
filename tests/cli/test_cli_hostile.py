"""Hostile inputs to the command line (issue #20): each gets one line naming the file or option,
what was wrong and what is expected, and exit status 2; nothing is written or overwritten."""

import copy
from pathlib import Path

import numpy as np
import pytest
from test_cli import QUICK, one_error_line, run, trained, zoo_and_dirs  # noqa: F401  (fixtures)

from convnp.serialization import load, save


def _variant(tmp_path, trained, change, name="bad.safetensors"):
    obj = copy.deepcopy(load(trained / "best.safetensors"))
    change(obj)
    path = tmp_path / name
    save(obj, path)
    return path


def _digit(tmp_path):
    from PIL import Image

    path = tmp_path / "digit.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(path)
    return path


# ----------------------------------------------------------------------------- defect 1


def test_eval_and_predict_refuse_non_finite_weights(trained, tmp_path, capsys):
    def poison(obj):
        obj["model"]["state"]["classifier.weight"][:] = np.nan

    path = _variant(tmp_path, trained, poison)
    expected = (
        f"convnp: error: '{path}' holds non-finite weights (NaN or infinity in model.state.classifier.weight); "
        f"the run that wrote it diverged: train again with a lower --lr"
    )
    for argv in (["eval", path], ["predict", path, _digit(tmp_path)]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == ""
        assert one_error_line(err) == expected
    status, _, err = run(
        capsys, "train", "tinynet", "--init-from", path, "--limit-train", "50", "--out", tmp_path / "x"
    )
    assert status == 2 and "--init-from: '" in one_error_line(err) and "holds non-finite weights" in err
    assert not (tmp_path / "x").exists()


def test_a_diverging_run_keeps_the_finite_checkpoints(tmp_path, capsys, monkeypatch):
    """The issue's reproduction, with the last step of epoch 2 made to leave NaN weights."""
    from convnp.train import Callback, Trainer

    class Poison(Callback):
        def on_epoch_end(self, trainer, epoch, entry):
            pass

        def on_batch_end(self, trainer, epoch, logs):
            if epoch == 2 and logs["batch"] == 6:
                trainer.model.classifier.weight.data[:] = np.nan

    original = Trainer.__init__

    def init(self, *a, **kw):
        original(self, *a, **kw)
        self.callbacks.append(Poison())

    monkeypatch.setattr(Trainer, "__init__", init)
    status, out, err = run(
        capsys,
        "train",
        "tinynet",
        "--limit-train",
        "300",
        "--epochs",
        "3",
        "--batch-size",
        "50",
        "--seed",
        "0",
        "--progress",
        "lines",
        "--out",
        tmp_path / "nan",
    )
    assert status == 1
    line = one_error_line(err)
    assert line.startswith(
        "convnp: error: the weights became non-finite (NaN or infinity in classifier.weight) "
        "during epoch 2: the learning rate"
    )
    assert line.endswith(f"; {tmp_path / 'nan' / 'last.safetensors'} keeps epoch 1")
    monkeypatch.setattr(Trainer, "__init__", original)
    for name in ("best.safetensors", "last.safetensors"):
        status, out, err = run(capsys, "eval", tmp_path / "nan" / name)
        assert status == 0, err
        assert "epoch 1)" in out


# ----------------------------------------------------------------------------- defects 5 and 6: metadata


@pytest.mark.parametrize(
    "keys,value,entry",
    [
        (("data", "classes"), 5, "data.classes"),
        (("data", "mean"), "x", "data.mean"),
        (("epoch",), "abc", "epoch"),
        (("epoch",), -4, "epoch"),
        (("model", "args", "num_classes"), 30_000_000, "model.args.num_classes"),
        (("data", "image_size"), [100000, 100000], "data.image_size"),
        (("config", "epochs"), "many", "config.epochs"),
    ],
)
def test_bad_metadata_is_one_line_and_status_2_everywhere(trained, tmp_path, capsys, keys, value, entry):
    def change(obj):
        d = obj
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    path = _variant(tmp_path, trained, change, name="last.safetensors")
    for argv in (["eval", path], ["predict", path, _digit(tmp_path)], ["train", "--resume", path]):
        status, out, err = run(capsys, *argv)
        assert status == 2, (argv, err)
        line = one_error_line(err)
        assert f"'{path}' has invalid metadata: {entry} must be" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digit.png", "last.safetensors"]


def test_a_negative_epoch_is_not_resumed(trained, tmp_path, capsys):
    path = _variant(tmp_path, trained, lambda o: o.__setitem__("epoch", -4), name="last.safetensors")
    before = path.read_bytes()
    status, _, err = run(capsys, "train", "--resume", path)
    assert status == 2 and "epoch must be a whole number from 0 to 1,000,000; received -4" in one_error_line(err)
    assert path.read_bytes() == before and not (tmp_path / "metrics.json").exists()


# ----------------------------------------------------------------------------- defect 2: files without an end


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_devices_are_refused_not_read(capsys):
    for argv in (["eval", "/dev/zero"], ["predict", "/dev/zero", "x.png"], ["train", "--resume", "/dev/zero"]):
        status, _, err = run(capsys, *argv)
        assert status == 2
        assert (
            "'/dev/zero' is not a readable convnp checkpoint (is not a regular file (it is a device, a pipe or "
            "a directory))" in one_error_line(err)
        )


def test_deeply_nested_header_json_is_status_2(tmp_path, capsys):
    import struct

    for name, header in (
        ("deep1", b"[" * 100_000 + b"]" * 100_000),
        ("deep2", b'{"__metadata__":{"convnp.structure":"' + b"[" * 100_000 + b']"}}'),
    ):
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(struct.pack("<Q", len(header)) + header)
        status, _, err = run(capsys, "eval", path)
        assert status == 2 and "nested too deeply" in one_error_line(err)


# ----------------------------------------------------------------------------- defect 3: 16-bit greyscale in predict


def test_predict_scales_sixteen_bit_greyscale(trained, tmp_path, capsys):
    import json

    from PIL import Image

    wide = (np.random.default_rng(0).random((28, 28)) ** 3 * 65535).astype(np.uint16)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    Image.fromarray(np.rint(wide / 257).astype(np.uint8)).save(tmp_path / "narrow.png")
    Image.fromarray(np.full((28, 28), 255, np.uint8)).save(tmp_path / "white.png")
    status, out, err = run(
        capsys,
        "predict",
        trained / "best.safetensors",
        tmp_path / "wide.png",
        tmp_path / "narrow.png",
        tmp_path / "white.png",
        "--json",
        "--top",
        "10",
    )
    assert status == 0, err
    wide_p, narrow_p, white_p = (
        [p["probability"] for p in sorted(r["predictions"], key=lambda p: p["index"])] for r in json.loads(out)
    )
    assert np.allclose(wide_p, narrow_p, atol=1e-6)
    assert not np.allclose(wide_p, white_p, atol=1e-3)  # what clipping gave: nearly all white


# ----------------------------------------------------------------------------- defects 2 and 5: images


def test_predict_refuses_an_image_with_too_many_pixels(trained, tmp_path, capsys, monkeypatch):
    import PIL.Image

    import convnp.data.imagefolder as imagefolder

    PIL.Image.fromarray(np.zeros((300, 300), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(imagefolder, "MAX_IMAGE_PIXELS", 10_000)
    status, _, err = run(capsys, "predict", trained / "best.safetensors", tmp_path / "big.png")
    assert status == 2
    assert one_error_line(err) == (
        f"convnp: error: image '{tmp_path / 'big.png'}' is 300x300 pixels, more than the "
        f"10,000 convnp decodes (convnp.data.imagefolder.MAX_IMAGE_PIXELS); give a "
        f"smaller image"
    )
    # Pillow's own decompression-bomb refusal (when convnp's cap is above Pillow's)
    monkeypatch.setattr(imagefolder, "MAX_IMAGE_PIXELS", 10**9)
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    status, _, err = run(capsys, "predict", trained / "best.safetensors", tmp_path / "big.png")
    assert status == 2 and "is a damaged or unsupported image (" in one_error_line(err)


# ----------------------------------------------------------------------------- defect 8: degenerate data sets


def _flat_folder(root, classes, per_class):
    from PIL import Image

    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(np.full((28, 28), (40 * i) % 256, np.uint8)).save(root / c / f"{i}.png")
    return root


def test_one_class_data_set_is_refused(tmp_path, capsys):
    folder = _flat_folder(tmp_path / "one", ["cat"], 20)
    status, _, err = run(
        capsys, "train", "tinynet", "--dataset", f"imagefolder:{folder}", "--epochs", "1", "--out", tmp_path / "r"
    )
    assert status == 2
    assert one_error_line(err) == (
        f"convnp: error: dataset 'imagefolder:{folder}' has 1 class ('cat'); a classifier "
        f"needs at least two classes (for an image folder: one folder of images per class)"
    )
    assert not (tmp_path / "r").exists()


def test_empty_evaluation_split_is_refused(tmp_path, capsys):
    folder = _flat_folder(tmp_path / "tiny", ["a", "b"], 2)  # 10% of 2 images per class rounds to none
    status, _, err = run(
        capsys, "train", "tinynet", "--dataset", f"imagefolder:{folder}", "--epochs", "1", "--out", tmp_path / "r"
    )
    assert status == 2
    assert one_error_line(err) == (
        f"convnp: error: the test split of dataset 'imagefolder:{folder}' holds no image, "
        f"so the training cannot be measured; give the data set test images (for an image "
        f"folder: a test/ folder, or class folders with enough images for its held-out "
        f"share)"
    )
    assert not (tmp_path / "r").exists()


def test_empty_class_folder_is_refused_by_train(tmp_path, capsys):
    folder = _flat_folder(tmp_path / "gap", ["a", "b"], 10)
    (folder / "c").mkdir()
    status, _, err = run(capsys, "train", "tinynet", "--dataset", f"imagefolder:{folder}", "--epochs", "1")
    assert status == 2 and "the class folder c of " in one_error_line(err) and "holds no image" in err


def test_limit_train_one_is_refused(capsys):
    status, _, err = run(capsys, "train", "tinynet", "--limit-train", "1", "--epochs", "1")
    assert status == 2
    assert one_error_line(err) == (
        "convnp: error: --limit-train must be a whole number of at least 2, for example --limit-train 1000; received 1"
    )


# ----------------------------------------------------------------------------- defects 2 and 5: data files


def test_a_malicious_cifar_pickle_is_status_2(tmp_path, capsys):
    from data_helpers import write_cifar

    folder, _ = write_cifar(tmp_path / "d")
    (folder / "data_batch_3").write_bytes(b"cos\nsystem\n(S'touch pwned'\ntR.")
    status, _, err = run(
        capsys, "train", "tinynet", "--dataset", "cifar10", "--data-dir", tmp_path / "d", "--epochs", "1"
    )
    assert status == 2
    line = one_error_line(err)
    assert "data_batch_3" in line and "forbidden global 'os.system'" in line
    assert not Path("pwned").exists()


def test_an_idx_header_claiming_a_billion_images_is_status_2(tmp_path, capsys):
    import gzip
    import struct

    folder = tmp_path / "d" / "mnist"
    folder.mkdir(parents=True)
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + bytes(10)
    images = bytes([0, 0, 8, 3]) + struct.pack(">III", 10**9, 28, 28) + bytes(7840)
    for split in ("train", "t10k"):
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
        (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels))
    status, _, err = run(
        capsys, "train", "tinynet", "--dataset", "mnist", "--data-dir", tmp_path / "d", "--epochs", "1"
    )
    assert status == 2
    line = one_error_line(err)
    assert "train-images-idx3-ubyte.gz declares 1000000000 x 28 x 28 values" in line and "MAX_IDX_BYTES" in line


# ----------------------------------------------------------------------------- defects 2 and 5: summary, explain


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["summary", "vgg16", "--input", "3,100000,100000"],
            "convnp: error: --input 3,100000,100000 with batch 1 is 30,000,000,000 values, more than the 67,108,864 convnp "
            "summary traces (convnp.cli.summary.MAX_INPUT_ELEMENTS); give a smaller --input or --batch-size",
        ),
        (["summary", "lenet5", "--batch-size", "100000000"], "is 102,400,000,000 values, more than the 67,108,864"),
        (
            ["summary", "vgg16", "--num-classes", "1000000000"],
            "convnp: error: --num-classes must be a whole number from 1 to 100,000, for example --num-classes 10; "
            "received 1000000000",
        ),
        (
            ["explain", "conv", "--input", "1000000000", "--kernel", "3"],
            "convnp: error: explain conv: --input 1000000000: 1,000,000,000 is larger than the 100,000 explain works with "
            "(convnp.cli.explain.MAX_NUMBER); give sizes of at most 100,000",
        ),
        (["explain", "pool", "--input", "32", "--kernel", "2x9999999"], "explain pool: --kernel 2x9999999: 9,999,999"),
        (["explain", "fc", "--input", "7", "--units", "123456789"], "explain fc: --units 123456789: 123,456,789"),
    ],
)
def test_sizes_beyond_the_caps_are_one_line_and_status_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert message in one_error_line(err)


def test_eval_of_finite_weights_whose_outputs_overflow(trained, tmp_path, capsys):
    import json

    def overflow(obj):
        obj["model"]["state"]["classifier.weight"][:] = 3e38

    path = _variant(tmp_path, trained, overflow)
    status, out, err = run(capsys, "eval", path, "--json")
    assert status == 0
    report = json.loads(out)
    assert report["accuracy"] == 0.0 and report["nonfinite"] == report["n"] == 2000
    assert err.strip() == (
        "note: the network's outputs are NaN or infinite for 2,000 of 2,000 images; they count as "
        "wrong and are left out of the per-class table and the confusion matrix"
    )


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes (os.mkfifo)")
def test_a_pipe_is_refused_not_opened(trained, tmp_path, capsys):
    import os

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    status, _, err = run(capsys, "predict", trained / "best.safetensors", fifo)
    assert status == 2
    assert one_error_line(err) == (
        f"convnp: error: '{fifo}' is not a regular file (it is a device or a pipe); give image files (PNG or JPEG)"
    )
    status, _, err = run(capsys, "eval", fifo)
    assert status == 2 and "is not a regular file" in one_error_line(err)


@pytest.mark.skipif(
    __import__("os").geteuid() == 0 if hasattr(__import__("os"), "geteuid") else True,
    reason="needs a user whose write permissions are enforced (not root)",
)
def test_an_unwritable_out_folder_is_refused_before_training(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        status, out, err = run(
            capsys, "train", "tinynet", "--limit-train", "50", "--epochs", "1", "--out", locked / "run"
        )
    finally:
        locked.chmod(0o700)
    assert status == 2 and "epoch 1/1" not in out
    assert one_error_line(err).startswith(
        f"convnp: error: --out {locked / 'run'}: cannot write there (Permission denied)"
    )


def test_out_checked_before_training(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status, out, err = run(capsys, "train", "tinynet", "--limit-train", "50", "--epochs", "1", "--out", blocker / "run")
    assert status == 2 and "epoch 1/1" not in out
    assert one_error_line(err).startswith(f"convnp: error: --out {blocker / 'run'}: cannot write there (")


# ----------------------------------------------------------------------------- defect 11: warnings on stderr


def _palette_png_with_byte_transparency(tmp_path):
    """A palette PNG whose transparency is a byte string: Pillow warns when it is converted to L or RGB."""
    from PIL import Image

    img = Image.fromarray(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28) % 4).convert("P")
    img.putpalette([0, 0, 0, 80, 80, 80, 160, 160, 160, 255, 255, 255])
    path = tmp_path / "palette.png"
    img.save(path, transparency=bytes([0, 128, 255, 255]))
    return path


def _overflowing(tmp_path, trained):
    def overflow(obj):
        obj["model"]["state"]["classifier.weight"][:] = 3e38

    return _variant(tmp_path, trained, overflow, "overflow.safetensors")


def test_numpy_and_pillow_warnings_do_not_reach_stderr(trained, tmp_path, capsys, monkeypatch):
    import warnings

    from PIL import Image

    path = _overflowing(tmp_path, trained)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # a 28x28 image: Pillow's DecompressionBombWarning
    commands = [
        ["predict", trained / "best.safetensors", _digit(tmp_path)],  # Pillow
        ["eval", path],  # NumPy: overflow in the network
        ["inspect", path],  # NumPy: overflow in matmul (25 warnings before)
        ["train", "tinynet", *QUICK, "--epochs", "1", "--out", tmp_path / "run"],
    ]
    before = list(warnings.filters)
    for argv in commands:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # what `python -W always` would print
            status, out, err = run(capsys, *argv)
        assert status == 0, (argv, err)
        shown = [f"{w.category.__name__}: {w.message} ({w.filename})" for w in caught]
        assert shown == [], (argv, shown)
        assert "Warning" not in err, (argv, err)
    assert warnings.filters == before  # the command line's filters do not outlive it


def test_the_library_still_warns(tmp_path):
    """Only the command line is quiet: the same operations still warn when called from Python."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.exp(np.float32(1000))
        with Image.open(_palette_png_with_byte_transparency(tmp_path)) as img:
            img.convert("L")
    categories = {w.category for w in caught}
    assert RuntimeWarning in categories and UserWarning in categories


def test_the_command_prints_no_warning_in_a_fresh_process(trained, tmp_path):
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; sys.path.insert(0, sys.argv.pop(1)); from train_helpers import tinynet; import convnp; "
        "convnp.models.MODELS['tinynet'] = tinynet; from convnp.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "always", "-c", code, str(root / "tests" / "train"), "inspect"]
        + [str(_overflowing(tmp_path, trained))],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
