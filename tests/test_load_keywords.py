"""cn.load's PyTorch keywords: map_location (the CPU only) and weights_only (always: convnp never unpickles)."""

import re

import numpy as np
import pytest

import convnp as cn
from convnp.serialization import load, save


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "ckpt.safetensors"
    save({"epoch": 3, "model": {"w": np.arange(6.0).reshape(2, 3)}}, p)
    return p


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(map_location=None),
        dict(map_location="cpu"),
        dict(map_location=cn.device("cpu")),
        dict(weights_only=True),
        dict(weights_only=None),
        dict(map_location="cpu", weights_only=True),
    ],
)
def test_accepted_keywords_load_the_same(path, kwargs):
    out = load(path, **kwargs)
    assert out["epoch"] == 3
    np.testing.assert_array_equal(out["model"]["w"], np.arange(6.0).reshape(2, 3))


def test_map_location_is_positional_like_torch(path):
    assert load(path, "cpu")["epoch"] == 3


@pytest.mark.parametrize(
    "where,shown",
    [
        ("cuda", "'cuda'"),
        ("cuda:0", "'cuda:0'"),
        ("mps", "'mps'"),
        ("CPU", "'CPU'"),
        ({"cuda:0": "cpu"}, "{'cuda:0': 'cpu'}"),
        (lambda storage, loc: storage, "<function"),
        (0, "0"),
    ],
)
def test_other_map_locations_are_refused(path, where, shown):
    with pytest.raises(
        ValueError,
        match=r"load: convnp computes on the CPU only, so map_location must be None, 'cpu' "
        r"or cn.device\('cpu'\).*Received: map_location=" + re.escape(shown),
    ):
        load(path, map_location=where)


def test_weights_only_false_is_refused(path):
    with pytest.raises(
        ValueError,
        match=r"weights_only=False asks for unpickling arbitrary objects, which convnp "
        r"never does.*Received: weights_only=False",
    ):
        load(path, weights_only=False)


@pytest.mark.parametrize("value", [1, "yes", 0])
def test_weights_only_must_be_true(path, value):
    with pytest.raises(
        ValueError,
        match=re.escape(f"load: weights_only must be True (or None, meaning True). Received: weights_only={value!r}"),
    ):
        load(path, weights_only=value)


def test_keywords_are_checked_before_the_file(tmp_path):
    """A bad keyword is reported even when the file does not exist (checked at the door)."""
    with pytest.raises(ValueError, match="map_location"):
        load(tmp_path / "missing.safetensors", map_location="cuda")
    with pytest.raises(ValueError, match="weights_only=False"):
        load(tmp_path / "missing.safetensors", weights_only=False)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.safetensors", map_location="cpu", weights_only=True)
