"""inspect --min-running-var, --min-abs-gamma and --scale-factor (issue 16): the findings'
thresholds as options, checked against numpy; bad values are one-line usage errors (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest
from mxnet import nd

import paraminspect as pi
from paraminspect.choices import MIN_ABS_GAMMA, MIN_RUNNING_VAR, SCALE_FACTOR
from tests.test_checkpoint import js, real_file  # noqa: F401  (fixture)
from tests.test_inspect_triage import raw


def _save(tmp_path, arrays):
    f = tmp_path / "t.params"
    nd.save(str(f), {k: nd.array(v, dtype=v.dtype) for k, v in arrays.items()})
    return f


def _findings(cli, f, *args, kind):
    data = js(cli("inspect", str(f), *args, "--format", "json"))
    return {x["array"]: x for x in data["findings"] if x["kind"] == kind}


@pytest.mark.parametrize("limit", [MIN_RUNNING_VAR, 1e-4, 1e-2])
def test_min_running_var_flags_every_channel_numpy_finds(cli, real_file, limit):  # noqa: F811
    truth = raw(real_file)
    args = () if limit == MIN_RUNNING_VAR else ("--min-running-var", f"{limit:g}")
    got = _findings(cli, real_file, *args, kind="low_running_var")
    expected = {
        k: np.flatnonzero(a < limit).tolist()
        for k, a in truth.items()
        if k.endswith("moving_var") and (a < limit).any()
    }
    listed = {k: f["evidence"]["count"] for k, f in got.items()}
    assert listed == {k: len(v) for k, v in expected.items()}
    for k, f in got.items():
        assert f["evidence"]["threshold"] == limit
        assert f["evidence"]["channels"] == expected[k][: len(f["evidence"]["channels"])]
    if limit == 1e-2:  # a looser limit finds strictly more channels than the default
        assert sum(listed.values()) > 2


def test_min_abs_gamma(cli, tmp_path):
    gamma = np.array([1.0, 0.01, 1e-7, -2e-4, 0.5], np.float32)
    f = _save(tmp_path, {"arg:bn0_gamma": gamma, "arg:bn0_beta": np.zeros(5, np.float32)})
    default = _findings(cli, f, kind="tiny_gamma")["arg:bn0_gamma"]
    assert default["evidence"]["channels"] == np.flatnonzero(np.abs(gamma) < 1e-6).tolist()
    loose = _findings(cli, f, "--min-abs-gamma", "0.05", kind="tiny_gamma")["arg:bn0_gamma"]
    assert loose["evidence"]["channels"] == np.flatnonzero(np.abs(gamma) < 0.05).tolist()
    assert loose["evidence"]["channels"] == [1, 2, 3]
    assert _findings(cli, f, "--min-abs-gamma", "0", kind="tiny_gamma") == {}


def _peers(odd_std: float):
    rng = np.random.default_rng(0)
    arrays = {f"arg:fc{i}_weight": rng.standard_normal((6, 6)).astype(np.float32) for i in range(5)}
    arrays["arg:odd_weight"] = (odd_std * rng.standard_normal((6, 6))).astype(np.float32)
    return arrays


def test_scale_factor(cli, tmp_path):
    arrays = _peers(20.0)
    f = _save(tmp_path, arrays)
    assert _findings(cli, f, kind="scale_outlier") == {}  # 20x is under the default 100x
    got = _findings(cli, f, "--scale-factor", "10", kind="scale_outlier")
    assert list(got) == ["arg:odd_weight"]
    stds = {k: float(np.std(a.astype(np.float64))) for k, a in arrays.items()}
    peers = np.median([s for k, s in stds.items() if k != "arg:odd_weight"])
    assert got["arg:odd_weight"]["evidence"]["factor"] == 10.0
    assert 10 < stds["arg:odd_weight"] / peers < 100
    assert (
        _findings(
            cli,
            f,
            "--scale-factor",
            f"{stds['arg:odd_weight'] / peers * 1.01}",
            kind="scale_outlier",
        )
        == {}
    )


def test_the_api_takes_the_same_thresholds(tmp_path):
    f = _save(tmp_path, _peers(20.0))
    kinds = [x.kind for x in pi.inspect(str(f), scale_factor=10).findings]
    assert kinds == ["scale_outlier"]
    assert [x.kind for x in pi.inspect(str(f)).findings] == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--min-running-var", "-1"], "--min-running-var must be 0 or more, not -1.0"),
        (["--min-abs-gamma", "nan"], "--min-abs-gamma must be 0 or more, not nan"),
        (["--scale-factor", "1"], "--scale-factor must be more than 1, not 1.0"),
        (["--scale-factor", "0.5"], "--scale-factor must be more than 1, not 0.5"),
    ],
)
def test_bad_thresholds_exit_2_with_one_line(cli, tmp_path, args, message):
    f = _save(tmp_path, _peers(1.0))
    r = cli("inspect", str(f), *args)
    assert r.exit_code == 2
    option = args[0]
    assert r.stderr.strip().splitlines()[-1] == f"Error: Invalid value for '{option}': {message}"
    assert r.stdout == ""  # refused before the file is read or anything printed


def test_a_threshold_that_is_not_a_number(cli, tmp_path):
    f = _save(tmp_path, _peers(1.0))
    r = cli("inspect", str(f), "--min-abs-gamma", "tiny")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--min-abs-gamma': 'tiny' is not a valid float."
    )


def test_help_shows_defaults_from_choices_and_an_example(cli):
    text = " ".join(cli("inspect", "--help").output.split())
    assert f"[default: {MIN_RUNNING_VAR}]" in text and f"[default: {MIN_ABS_GAMMA}]" in text
    assert f"[default: {SCALE_FACTOR}]" in text
    assert "e.g. --min-running-var 1e-4." in text and "e.g. --scale-factor 10." in text
    # a long example continues on the next line with a backslash (within 80 columns)
    example = "paraminspect inspect model-0000.params --min-running-var 1e-4 --scale-factor 10"
    assert example in text.replace(" \\ ", " ")
