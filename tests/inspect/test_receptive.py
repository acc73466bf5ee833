"""Receptive fields: the analytical box of every output position equals what a one-pixel probe changes."""

import numpy as np
import pytest
from inspect_nets import (
    Branchy,
    dilated_chain,
    field_masks,
    linear_chain,
    positive,
    probe_changes,
    randomize,
    vgg_like,
)

from convnp.inspect import receptive_field, receptive_fields, trace
from convnp.models import lenet5
from convnp.nn import Conv2d, ReLU, Sequential


def _x(shape, seed=0, positive_values=False):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.1, 1.0, shape) if positive_values else rng.standard_normal(shape)).astype(np.float64)


@pytest.mark.parametrize("layer", ["0", "1", "2", "3"])
def test_probe_changes_exactly_the_outputs_whose_field_covers_it_linear_chain(layer):
    # strides that do not divide, padding, ceil_mode with padding, a non-square kernel, adaptive bins
    model = randomize(linear_chain()).double()
    x = _x((1, 2, 13, 11))
    rf = receptive_field(model, layer, x.shape)
    assert rf.exact
    np.testing.assert_array_equal(probe_changes(model, x, layer, 1.0), field_masks(rf))


@pytest.mark.parametrize("layer", ["stem", "res", "inc", "inc.b3", "down", "pool"])
def test_probe_through_pad_residual_concat_slice_relu_and_max_pool(layer):
    # positive weights and inputs: a big positive probe passes every ReLU and wins every max it enters
    model = positive(Branchy()).double()
    x = _x((1, 1, 12, 12), positive_values=True)
    rf = receptive_field(model, layer, x.shape)
    assert rf.exact
    np.testing.assert_array_equal(probe_changes(model, x, layer, 1e4), field_masks(rf))


def test_dilated_fields_are_the_bounding_box_of_what_a_probe_changes():
    # a dilated kernel skips pixels: the field is the box around the taps, tight on every side
    model = randomize(dilated_chain()).double()
    x = _x((1, 1, 23, 20))
    for layer in ("0", "1", "2"):
        rf = receptive_field(model, layer, x.shape)
        changed = probe_changes(model, x, layer, 1.0)  # (H, W, h, w)
        rows = changed.any(axis=1)  # (H, h, w)
        cols = changed.any(axis=0)  # (W, h, w)
        h, w = changed.shape[2:]
        for y in range(h):
            r = np.nonzero(rows[:, y, :].any(axis=1))[0]
            assert (r.min(), r.max()) == (rf.lo[0][y], rf.hi[0][y]), (layer, y)
        for xx in range(w):
            c = np.nonzero(cols[:, :, xx].any(axis=1))[0]
            assert (c.min(), c.max()) == (rf.lo[1][xx], rf.hi[1][xx]), (layer, xx)
        assert changed[~field_masks(rf)].sum() == 0


def test_lenet5_fields_through_its_functional_padding():
    model = positive(lenet5()).double()
    x = _x((1, 1, 28, 28), positive_values=True)
    fields = receptive_fields(model, x.shape)
    assert fields["c1"].size == (5, 5) and fields["c3"].size == (14, 14) and fields["c5"].size == (32, 32)
    assert fields["c3"].jump == (2, 2) and fields["s4"].jump == (4, 4)
    # the 28x28 digit is padded by 2 inside forward: c1 position (0, 0) sees pixels 0..2 only
    assert fields["c1"].box(0, 0) == (0, 3, 0, 3)
    assert fields["c1"].nominal_box(0, 0) == (-2, 3, -2, 3)
    assert fields["c1"].box(27, 27) == (25, 28, 25, 28)
    for layer in ("c1", "s2", "c3"):
        np.testing.assert_array_equal(probe_changes(model, x, layer, 1e3), field_masks(fields[layer]))


def test_fields_agree_with_the_summary_receptive_field():
    from convnp.summary import summary

    model = vgg_like()
    s = summary(model, (1, 3, 20, 20))
    fields = receptive_fields(model, (1, 3, 20, 20))
    for key, rf in fields.items():
        row = s[key]
        assert tuple(row.receptive_field) == rf.size, key
        assert tuple(row.jump) == rf.jump, key


def test_nonspatial_layers_see_the_whole_image_and_the_api():
    model = Sequential(Conv2d(1, 2, 3, padding=1), ReLU())
    rf = receptive_field(model, "0", (1, 8, 6))
    assert rf.box(0, 0) == (0, 2, 0, 2) and rf.size == (3, 3) and rf.jump == (1, 1)
    y0, y1, x0, x1 = rf.box(np.array([0, 7]), np.array([5, 2]))
    assert y0.tolist() == [0, 6] and y1.tolist() == [2, 8] and x0.tolist() == [4, 1] and x1.tolist() == [6, 4]
    assert rf.mask(0, 0).sum() == 4
    head = positive(Branchy())
    fields = receptive_fields(head, (1, 1, 12, 12))
    assert not fields["head"].spatial and fields["head"].box(0, 0) == (0, 12, 0, 12)
    assert "ReceptiveField('0'" in repr(rf)


def test_a_module_called_twice_gets_one_name_per_call():
    tr = trace(lenet5(), np.zeros((1, 1, 28, 28), np.float32))
    assert [k for k in tr.keys() if k.startswith("act")] == ["act#0", "act#1", "act#2", "act#3"]
    assert tr["act"] is tr["act#0"]
    fields = receptive_fields(lenet5(), (1, 1, 28, 28), ["act#1"])
    assert fields["act#1"].size == (14, 14)


def test_errors_name_the_layer_and_the_input():
    model = vgg_like()
    with pytest.raises(KeyError, match=r"no layer named 'nope'.*Received: layer='nope'"):
        receptive_field(model, "nope", (1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"receptive_field: expected input_size .*Received: input_size=\(3, 16\)"):
        receptive_field(model, "0", (3, 16))
