"""init / set / run / show --check from the command line: errors, catalog, plugin, save,
and --check failing on a deliberately wrong initializer."""

from __future__ import annotations

import json

import mxnet as mx
import numpy as np
import pytest

import paraminspect.model.model
from paraminspect.init.catalog import CATALOG

TINY = "input: {shape: [2, 6]}\nlayers:\n  - {units: 64, activation: relu}\n  - {units: 48}\n"


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            ["init", "--method", "xavir"],
            2,
            "Error: Invalid value for '--method': unknown initializer 'xavir'; did you mean "
            "'xavier'? (known: bilinear, constant, lstmbias, msraprelu, myinit, normal, one, "
            "orthogonal, uniform, xavier, zero; see `paraminspect init --list`)",
        ),
        (
            ["init", "--method", "normal", "--param", "sigam=1"],
            2,
            "Error: Invalid value for '--param': initializer 'normal' has no parameter "
            "'sigam'; did you mean 'sigma'? (allowed: sigma)",
        ),
        (
            ["init", "--method", "normal", "--param", "sigma=-1"],
            2,
            "Error: Invalid value for '--param': normal parameter 'sigma' must be >= 0, got -1",
        ),
        (
            ["init", "--method", "xavier", "--param", "rnd_type=gauss"],
            2,
            "Error: Invalid value for '--param': xavier parameter 'rnd_type' must be one of "
            "uniform, gaussian, got 'gauss'; did you mean 'gaussian'?",
        ),
        (
            ["init", "--method", "normal", "--param", "sigma"],
            2,
            "Error: Invalid value for '--param': 'sigma' is not KEY=VALUE (e.g. --param sigma=0.01)",
        ),
        (
            ["init", "--method", "xavier", "--select", "dense0_bias"],
            2,
            "Error: Invalid value for '--select': xavier needs at least 2 dimensions (fan_in, "
            "fan_out) but dense0_bias has shape (256,); select weights only, e.g. --select '.*weight'",
        ),
        (
            ["init", "--method", "orthogonal", "--layer", "1"],
            2,
            "Error: Invalid value for '--select': orthogonal needs at least 2 dimensions "
            "(fan_in, fan_out) but dense1_bias has shape (10,); select weights only, e.g. --select '.*weight'",
        ),
        (
            ["init", "--method", "bilinear"],
            2,
            "Error: Invalid value for '--method': bilinear needs a 4-D (deconvolution) weight "
            "but dense0_weight has shape (256, 20); no layer a spec builds has one",
        ),
        (
            ["init"],
            2,
            "Error: Invalid value for '--method': give exactly one of --method NAME and "
            "--plugin FILE.py:ClassName (see `paraminspect init --list`)",
        ),
        (
            ["set", "--add", "1"],
            2,
            "Error: Invalid value for '--select': say which parameters to change, e.g. "
            "--select dense0_weight (set never changes every parameter implicitly)",
        ),
        (
            ["set", "--select", "dense0_weight", "--add", "1", "--fill", "2"],
            2,
            "Error: --add and --fill were given; give exactly one of --add X, --scale X, --fill X",
        ),
        (
            ["set", "--select", "dense0_weight", "--add", "nan"],
            2,
            "Error: Invalid value for '--add': must be a finite number, got nan",
        ),
        (
            ["init", "--plugin", "nope.py:X"],
            2,
            "Error: Invalid value for '--plugin': file 'nope.py' not found",
        ),
        (
            ["init", "--plugin", "nope"],
            2,
            "Error: Invalid value for '--plugin': 'nope' is not FILE.py:ClassName (e.g. my_inits.py:MyInit)",
        ),
        (
            ["init", "--method", "xavier", "--save", "/nonexistent-dir/x.params"],
            1,
            "Error: cannot write '/nonexistent-dir/x.params': folder '/nonexistent-dir' does "
            "not exist; create it first (mkdir -p /nonexistent-dir)",
        ),
    ],
)
def test_errors(cli, args, code, message):
    r = cli(*args)
    assert r.exit_code == code
    assert r.output.strip().splitlines()[-1] == message
    assert "Traceback" not in r.output


def test_list_has_every_method_with_params(cli):
    data = json.loads(cli("init", "--list", "--format", "json").output)
    assert [m["method"] for m in data] == list(CATALOG)
    xavier = next(m for m in data if m["method"] == "xavier")
    assert [(p["name"], p["default"]) for p in xavier["params"]] == [
        ("rnd_type", "uniform"),
        ("factor_type", "avg"),
        ("magnitude", 3.0),
    ]
    text = cli("init", "--list").output
    for name in CATALOG:
        assert name in text
    assert "rnd_type=uniform" in text and "threshold=5" in text


def test_plugin_help_warns_that_it_runs_code(cli):
    assert "RUNS THE CODE" in " ".join(cli("init", "--help").output.split())


def test_init_updates_init_column_and_keeps_bias_zero(cli, tiny):
    data = json.loads(
        cli(
            "init", tiny, "--method", "xavier", "--seed", "1", "--values", "--format", "json"
        ).output
    )
    init = {p["name"]: p["init"] for p in data["parameters"]}
    assert init == {
        "dense0_weight": "xavier(rnd_type=uniform, factor_type=avg, magnitude=3)",
        "dense0_bias": "zero",
        "dense1_weight": "xavier(rnd_type=uniform, factor_type=avg, magnitude=3)",
        "dense1_bias": "zero",
    }
    w = np.array(data["parameters"][0]["data"])
    assert np.abs(w).max() <= np.sqrt(3 / ((6 + 64) / 2)) and not np.any(
        data["parameters"][1]["data"]
    )


def test_init_selection_matches_raw_mxnet(cli, tiny):
    from mxnet.gluon import nn

    mx.random.seed(5)
    net = nn.Sequential()
    net.add(nn.Dense(64, activation="relu"), nn.Dense(48))
    net.initialize()
    net(mx.nd.random.uniform(shape=(2, 6)))
    net[1].weight.initialize(init=mx.init.Normal(0.5), force_reinit=True)
    net[1].bias.initialize(init=mx.init.Normal(0.5), force_reinit=True)
    data = json.loads(
        cli(
            "init",
            tiny,
            "--seed",
            "5",
            "--method",
            "normal",
            "--param",
            "sigma=0.5",
            "--layer",
            "1",
            "--values",
            "--format",
            "json",
        ).output
    )
    assert [p["name"] for p in data["parameters"]] == ["dense1_weight", "dense1_bias"]
    np.testing.assert_array_equal(
        np.array(data["parameters"][0]["data"], np.float32), net[1].weight.data().asnumpy()
    )
    np.testing.assert_array_equal(
        np.array(data["parameters"][1]["data"], np.float32), net[1].bias.data().asnumpy()
    )


@pytest.mark.parametrize(
    "method, params",
    [
        ("uniform", ["scale=0.3"]),
        ("normal", ["sigma=0.2"]),
        ("constant", ["value=0.25"]),
        ("one", []),
        ("zero", []),
        ("xavier", ["rnd_type=gaussian", "factor_type=in", "magnitude=2.34"]),
        ("msraprelu", ["slope=0.1"]),
        ("orthogonal", ["rand_type=normal"]),
        ("lstmbias", ["forget_bias=2"]),
        ("myinit", []),
    ],
)
def test_check_passes_for_every_real_initializer(cli, tiny, method, params):
    args = ["init", tiny, "--seed", "2", "--method", method, "--check", "--format", "json"]
    for p in params:
        args += ["--param", p]
    if CATALOG[method].weight_only:
        args += ["--select", ".*weight"]
    r = cli(*args)
    assert r.exit_code == 0, r.output
    check = json.loads(r.output)["check"]
    assert check["passed"] and all(x["status"] == "pass" for x in check["results"])


class ShiftedNormal(mx.init.Normal):
    """Deliberately wrong: draws N(sigma/2, (1.5 sigma)^2) while claiming N(0, sigma^2)."""

    def _init_weight(self, name, arr):
        mx.nd.random.normal(self.sigma / 2, self.sigma * 1.5, out=arr)


def test_check_fails_on_a_deliberately_wrong_initializer(cli, tiny, monkeypatch):
    mx.init.register(ShiftedNormal)
    real = paraminspect.model.model.make_initializer

    def wrong(method, params):
        return ShiftedNormal(sigma=params["sigma"]) if method == "normal" else real(method, params)

    monkeypatch.setattr(paraminspect.model.model, "make_initializer", wrong)
    r = cli("init", tiny, "--seed", "0", "--method", "normal", "--select", ".*weight", "--check")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == (
        "Error: 2 of 2 parameters do not match their initializer's theory: "
        "dense0_weight, dense1_weight"
    )
    data = json.loads(
        cli(
            "init",
            tiny,
            "--seed",
            "0",
            "--method",
            "normal",
            "--select",
            "dense0_weight",
            "--check",
            "--format",
            "json",
        ).output.split("\nError:")[0]
    )
    failed = {c["name"] for c in data["check"]["results"][0]["checks"] if not c["passed"]}
    assert failed == {"mean", "std", "ks"}


def test_show_check_default_passes_and_set_fails(cli, tiny):
    r = cli("show", tiny, "--check", "--seed", "0")
    assert r.exit_code == 0, r.output
    assert "check: 4 of 4 parameters match their initializer's theory" in r.output
    r = cli("set", tiny, "--select", "dense0_weight", "--scale", "2", "--check", "--seed", "0")
    assert r.exit_code == 1
    assert r.output.strip().splitlines()[-1] == (
        "Error: 1 of 1 parameters do not match their initializer's theory: dense0_weight"
    )


def test_set_ops_match_numpy(cli, tiny):
    def values(*extra):
        out = cli(
            "set",
            tiny,
            "--seed",
            "4",
            "--select",
            "dense1_weight",
            *extra,
            "--values",
            "--format",
            "json",
        )
        return np.array(json.loads(out.output)["parameters"][0]["data"], np.float32)

    base = np.array(
        json.loads(
            cli(
                "show",
                tiny,
                "--seed",
                "4",
                "--select",
                "dense1_weight",
                "--values",
                "--format",
                "json",
            ).output
        )["parameters"][0]["data"],
        np.float32,
    )
    np.testing.assert_array_equal(values("--add", "1"), base + np.float32(1))
    np.testing.assert_array_equal(values("--scale", "-3"), base * np.float32(-3))
    np.testing.assert_array_equal(values("--fill", "0.5"), np.full_like(base, 0.5))


def test_json_schema_is_show_plus_edit_keys(cli, tiny):
    show = json.loads(cli("show", tiny, "--format", "json").output)
    init = json.loads(cli("init", tiny, "--method", "one", "--format", "json").output)
    assert set(init) == set(show) | {"action", "trace", "check", "saved", "log"}
    assert init["action"] == "init one on all parameters"


def test_plugin_initializer(cli, tiny, tmp_path):
    plugin = tmp_path / "myplug.py"
    plugin.write_text(
        "import mxnet as mx\n"
        "class Twos(mx.init.Initializer):\n"
        "    def __init__(self, value=2):\n"
        "        super().__init__(value=value)\n"
        "        self.value = value\n"
        "    def _init_weight(self, name, arr):\n"
        "        arr[:] = self.value\n",
        encoding="utf-8",
    )
    r = cli(
        "init",
        tiny,
        "--plugin",
        f"{plugin}:Twos",
        "--param",
        "value=3",
        "--select",
        "dense0_weight",
        "--values",
        "--check",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert np.all(np.array(data["parameters"][0]["data"]) == 3)
    assert data["parameters"][0]["init"] == f"{plugin}:Twos(value=3)"
    assert data["check"]["results"][0]["status"] == "skip"
    r = cli("init", tiny, "--plugin", f"{plugin}:Two")
    assert r.output.strip().splitlines()[-1] == (
        f"Error: Invalid value for '--plugin': '{plugin}' has no class 'Two'; did you mean "
        "'Twos'? (initializers in it: Twos)"
    )


def test_spec_cannot_name_a_plugin(cli, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(TINY + "steps:\n  - {init: {method: plugin, file: x.py}}\n", encoding="utf-8")
    r = cli("check", str(path))
    assert r.exit_code == 1
    assert r.output.startswith(
        f"Error: {path}:6: steps[0].init.method: unknown initializer 'plugin'"
    )


def test_save_is_atomic_and_refuses_overwrite(cli, tiny, tmp_path):
    from mxnet.gluon import nn

    target = tmp_path / "net.params"
    r = cli("init", tiny, "--method", "one", "--save", str(target))
    assert r.exit_code == 0, r.output
    net = nn.Sequential()
    net.add(nn.Dense(64, activation="relu"), nn.Dense(48))
    net.load_parameters(str(target))
    assert np.all(net[0].weight.data().asnumpy() == 1) and not net[0].bias.data().asnumpy().any()
    r = cli("set", tiny, "--select", "dense0_weight", "--add", "1", "--save", str(target))
    assert r.exit_code == 1
    assert (
        r.output.strip().splitlines()[-1]
        == f"Error: '{target}' already exists; use --force to overwrite it"
    )
    assert (
        cli(
            "set",
            tiny,
            "--select",
            "dense0_weight",
            "--fill",
            "2",
            "--save",
            str(target),
            "--force",
        ).exit_code
        == 0
    )
    net.load_parameters(str(target))
    assert np.all(net[0].weight.data().asnumpy() == 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.params", "tiny.yaml"]


@pytest.mark.parametrize(
    "step, line, message",
    [
        (
            "  - init:\n      method: normal\n      sigam: 0.01\n",
            8,
            "steps[0].init.sigam: initializer 'normal' has no parameter 'sigam'; did you mean 'sigma'? (allowed: sigma, select, layer)",
        ),
        (
            "  - {set: {select: dense0_weight, ad: 1}}\n",
            6,
            "steps[0].set.ad: unknown key 'ad'; did you mean 'add'? (allowed: select, layer, add, scale, fill)",
        ),
        (
            "  - {init: {method: xavier, layer: 0}}\n",
            6,
            "steps[0].init.method: xavier needs at least 2 dimensions (fan_in, fan_out) but dense0_bias has shape (64,); select weights only, e.g. --select '.*weight'",
        ),
        (
            "  - {set: {select: '(', add: 1}}\n",
            6,
            "steps[0].set.select: invalid regular expression '(': missing ), unterminated subpattern at position 0",
        ),
        (
            "  - {inti: xavier}\n",
            6,
            "steps[0]: unknown step 'inti'; did you mean 'init'? (allowed: init, set)",
        ),
        (
            "  - {set: {select: dense0_weight}}\n",
            6,
            "steps[0].set: needs exactly one of add, scale, fill (e.g. {set: {select: dense0_weight, add: 1}})",
        ),
    ],
)
def test_step_errors_have_file_and_line(cli, tmp_path, step, line, message):
    path = tmp_path / "s.yaml"
    path.write_text(TINY + "steps:\n" + step, encoding="utf-8")
    r = cli("check", str(path))
    assert r.exit_code == 1
    assert r.output.strip() == f"Error: {path}:{line}: {message}"
