"""convnp.serialization: save / load in the safetensors format, exact round trips, atomic writes,
clear errors for missing, truncated and foreign files."""

import math
import os
import pickle
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import safetensors
import safetensors.numpy
import safetensors.torch as safetensors_torch
import torch

import convnp as cn
from convnp import optim, serialization
from convnp.nn import Module, Parameter, Sequential
from convnp.serialization import load, save


def assert_same_tree(a, b, where="top"):
    """Equal values, equal types (dict vs OrderedDict, tuple vs list, int vs float), equal key
    types and order, arrays with equal dtype, shape and contents."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and (a == b or (np.isnan(a) and np.isnan(b))), where
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys()) and [type(k) for k in a] == [type(k) for k in b], where
        for k in a:
            assert_same_tree(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tree(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where


def rich_object():
    rng = np.random.default_rng(0)
    return {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal((2, 2, 2)),
        "i64": np.arange(5, dtype=np.int64),
        "i32": np.array([[1, -2]], dtype=np.int32),
        "u8": np.array([0, 255], dtype=np.uint8),
        "f16": np.array([1.5, -2.0], dtype=np.float16),
        "bool": np.array([True, False, True]),
        "zero_d": np.array(7, dtype=np.int64),
        "zero_d_f": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((3, 5))),
        "strided": np.arange(10.0)[::3],
        "big_endian": np.arange(4, dtype=">f8"),
        "np_scalars": [np.float32(1.25), np.int64(-3), np.bool_(True), np.float64(0.1)],
        "nested": {"a": {"b": {"c": np.ones(2)}}, 0: {1: [np.zeros(1), {"deep": None}]}},
        "ints": {0: "zero", 1: 1, -5: 2.0, 10**20: [1, 2]},
        "key_types": {1.5: "float key", True: "bool key", None: "none key", "s": "str key"},
        "plain": [1, 2.0, -0.0, "x", "", None, True, False, (1, (2, "3")), [], {}, ()],
        "non_finite": [float("inf"), float("-inf"), float("nan")],
        "ordered": OrderedDict([("z", np.ones(1)), ("a", 1)]),
        "unicode é": "ünïcode ✓",
        "collide.x": np.full(2, 1.0),
        "collide": {"x": np.full(2, 2.0)},  # the same dotted tensor name: kept apart
        "tensor": cn.tensor(np.arange(3.0)),
    }


def test_round_trip_is_exact(tmp_path):
    obj = rich_object()
    save(obj, tmp_path / "obj.safetensors")
    back = load(tmp_path / "obj.safetensors")
    expected = dict(obj)
    expected["fortran"] = np.ascontiguousarray(obj["fortran"])
    expected["big_endian"] = obj["big_endian"].astype("<f8")
    expected["tensor"] = obj["tensor"].data  # tensors come back as arrays
    assert_same_tree(back, expected)
    assert back["zero_d"].shape == () and back["big_endian"].dtype == np.float64
    assert back["collide.x"][0] == 1.0 and back["collide"]["x"][0] == 2.0
    for v in (back["f32"], back["zero_d"], back["nested"]["a"]["b"]["c"]):
        v[...] = 0  # loaded arrays are ordinary writeable arrays


@pytest.mark.parametrize("obj", [np.arange(3), [np.ones(2), 3], 5, "text", None, {}, []])
def test_round_trip_of_other_top_level_objects(obj, tmp_path):
    save(obj, str(tmp_path / "x.safetensors"))  # str paths as well as Path
    assert_same_tree(load(str(tmp_path / "x.safetensors")), obj)


def test_module_state_dict_is_a_plain_safetensors_file(tmp_path):
    class Net(Module):
        def __init__(self):
            super().__init__()
            self.features = Sequential(Module(), Module())
            w = np.random.default_rng(1).standard_normal((6, 3, 5, 5)).astype(np.float32)
            self.features[0].weight = Parameter(w)
            self.features[1].register_buffer("running_mean", np.zeros(6, dtype=np.float32))
            self.features[1].register_buffer("num_batches_tracked", np.array(4, dtype=np.int64))
            self.head = Parameter(np.ones((10, 6)))

    net = Net()
    sd = net.state_dict()
    path = tmp_path / "model.safetensors"
    save(sd, path)
    theirs = safetensors.numpy.load_file(str(path))  # readable by safetensors itself
    assert (
        set(theirs)
        == set(sd)
        == {"head", "features.0.weight", "features.1.running_mean", "features.1.num_batches_tracked"}
    )
    for k in sd:
        assert theirs[k].dtype == sd[k].dtype and theirs[k].shape == sd[k].shape
        np.testing.assert_array_equal(theirs[k], sd[k])
    back = load(path)
    assert isinstance(back, OrderedDict) and list(back) == list(sd)  # the order of state_dict kept
    other = Net()
    for p in other.parameters():
        p.data[...] = 0
    other.load_state_dict(back)
    np.testing.assert_array_equal(other.features[0].weight.data, net.features[0].weight.data)
    with safetensors.safe_open(str(path), framework="np") as f:  # and by safe_open
        assert f.metadata()[serialization.STRUCTURE_KEY]
        np.testing.assert_array_equal(f.get_tensor("head"), sd["head"])


def test_shape_mismatch_after_load_names_the_key(tmp_path):
    m = Module()
    m.weight = Parameter(np.zeros((6, 1, 5, 5), dtype=np.float32))
    save({"weight": np.zeros((6, 3, 5, 5), dtype=np.float32)}, tmp_path / "w.safetensors")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "size mismatch for weight: copying a param with shape (6, 3, 5, 5) "
            "from checkpoint, the shape in current model is (6, 1, 5, 5)."
        ),
    ):
        m.load_state_dict(load(tmp_path / "w.safetensors"))


def test_files_written_by_safetensors_and_torch_tensors_load(tmp_path):
    arrays = {"b": np.ones((2, 2), dtype=np.float32), "a": np.arange(3, dtype=np.int64)}
    safetensors.numpy.save_file(arrays, str(tmp_path / "foreign.safetensors"))
    back = load(tmp_path / "foreign.safetensors")
    assert set(back) == {"a", "b"}
    for k in arrays:
        np.testing.assert_array_equal(back[k], arrays[k])
    t = torch.nn.Linear(3, 2).state_dict()
    safetensors_torch.save_file(t, str(tmp_path / "torch.safetensors"))
    back = load(tmp_path / "torch.safetensors")
    np.testing.assert_array_equal(back["weight"], t["weight"].numpy())


def test_optimizer_checkpoint_round_trip(tmp_path):
    p = Parameter(np.ones(3))
    opt = optim.Adam([p], lr=0.01, betas=(0.8, 0.9))
    p.grad = np.arange(3.0)
    opt.step()
    sd = opt.state_dict()
    save({"epoch": 1, "optimizer": sd, "best": float("inf"), "note": None}, tmp_path / "ckpt.safetensors")
    back = load(tmp_path / "ckpt.safetensors")
    assert_same_tree(back, {"epoch": 1, "optimizer": sd, "best": float("inf"), "note": None})
    assert list(back["optimizer"]["state"]) == [0] and back["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.9)


# --------------------------------------------------------------------------------------------
# atomic writes
# --------------------------------------------------------------------------------------------
def _leftovers(directory: Path, keep: str):
    return sorted(p.name for p in directory.iterdir() if p.name != keep)


def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"w": np.zeros(1000)}, path)
    before = path.read_bytes()

    def write_half_then_fail(f, data):
        f.write(data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization, "_write_all", write_half_then_fail)
    with pytest.raises(OSError, match="No space left on device"):
        save({"w": np.ones(1000)}, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path, path.name) == []  # the temporary file is gone
    np.testing.assert_array_equal(load(path)["w"], np.zeros(1000))


def test_interrupt_during_fsync_or_replace_leaves_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save({"w": np.zeros(10)}, path)
    before = path.read_bytes()
    real_fsync = os.fsync

    def fsync_interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "fsync", fsync_interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"w": np.ones(10)}, path)
    monkeypatch.setattr(serialization.os, "fsync", real_fsync)
    assert path.read_bytes() == before and _leftovers(tmp_path, path.name) == []

    def replace_fails(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(serialization.os, "replace", replace_fails)
    with pytest.raises(PermissionError):
        save({"w": np.ones(10)}, path)
    assert path.read_bytes() == before and _leftovers(tmp_path, path.name) == []


def test_write_goes_through_a_temp_file_in_the_same_directory(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src), Path(dst), Path(src).stat().st_size, Path(dst).exists()))
        return real_replace(src, dst)

    monkeypatch.setattr(serialization.os, "replace", spy)
    save({"a": np.ones(3)}, path)
    save({"a": np.zeros(3)}, path)  # overwriting works too
    (src, dst, size, existed), (src2, _, _, existed2) = seen
    assert src.parent == tmp_path and dst == path and src != path and src != src2
    assert size == path.stat().st_size and not existed and existed2  # complete before the rename
    assert not src.exists() and not src2.exists()
    np.testing.assert_array_equal(load(path)["a"], np.zeros(3))


def test_save_into_missing_directory(tmp_path):
    target = tmp_path / "nope" / "m.safetensors"
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(f"save: cannot write '{target}': the directory '{tmp_path / 'nope'}' does not exist"),
    ):
        save({"a": np.ones(1)}, target)


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    path = tmp_path / "absent.safetensors"
    with pytest.raises(FileNotFoundError, match=re.escape(f"load: no such file: '{path}'")):
        load(path)


@pytest.mark.parametrize("cut", ["in_length", "in_header", "in_data", "last_byte"])
def test_truncated_file(cut, tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": np.arange(100.0), "meta": {"epoch": 3}}, path)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    end = {"in_length": 5, "in_header": 8 + n // 2, "in_data": 8 + n + 300, "last_byte": len(data) - 1}[cut]
    path.write_bytes(data[:end])
    with pytest.raises(ValueError, match=re.escape(f"'{path}'") + ".*truncated"):
        load(path)


def test_non_safetensors_files(tmp_path):
    png = tmp_path / "image.png"
    png.write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00" + bytes(64)
    )
    pkl = tmp_path / "weights.pkl"
    pkl.write_bytes(pickle.dumps({"w": [1.0, 2.0, 3.0] * 50}))  # the test writes a pickle; convnp never reads one
    pt = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3)}, pt)
    text = tmp_path / "notes.txt"
    text.write_text("hello, these are not weights " * 20)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    bad_json = tmp_path / "bad.safetensors"
    bad_json.write_bytes((20).to_bytes(8, "little") + b"{not json at all!!!}")
    for path in (png, pkl, pt, text, empty, bad_json):
        with pytest.raises(ValueError, match=re.escape(f"load: '{path}' is not a safetensors file")):
            load(path)


def test_corrupt_structure_metadata(tmp_path):
    path = tmp_path / "x.safetensors"
    safetensors.numpy.save_file(
        {"a": np.ones(1)},
        str(path),
        metadata={serialization.STRUCTURE_KEY: '{"weird": 1}', serialization.VERSION_KEY: "1"},
    )
    with pytest.raises(ValueError, match=re.escape(f"load: '{path}' has a corrupt convnp structure")):
        load(path)
    safetensors.numpy.save_file(
        {"a": np.ones(1)},
        str(path),
        metadata={serialization.STRUCTURE_KEY: '{"tensor": "a"}', serialization.VERSION_KEY: "99"},
    )
    with pytest.raises(ValueError, match="was written in convnp format version '99'"):
        load(path)


@pytest.mark.parametrize(
    "obj,message",
    [
        ({"s": {1, 2}}, "save: cannot store a value of type set at ['s']"),
        ({"o": object()}, "save: cannot store a value of type object at ['o']"),
        ({"c": np.zeros(2, dtype=np.complex128)}, "save: arrays of dtype complex128 cannot be stored in safetensors"),
        ({"u": np.array(["a", "b"])}, "save: arrays of dtype <U1 cannot be stored in safetensors"),
        ({(1, 2): 3}, "save: dict keys must be str, int, float, bool or None; found a key of type tuple"),
        ([{"deep": [lambda: 1]}], "save: cannot store a value of type function at [0]['deep'][0]"),
    ],
)
def test_unsupported_values(obj, message, tmp_path):
    with pytest.raises(TypeError, match=re.escape(message)):
        save(obj, tmp_path / "x.safetensors")
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_path_type_errors():
    with pytest.raises(TypeError, match="save: path must be a str or os.PathLike. Received: int"):
        save({}, 3)
    with pytest.raises(TypeError, match="load: path must be a str or os.PathLike. Received: NoneType"):
        load(None)


# ----------------------------------------------------------------------------- hostile files (issue #20)


def test_non_regular_files_are_refused_not_read(tmp_path):
    if Path("/dev/zero").exists():
        with pytest.raises(
            ValueError,
            match=r"^load: '/dev/zero' is not a regular file \(it is a device, a pipe or a "
            r"directory\)$",
        ):
            load("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe")
        with pytest.raises(ValueError, match="is not a regular file"):
            load(tmp_path / "pipe")


def test_a_file_larger_than_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    save({"w": np.zeros(1000, np.float32)}, tmp_path / "w.safetensors")
    monkeypatch.setattr(serialization, "MAX_LOAD_BYTES", 1000)
    with pytest.raises(
        ValueError,
        match=r"w\.safetensors' is 4,\d{3} bytes, more than the 1,000 convnp loads "
        r"\(convnp\.serialization\.MAX_LOAD_BYTES\)",
    ):
        load(tmp_path / "w.safetensors")


def test_deeply_nested_json_is_a_value_error_not_a_recursion_error(tmp_path):
    import struct

    deep_header = b"[" * 100_000 + b"]" * 100_000
    (tmp_path / "a.safetensors").write_bytes(struct.pack("<Q", len(deep_header)) + deep_header)
    with pytest.raises(ValueError, match=r"is not a safetensors file \(its header is JSON nested too deeply\)"):
        load(tmp_path / "a.safetensors")
    structure = "[" * 100_000 + "]" * 100_000
    data = safetensors.numpy.save(
        {"t": np.zeros(1)}, metadata={"convnp.format_version": "1", "convnp.structure": structure}
    )
    (tmp_path / "b.safetensors").write_bytes(data)
    with pytest.raises(ValueError, match=r"has a corrupt convnp structure in its metadata: it is nested too deeply"):
        load(tmp_path / "b.safetensors")
    # nesting built from the structure's own tags ({"tuple": [{"tuple": ...}]}) too
    structure = '{"tuple":[' * 50_000 + "1" + "]}" * 50_000
    data = safetensors.numpy.save(
        {"t": np.zeros(1)}, metadata={"convnp.format_version": "1", "convnp.structure": structure}
    )
    (tmp_path / "c.safetensors").write_bytes(data)
    with pytest.raises(ValueError, match=r"has a corrupt convnp structure in its metadata"):
        load(tmp_path / "c.safetensors")


def test_a_failed_write_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"

    def full(f, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization, "_write_all", full)
    with pytest.raises(OSError, match=re.escape(f"[Errno 28] save: cannot write '{path}': No space left on device")):
        save({"w": np.ones(3)}, path)
    assert os.listdir(tmp_path) == []
