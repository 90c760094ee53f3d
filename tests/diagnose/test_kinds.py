"""Kinds and layers from names, roles and graph uses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paraminspect.diagnose.kinds import KINDS, classify, group_by_layer, layer_of


@pytest.mark.parametrize(
    ("key", "kind", "part", "layer", "role"),
    [
        ("arg:fc1_gamma", "norm", "gamma", "fc1", "arg"),
        ("arg:bn0_beta", "norm", "beta", "bn0", "arg"),
        ("aux:bn1_moving_var", "running", "moving_var", "bn1", "aux"),
        ("aux:bn1_moving_mean", "running", "moving_mean", "bn1", "aux"),
        ("dense0_weight", "weight", "weight", "dense0", ""),
        ("dense0_bias", "bias", "bias", "dense0", ""),
        ("batchnorm0_running_var", "running", "running_var", "batchnorm0", ""),
        ("0.weight", "weight", "weight", "0", ""),
        ("features.3.running_mean", "running", "running_mean", "features.3", ""),
        ("prelu0_alpha", "other", "alpha", "prelu0", ""),
        ("embedding_table", "other", "", "embedding_table", ""),
        ("weight", "weight", "weight", "weight", ""),
        # roles win over suffixes that contradict them
        ("aux:conv0_weight", "other", "weight", "conv0", "aux"),
        ("arg:bn0_moving_var", "other", "moving_var", "bn0", "arg"),
    ],
)
def test_kinds_from_names(key, kind, part, layer, role):
    got = classify(key)
    assert (got.kind, got.part, got.layer, got.role) == (kind, part, layer, role)


def test_graph_use_wins_over_the_name():
    uses = {
        "relu1_gamma": ("relu1", "LeakyReLU", 1),
        "odd_name": ("bn7", "BatchNorm", 4),
        "fc_w": ("pre_fc1", "FullyConnected", 1),
        "x_gamma": ("custom", "MyOp"),  # unknown op: the name still decides the kind
    }
    assert classify("arg:relu1_gamma").kind == "norm"
    relu = classify("arg:relu1_gamma", uses)
    assert (relu.kind, relu.part, relu.layer) == ("other", "slope", "relu1")
    odd = classify("aux:odd_name", uses)
    assert (odd.kind, odd.part, odd.layer, odd.is_running_var) == (
        "running",
        "moving_var",
        "bn7",
        True,
    )
    assert classify("fc_w", uses).kind == "weight"
    custom = classify("x_gamma", uses)
    assert (custom.kind, custom.layer) == ("norm", "custom")


def test_group_by_layer_keeps_first_seen_order():
    keys = ["arg:bn0_gamma", "arg:conv0_weight", "aux:bn0_moving_var", "arg:bn0_beta", "x"]
    assert group_by_layer(keys) == {
        "bn0": ("arg:bn0_gamma", "aux:bn0_moving_var", "arg:bn0_beta"),
        "conv0": ("arg:conv0_weight",),
        "x": ("x",),
    }
    assert layer_of("aux:bn3_moving_var") == "bn3"


name_part = st.text(alphabet="abcz019_.", min_size=1, max_size=8)
suffix = st.sampled_from(["", "_weight", "_gamma", ".bias", "_moving_var", "_running_mean"])
keys = st.lists(
    st.tuples(st.sampled_from(["", "arg:", "aux:"]), name_part, suffix).map("".join),
    max_size=30,
)


@given(keys)
def test_group_by_layer_partitions_the_keys(names):
    groups = group_by_layer(names)
    flat = [k for members in groups.values() for k in members]
    assert sorted(flat) == sorted(names)  # every key once (duplicates kept as given)
    for layer, members in groups.items():
        assert all(layer_of(k) == layer for k in members)


@given(keys)
def test_every_key_gets_a_known_kind(names):
    for key in names:
        assert classify(key).kind in KINDS
