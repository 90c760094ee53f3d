"""Findings on synthetic arrays: one array per kind of problem, and a healthy set with none."""

from __future__ import annotations

import numpy as np
import pytest

from paraminspect.diagnose.findings import Thresholds, by_kind, find_problems
from paraminspect.errors import OptionError


def healthy(seed: int = 0) -> dict:
    """A small trained-looking net: conv + BN + dense, with noisy, non-degenerate values."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    arrays = {}
    for i, (cout, cin) in enumerate([(16, 3), (32, 16), (32, 32), (64, 32), (64, 64)]):
        arrays[f"arg:conv{i}_weight"] = rng.normal(0, (2 / (cin * 9)) ** 0.5, (cout, cin, 3, 3))
        arrays[f"arg:bn{i}_gamma"] = rng.normal(1, 0.1, cout)
        arrays[f"arg:bn{i}_beta"] = rng.normal(0, 0.1, cout)
        arrays[f"aux:bn{i}_moving_mean"] = rng.normal(0, 0.5, cout)
        arrays[f"aux:bn{i}_moving_var"] = rng.uniform(0.05, 3.0, cout)
    arrays["arg:fc_weight"] = rng.normal(0, 0.05, (10, 64))
    arrays["arg:fc_bias"] = rng.normal(0, 0.01, 10)
    return {k: np.asarray(v, dtype=f32) for k, v in arrays.items()}


def kinds_of(findings) -> list:
    return [(f.kind, f.array) for f in findings]


def test_healthy_set_has_no_findings():
    for seed in range(5):
        assert find_problems(healthy(seed)) == ()


def test_constant_and_zeros_are_distinct_and_found_for_any_array():
    arrays = healthy()
    arrays["arg:bn1_gamma"] = np.ones(32, np.float32)
    arrays["arg:bn2_beta"] = np.zeros(32, np.float32)
    arrays["scalar"] = np.array([5.0], np.float32)  # one value: not called constant
    found = find_problems(arrays)
    assert kinds_of(found) == [("constant", "arg:bn1_gamma"), ("zeros", "arg:bn2_beta")]
    assert found[0].message == "arg:bn1_gamma: all 32 values are 1"
    assert found[0].evidence == {"size": 32, "value": 1.0}
    assert found[1].message == "arg:bn2_beta: all 32 values are 0"


def test_never_updated_batchnorm_statistics_get_a_hint():
    arrays = healthy()
    arrays["aux:bn0_moving_mean"] = np.zeros(16, np.float32)
    arrays["aux:bn0_moving_var"] = np.ones(16, np.float32)
    messages = [f.message for f in find_problems(arrays)]
    assert messages == [
        "aux:bn0_moving_mean: all 16 values are 0 (BatchNorm statistics never updated?)",
        "aux:bn0_moving_var: all 16 values are 1 (BatchNorm statistics never updated?)",
    ]


def test_dead_conv_filters_and_dense_rows():
    arrays = healthy()
    conv = arrays["arg:conv3_weight"].copy()
    conv[[5, 40]] = 0
    dense = arrays["arg:fc_weight"].copy()
    dense[7] = 0
    arrays["arg:conv3_weight"], arrays["arg:fc_weight"] = conv, dense
    found = find_problems(arrays)
    assert kinds_of(found) == [("dead_units", "arg:conv3_weight"), ("dead_units", "arg:fc_weight")]
    # the reference: rows of the reshaped weight whose every entry is zero
    expected = np.flatnonzero((conv.reshape(64, -1) == 0).all(axis=1)).tolist()
    assert found[0].evidence["units"] == expected == [5, 40]
    assert found[0].message == "arg:conv3_weight: 2 of 64 filters are all zero (filters 5, 40)"
    assert found[1].message == "arg:fc_weight: 1 of 10 rows is all zero (row 7)"
    assert found[1].evidence == {"count": 1, "of": 10, "axis": 0, "unit": "row", "units": [7]}


def test_dead_unit_list_is_capped():
    arrays = {"d_weight": np.ones((30, 4), np.float32), "w": np.full((30, 4), 2, np.float32)}
    arrays["d_weight"][:20] = 0
    arrays["w"][:20] = 0  # not named as a weight: its rows are not units
    (f,) = find_problems(arrays, Thresholds(max_listed=3))
    assert f.evidence["count"] == 20 and f.evidence["units"] == [0, 1, 2]
    assert f.message == "d_weight: 20 of 30 rows are all zero (rows 0, 1, 2, ... (17 more))"


def test_an_all_zero_weight_is_reported_once():
    arrays = {"dense0_weight": np.zeros((4, 3), np.float32)}
    assert kinds_of(find_problems(arrays)) == [("zeros", "dense0_weight")]


def test_low_running_variance_lists_channels_and_values():
    arrays = healthy()
    var = arrays["aux:bn3_moving_var"].copy()
    var[[5, 17]] = [3.1e-7, 8.2e-8]
    arrays["aux:bn3_moving_var"] = var
    (f,) = find_problems(arrays)
    assert f.kind == "low_running_var"
    assert f.message == (
        "aux:bn3_moving_var: 2 of 64 channels have running variance below 1e-06 "
        "(channels 5, 17: 3.1e-07, 8.2e-08)"
    )
    assert f.evidence["channels"] == [5, 17]
    assert f.evidence["values"] == pytest.approx([3.1e-7, 8.2e-8])
    # a higher threshold catches more, a lower one nothing
    assert find_problems(arrays, Thresholds(min_running_var=1e-8)) == ()
    wide = find_problems(arrays, Thresholds(min_running_var=0.1))
    (bn3,) = [f for f in wide if f.array == "aux:bn3_moving_var"]
    assert bn3.evidence["channels"] == np.flatnonzero(var < 0.1).tolist()
    assert {f.kind for f in wide} == {"low_running_var"}


def test_tiny_gamma_but_not_a_prelu_slope_when_the_graph_says_so():
    arrays = healthy()
    gamma = arrays["arg:bn2_gamma"].copy()
    gamma[3] = 0.0
    gamma[9] = -5e-7
    arrays["arg:bn2_gamma"] = gamma
    arrays["arg:relu2_gamma"] = np.r_[np.zeros(1), np.full(31, 0.25)].astype(np.float32)
    found = find_problems(arrays)
    assert kinds_of(found) == [("tiny_gamma", "arg:bn2_gamma"), ("tiny_gamma", "arg:relu2_gamma")]
    assert found[0].message == (
        "arg:bn2_gamma: 2 of 32 channels have |gamma| below 1e-06 (channels 3, 9: 0, -5e-07)"
    )
    uses = {
        "relu2_gamma": ("relu2", "LeakyReLU", 1),
        "bn2_gamma": ("bn2", "BatchNorm", 1, (("fix_gamma", "False"),)),  # as Gluon exports
    }
    assert kinds_of(find_problems(arrays, uses=uses)) == [("tiny_gamma", "arg:bn2_gamma")]
    # a BatchNorm with fix_gamma=True never reads its gamma: nothing to report
    uses["bn2_gamma"] = ("bn2", "BatchNorm", 1, (("fix_gamma", "True"),))
    assert find_problems(arrays, uses=uses) == ()
    # nor without the attribute: the symbolic BatchNorm's default is fix_gamma=True
    uses["bn2_gamma"] = ("bn2", "BatchNorm", 1, ())
    assert find_problems(arrays, uses=uses) == ()


def test_nan_and_inf_counts():
    arrays = healthy()
    w = arrays["arg:conv1_weight"].copy()
    flat = w.reshape(-1)
    flat[[1, 2, 3]] = np.nan
    flat[10] = np.inf
    flat[[20, 21]] = -np.inf
    arrays["arg:conv1_weight"] = w
    (f,) = find_problems(arrays)
    assert f.kind == "nonfinite"
    assert f.evidence == {"nan": 3, "posinf": 1, "neginf": 2, "size": w.size}
    assert f.message == f"arg:conv1_weight: 3 NaN, 1 +Inf, 2 -Inf among {w.size:,} values"


def test_duplicates_are_grouped_but_not_coincidental_constants():
    arrays = healthy()
    arrays["1.weight"] = arrays["arg:conv2_weight"].copy()
    arrays["3.weight"] = arrays["arg:conv2_weight"].copy()
    arrays["ones_a"] = np.ones(8, np.float32)
    arrays["ones_b"] = np.ones(8, np.float32)
    arrays["same_bytes_other_dtype"] = arrays["arg:fc_bias"].view(np.int32)
    found = by_kind(find_problems(arrays))
    (dup,) = found["duplicate"]
    assert dup.evidence["arrays"] == ["arg:conv2_weight", "1.weight", "3.weight"]
    assert dup.message == (
        "arg:conv2_weight, 1.weight, 3.weight: 3 identical arrays "
        "(shape (32, 32, 3, 3), float32, 36,864 bytes each)"
    )
    assert [f.array for f in found["constant"]] == ["ones_a", "ones_b"]


def test_scale_outlier_above_and_below():
    arrays = healthy()
    arrays["arg:conv1_weight"] = arrays["arg:conv1_weight"] * np.float32(1000)
    arrays["arg:conv3_weight"] = arrays["arg:conv3_weight"] * np.float32(1e-4)
    found = find_problems(arrays)
    assert kinds_of(found) == [
        ("scale_outlier", "arg:conv1_weight"),
        ("scale_outlier", "arg:conv3_weight"),
    ]
    others = [arrays[f"arg:conv{i}_weight"].std() for i in (0, 2, 3, 4)]
    assert found[0].evidence["median_std"] == pytest.approx(float(np.median(others)), rel=1e-5)
    assert found[0].evidence["peers"] == 4 and found[0].evidence["rank"] == 4
    assert found[0].evidence["ratio"] > 100 and found[1].evidence["ratio"] < 1 / 100
    assert " is 1/" in found[1].message and "of the 4 other 4-D weights" in found[1].message


def test_scale_needs_enough_peers():
    arrays = healthy()
    arrays["arg:conv1_weight"] = arrays["arg:conv1_weight"] * np.float32(1000)
    assert find_problems(arrays, Thresholds(min_scale_peers=5)) == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_running_var": -1.0}, "--min-running-var must be 0 or more, not -1.0"),
        ({"scale_factor": 1.0}, "--scale-factor must be more than 1, not 1.0"),
        ({"max_listed": 0}, "--max-listed must be at least 1, not 0"),
        ({"min_abs_gamma": float("nan")}, "--min-abs-gamma must be 0 or more, not nan"),
    ],
)
def test_bad_thresholds(kwargs, message):
    with pytest.raises(OptionError) as e:
        Thresholds(**kwargs)
    assert str(e.value) == message
    assert e.value.option == message.split()[0]
