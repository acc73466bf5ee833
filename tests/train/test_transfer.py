"""Transfer learning: matching layers copied, a new head re-initialised and learning, frozen layers fixed."""

import numpy as np
import pytest
from train_helpers import TinyNet, make_trainer, small_mnist, weights

import convnp as cn
from convnp import nn
from convnp.optim import SGD
from convnp.train import load_checkpoint, load_matching, param_groups
from convnp.train.transfer import freeze, frozen_prefixes_of, trainable_parameters


def _pretrained(tmp_path, epochs=3):
    trainer, tl, vl = make_trainer(seed=0, epochs=epochs)
    trainer.fit(tl, vl, epochs=epochs, out_dir=tmp_path / "pre")
    return load_checkpoint(tmp_path / "pre" / "best.safetensors")


def test_load_matching_copies_matching_layers_and_reports_the_new_head(tmp_path):
    ckpt = _pretrained(tmp_path, epochs=1)
    cn.manual_seed(7)
    model = TinyNet(num_classes=4)
    fresh_head = model.classifier.weight.data.copy()
    report = load_matching(model, ckpt["model"]["state"])
    assert report.copied == ["features.0.weight", "features.0.bias"]
    assert report.reinitialised == ["classifier.weight", "classifier.bias"]
    assert report.missing == [] and report.unused == []
    assert np.array_equal(model.features[0].weight.data, ckpt["model"]["state"]["features.0.weight"])
    assert np.array_equal(model.classifier.weight.data, fresh_head)  # head kept as initialised
    line = report.summary("pre.safetensors")
    assert "\n" not in line
    assert line == (
        "copied 2 of 4 tensors from pre.safetensors; re-initialised classifier.weight, classifier.bias "
        "(shape (10, 144) in the checkpoint, (4, 144) here)"
    )


def test_frozen_weights_stay_bit_identical_and_the_new_head_learns(tmp_path):
    ckpt = _pretrained(tmp_path)
    train4, test4 = small_mnist(320, 160, classes=4)
    cn.manual_seed(1)
    model = TinyNet(num_classes=4)
    report = load_matching(model, ckpt["model"]["state"])
    frozen = freeze(model, ["features"])
    assert frozen == ["features.0.weight", "features.0.bias"]
    before = weights(model)
    head_before = model.classifier.weight.data.copy()

    from convnp.data import DataLoader, transforms
    from convnp.train import Trainer, evaluate

    tl = DataLoader(
        train4,
        32,
        shuffle=True,
        generator=np.random.default_rng(0),
        transform=transforms.Normalize(train4.mean, train4.std),
    )
    vl = DataLoader(test4, 160, transform=transforms.Normalize(train4.mean, train4.std))
    chance = evaluate(model, vl)["accuracy"]
    opt = SGD(param_groups(model, 0.05, report.copied, None), lr=0.05, momentum=0.9)
    assert sum(len(g["params"]) for g in opt.param_groups) == 2  # only the trainable head
    history = Trainer(model, opt, progress="quiet", frozen_modules=frozen_prefixes_of(model, ["features"])).fit(
        tl, vl, epochs=4
    )
    after = weights(model)
    for name in frozen:
        assert np.array_equal(before[name], after[name]), name
    assert not np.array_equal(head_before, model.classifier.weight.data)
    assert history[-1]["test_accuracy"] > max(chance + 0.3, 0.7)  # the re-initialised head learns
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_frozen_batchnorm_keeps_its_running_statistics():
    cn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 26 * 26, 10))
    freeze(model, ["0", "1"])
    stats = model[1].running_mean.copy(), model[1].running_var.copy()
    train, test = small_mnist(64, 32)
    from convnp.data import DataLoader
    from convnp.train import Trainer

    opt = SGD(trainable_parameters(model), lr=0.01)
    Trainer(model, opt, progress="quiet", frozen_modules=frozen_prefixes_of(model, ["0", "1"])).fit(
        DataLoader(train, 16), DataLoader(test, 32), epochs=1
    )
    assert np.array_equal(model[1].running_mean, stats[0]) and np.array_equal(model[1].running_var, stats[1])
    assert model.training and model[4].training  # the rest trained normally


def test_param_groups_scale_the_pretrained_layers():
    model = TinyNet()
    groups = param_groups(model, 0.1, ["features.0.weight", "features.0.bias"], backbone_lr_scale=0.1)
    assert [g["name"] for g in groups] == ["backbone", "head"]
    assert groups[0]["lr"] == pytest.approx(0.01) and groups[1]["lr"] == 0.1
    assert [len(g["params"]) for g in groups] == [2, 2]
    opt = SGD(groups, lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.1])
    freeze(model, ["features"])
    groups = param_groups(model, 0.1, ["features.0.weight", "features.0.bias"], backbone_lr_scale=0.1)
    assert [g["name"] for g in groups] == ["head"]  # frozen layers are left out
    assert len(param_groups(model, 0.1)[0]["params"]) == 2


def test_freeze_names_a_missing_layer_and_suggests_close_ones():
    model = TinyNet()
    with pytest.raises(
        ValueError,
        match=r"freeze: no layer named 'feature' holds parameters; the model's "
        r"top-level layers are classifier, features. Did you mean 'features'",
    ):
        freeze(model, ["feature"])
    assert freeze(model, "classifier.weight") == ["classifier.weight"]
    assert not model.classifier.weight.requires_grad and model.classifier.bias.requires_grad
    assert frozen_prefixes_of(model, ["features"]) == ["features", "features.0", "features.1", "features.2"]
