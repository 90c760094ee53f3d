"""inspect triage (issue 16): --sort/--top/--group/--symbol, overview, findings, --fail-on,
and diff --sort/--top; numbers checked against numpy over mx.nd.load's arrays."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from mxnet import nd

from tests.conftest import SHARED_DATA, needs_shared_data
from tests.test_checkpoint import js, real_file  # noqa: F401  (fixture)

SYMBOL = SHARED_DATA / "mobilefacenet-symbol.json"


def raw(path) -> dict:
    return {k: v.asnumpy() for k, v in nd.load(str(path)).items()}


def small_file(tmp_path, **extra: np.ndarray):
    arrays = {
        "arg:fc_weight": np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4),
        "arg:fc_bias": np.array([0.1, -0.2, 0.3], np.float32),
        "arg:big_weight": np.linspace(-2, 3, 40, dtype=np.float32).reshape(8, 5),
    }
    arrays.update(extra)
    f = tmp_path / "m.params"
    nd.save(str(f), {k: nd.array(v, dtype=v.dtype) for k, v in arrays.items()})
    return f, arrays


# --------------------------------------------------------------------------- mobilefacenet


def test_sort_size_top_5_matches_numpy(cli, real_file):  # noqa: F811
    truth = raw(real_file)
    data = js(cli("inspect", str(real_file), "--sort", "size", "--top", "5", "--format", "json"))
    keys = [a["key"] for a in data["arrays"]]
    # largest first, ties in file order (a stable sort over the file's order)
    expected = sorted(truth, key=lambda k: -truth[k].size)[:5]
    assert keys == expected
    assert [a["size"] for a in data["arrays"]] == [truth[k].size for k in expected]
    assert data["sort"] == "size" and data["top"] == 5
    text = cli("inspect", str(real_file), "--sort", "size", "--top", "5").output
    assert "5 of 284 shown; 284 arrays (sorted by size)" in text


@pytest.mark.parametrize("by", ["l2", "abs_max", "std"])
def test_sort_by_a_number_matches_numpy(cli, real_file, by):  # noqa: F811
    truth = raw(real_file)
    measure = {
        "l2": lambda a: np.sqrt(np.sum(a.astype(np.float64) ** 2)),
        "abs_max": lambda a: np.max(np.abs(a.astype(np.float64))),
        "std": lambda a: np.std(a.astype(np.float64)),
    }[by]
    data = js(cli("inspect", str(real_file), "--sort", by, "--top", "4", "--format", "json"))
    numbers = {k: float(measure(a)) for k, a in truth.items()}
    assert [a["key"] for a in data["arrays"]] == sorted(numbers, key=lambda k: -numbers[k])[:4]
    for a in data["arrays"]:
        assert math.isclose(a[by], numbers[a["key"]], rel_tol=1e-6)  # float32 chunk sums


def test_group_layer_by_name_and_by_symbol(cli, real_file):  # noqa: F811
    if not SYMBOL.is_file():
        pytest.skip(needs_shared_data(SYMBOL.name))
    truth = raw(real_file)
    by_name = js(cli("inspect", str(real_file), "--group", "layer", "--format", "json"))
    by_op = js(
        cli(
            "inspect",
            str(real_file),
            "--group",
            "layer",
            "--symbol",
            str(SYMBOL),
            "--format",
            "json",
        )
    )
    for data in (by_name, by_op):
        grouped = [k for g in data["groups"] for k in g["keys"]]
        assert sorted(grouped) == sorted(truth)  # a partition of every key
        for g in data["groups"]:
            assert g["size"] == sum(truth[k].size for k in g["keys"])
            assert g["bytes"] == sum(truth[k].nbytes for k in g["keys"])
            assert {a["layer"] for a in data["arrays"] if a["key"] in g["keys"]} == {g["layer"]}
    names = {g["layer"]: g["keys"] for g in by_name["groups"]}
    ops = {g["layer"]: g["keys"] for g in by_op["groups"]}
    # by name, aux:fc1_moving_var sits with arg:fc1_weight; the graph knows the weight feeds
    # the pre_fc1 FullyConnected op and the statistics the fc1 BatchNorm
    assert "arg:fc1_weight" in names["fc1"]
    assert set(ops["pre_fc1"]) == {"arg:fc1_weight", "arg:pre_fc1_bias"}
    assert "arg:fc1_weight" not in ops["fc1"]
    # --group with --sort size --top 3: the 3 largest layers, each's arrays largest first
    top = js(
        cli(
            "inspect",
            str(real_file),
            "--group",
            "layer",
            "--sort",
            "size",
            "--top",
            "3",
            "--format",
            "json",
        )
    )
    layer_size = {name: sum(truth[k].size for k in keys) for name, keys in names.items()}
    assert [g["layer"] for g in top["groups"]] == sorted(layer_size, key=lambda n: -layer_size[n])[
        :3
    ]
    text = cli("inspect", str(real_file), "--group", "layer", "--sort", "size", "--top", "3").output
    assert "layer pre_fc1" not in text and f"layer {top['groups'][0]['layer']}" in text


def test_findings_name_fc1_gamma_and_every_low_running_var_channel(cli, real_file):  # noqa: F811
    truth = raw(real_file)
    data = js(cli("inspect", str(real_file), "--format", "json"))
    findings = data["findings"]
    constant = [f for f in findings if f["kind"] == "constant"]
    assert [f["array"] for f in constant] == ["arg:fc1_gamma"]
    assert constant[0]["message"] == "arg:fc1_gamma: all 128 values are 1"
    assert constant[0]["evidence"] == {"size": 128, "value": 1.0}
    # the corrected per-array flag: every array whose values are all equal, checked by numpy
    flags = {a["key"]: a["constant"] for a in data["arrays"]}
    assert flags == {k: bool(a.size >= 2 and (a == a.flat[0]).all()) for k, a in truth.items()}
    assert flags["arg:fc1_gamma"] is True
    # every running-variance channel below 1e-6, by numpy
    low = {
        k: np.flatnonzero(a < 1e-6).tolist()
        for k, a in truth.items()
        if k.endswith("moving_var") and (a < 1e-6).any()
    }
    assert sum(map(len, low.values())) == 2
    got = {
        f["array"]: f["evidence"]["channels"] for f in findings if f["kind"] == "low_running_var"
    }
    assert got == low
    for f in findings:
        if f["kind"] == "low_running_var":
            k = f["array"]
            assert f["evidence"]["values"] == [float(truth[k][i]) for i in low[k]]
            assert f["evidence"]["count"] == len(low[k]) and f["evidence"]["of"] == truth[k].size
    # with the graph, the constant gamma is known to be unused (fix_gamma=True): no finding,
    # and a note says why
    if SYMBOL.is_file():
        with_graph = js(cli("inspect", str(real_file), "--symbol", str(SYMBOL), "--format", "json"))
        assert [f["kind"] for f in with_graph["findings"]] == ["low_running_var"]
        assert any("(arg:fc1_gamma): MXNet uses 1 in its place" in n for n in with_graph["notes"])
    # the table lists the same findings after the arrays
    text = cli("inspect", str(real_file)).output
    assert "findings (2):" in text and text.index("findings (2):") > text.index("arg:fc1_gamma")
    assert "constant: arg:fc1_gamma: all 128 values are 1" in text


def test_overview_counts_match_numpy(cli, real_file):  # noqa: F811
    truth = raw(real_file)
    ov = js(cli("inspect", str(real_file), "--format", "json"))["overview"]
    assert ov["arrays"] == len(truth) == 284
    assert ov["bytes"] == sum(a.nbytes for a in truth.values())
    assert sum(r["arrays"] for r in ov["by_kind"]) == 284
    kinds = {r["label"]: r["arrays"] for r in ov["by_kind"]}
    assert kinds["running"] == sum(1 for k in truth if k.startswith("aux:"))
    assert ov["by_dtype"] == [
        {"label": "float32", "arrays": 284, "values": ov["values"], "bytes": ov["bytes"]}
    ]
    assert [x["key"] for x in ov["largest"]] == sorted(truth, key=lambda k: -truth[k].size)[:5]


def test_fail_on_findings(cli, real_file, tmp_path):  # noqa: F811
    r = cli("inspect", str(real_file), "--fail-on", "findings")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == "Error: 2 findings (--fail-on findings)"
    assert "findings (2):" in r.stdout  # the report is still printed
    f, _ = small_file(tmp_path)
    healthy = cli("inspect", str(f), "--fail-on", "findings")
    assert healthy.exit_code == 0, healthy.output
    assert "findings: none" in healthy.stdout


# --------------------------------------------------------------------------- small files


def test_each_table_once_with_stats(cli, tmp_path):
    f, _ = small_file(tmp_path)
    text = cli("inspect", str(f), "--stats").output
    # one arrays table: each key appears once outside the overview's "largest" table
    arrays_part = text.split(" key ", 2)[2]
    for key in ("arg:fc_weight", "arg:fc_bias", "arg:big_weight"):
        assert arrays_part.count(key) == 1
    assert "\nstatistics" not in text  # the old second table, titled "statistics"
    assert text.index("overview") < text.index("largest 3") < text.index("mean")


def test_findings_on_a_broken_file(cli, tmp_path):
    dead = np.ones((4, 3), np.float32)
    dead[2] = 0
    nan = np.array([1.0, np.nan, np.inf, 2.0], np.float32)
    f, _ = small_file(
        tmp_path,
        **{"arg:dead_weight": dead, "arg:nan_bias": nan, "arg:zero_bias": np.zeros(5, np.float32)},
    )
    data = js(cli("inspect", str(f), "--format", "json"))
    kinds = [(x["kind"], x["array"]) for x in data["findings"]]
    assert ("dead_units", "arg:dead_weight") in kinds
    assert ("nonfinite", "arg:nan_bias") in kinds
    assert ("zeros", "arg:zero_bias") in kinds
    msg = {x["array"]: x["message"] for x in data["findings"]}
    assert msg["arg:dead_weight"] == "arg:dead_weight: 1 of 4 rows is all zero (row 2)"
    assert msg["arg:nan_bias"] == "arg:nan_bias: 1 NaN, 1 +Inf among 4 values"
    json.dumps(data, allow_nan=False)  # evidence is valid JSON


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--sort", "sise"],
            "Invalid value for '--sort': 'sise' is not one of 'size', 'l2', "
            "'abs_max', 'std', 'name'.",
        ),
        (["--top", "0"], "Invalid value for '--top': 0 is not in the range x>=1."),
        (["--group", "op"], "Invalid value for '--group': 'op' is not 'layer'."),
        (
            ["--fail-on", "warnings"],
            "Invalid value for '--fail-on': 'warnings' is not 'findings'.",
        ),
    ],
)
def test_bad_triage_flags_exit_2(cli, tmp_path, args, message):
    f, _ = small_file(tmp_path)
    r = cli("inspect", str(f), *args)
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == f"Error: {message}"


def test_bad_symbol_files_exit_1(cli, tmp_path):
    f, _ = small_file(tmp_path)
    missing = tmp_path / "nope-symbol.json"
    r = cli("inspect", str(f), "--symbol", str(missing))
    assert r.exit_code == 1
    # --symbol files are read by model.graph.read_graph, the one -symbol.json reader
    assert r.stderr.strip() == (
        f"Error: graph file '{missing}' not found; give the path of a -symbol.json"
    )
    bad = tmp_path / "bad-symbol.json"
    bad.write_text('{"heads": []}')
    r = cli("inspect", str(f), "--symbol", str(bad))
    assert r.exit_code == 1
    assert r.stderr.strip() == (
        f"Error: '{bad}' is not an MXNet graph: no 'nodes' and 'heads' lists at the top level; "
        "give the -symbol.json that HybridBlock.export or Module.save_checkpoint wrote"
    )
    bad.write_text("{not json")
    r = cli("inspect", str(f), "--symbol", str(bad))
    assert r.exit_code == 1 and r.stderr.startswith(
        f"Error: '{bad}' is not an MXNet graph: not JSON ("
    )


def test_api_errors_for_bad_sort_and_top(tmp_path):
    from paraminspect.actions.inspect_file import inspect_file
    from paraminspect.errors import OptionError

    f, _ = small_file(tmp_path)
    with pytest.raises(OptionError) as e:
        inspect_file(str(f), sort="sise")
    assert str(e.value) == (
        "unknown sort key 'sise'; did you mean 'size'? (choose from size, l2, abs_max, std, name)"
    )
    assert e.value.option == "--sort"
    with pytest.raises(OptionError, match="--top must be 1 or more, not 0"):
        inspect_file(str(f), top=0)


# --------------------------------------------------------------------------- diff


def test_diff_sort_and_top(cli, tmp_path):
    f, arrays = small_file(tmp_path)
    changed = dict(arrays)
    changed["arg:fc_bias"] = arrays["arg:fc_bias"] * 3  # rel_l2 2
    changed["arg:big_weight"] = arrays["arg:big_weight"] + 0.01
    g = tmp_path / "n.params"
    nd.save(str(g), {k: nd.array(v) for k, v in changed.items()})
    data = js(cli("diff", str(f), str(g), "--sort", "rel_l2", "--top", "2", "--format", "json"))
    assert [k["key"] for k in data["keys"]] == ["arg:fc_bias", "arg:big_weight"]
    d = changed["arg:big_weight"].astype(np.float64) - arrays["arg:big_weight"]
    rel = np.linalg.norm(d) / np.linalg.norm(arrays["arg:big_weight"].astype(np.float64))
    assert math.isclose(data["keys"][1]["rel_l2"], rel, rel_tol=1e-6)
    assert data["counts"]["changed"] == 2 and data["counts"]["equal"] == 1  # all keys counted
    assert "2 of 3 keys shown (--top 2); the summary counts all" in data["notes"]
    by_name = js(cli("diff", str(f), str(g), "--sort", "name", "--format", "json"))
    assert [k["key"] for k in by_name["keys"]] == sorted(arrays)
    r = cli("diff", str(f), str(g), "--sort", "l2")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--sort': 'l2' is not one of 'rel_l2', 'max_abs', 'cosine', "
        "'size', 'name'."
    )
