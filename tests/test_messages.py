"""First-run messages (issue 17): each says what was wrong and what to write instead."""

from __future__ import annotations

import json
import re

BAD = (
    "input: {shape: [2, 20]}\nlayers:\n"
    "  - {unit: 8, activation: relu}\n  - {units: -1, activaton: relu}\n"
)


def test_select_glob_suggests_a_regex(cli):
    r = cli("show", "--select", "*weight")
    assert r.exit_code == 2
    assert (
        "Invalid value for '--select': invalid regular expression '*weight': nothing to repeat "
        "at position 0; --select takes a regular expression, not a glob: write '.*weight'"
    ) in r.output


def test_select_tail_says_re_match_anchors_at_the_start(cli):
    r = cli("show", "--select", "weight")
    assert r.exit_code == 2
    assert (
        "no parameter matches 'weight'; --select uses re.match, which anchors at the start of "
        "the name: write '.*weight' to match it anywhere (dense0_weight, dense1_weight)"
    ) in r.output


def test_select_typo_still_gets_did_you_mean(cli):
    r = cli("show", "--select", "dense0_wieght")
    assert r.exit_code == 2
    assert "no parameter matches 'dense0_wieght'; did you mean 'dense0_weight'?" in r.output


def test_check_json_lists_every_problem(cli, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(BAD)
    r = cli("check", str(spec), "--format", "json")
    assert r.exit_code == 1
    obj = json.loads(r.stdout)
    assert obj["ok"] is False
    assert [(p["line"], p["path"]) for p in obj["problems"]] == [
        (3, "layers[0]"),
        (3, "layers[0]"),
        (4, "layers[1].units"),
        (4, "layers[1]"),
    ]
    assert obj["problems"][0]["message"].startswith("unknown key 'unit'; did you mean 'units'?")
    assert obj["problems"][2]["message"] == "must be >= 1, got -1"


def test_check_json_on_a_missing_spec(cli):
    r = cli("check", "no_such_spec", "--format", "json")
    assert r.exit_code == 1
    obj = json.loads(r.stdout)
    assert obj["ok"] is False and obj["problems"][0]["line"] is None
    assert obj["problems"][0]["message"].startswith("spec 'no_such_spec' not found")


def test_check_json_on_a_yaml_error_gives_its_line(cli, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input:\n\tshape: [2, 20]\n")
    r = cli("check", str(spec), "--format", "json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["problems"] == [
        {
            "line": 2,
            "path": "",
            "message": "invalid YAML: a tab character (column 1): YAML indents with spaces "
            "only; replace it with spaces",
        }
    ]


L = "input: {shape: [2, 20]}\nlayers:\n"


def _spec(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_run_without_steps_says_so_once(cli, tmp_path):
    r = cli("run", _spec(tmp_path, L + "  - {units: 8}\n"))
    assert r.exit_code == 0
    assert r.output.count("the spec has no steps") == 1
    assert "note: the spec has no steps: only the build is shown" in r.output


def test_show_check_failure_is_reported_once(cli, tmp_path):
    spec = _spec(tmp_path, L + "  - {units: 8}\nsteps:\n  - set: {select: dense0_weight, add: 1}\n")
    r = cli("show", spec, "--check")
    assert r.exit_code == 1
    assert r.output.count("dense0_weight") >= 1
    assert "check: " not in r.output  # the summary line would repeat the Error: line
    assert r.output.strip().splitlines()[-1] == (
        "Error: 1 of 2 parameters do not match their initializer's theory: dense0_weight"
    )


def test_show_check_pass_keeps_its_summary_line(cli):
    r = cli("show", "--check", "--seed", "0")
    assert r.exit_code == 0
    assert "check: 4 of 4 parameters match their initializer's theory" in r.output


def test_totals_under_a_selection_add_the_selection(cli):
    r = cli("show", "--select", "dense0.*", "--seed", "0")
    assert r.exit_code == 0
    assert "totals: whole net and the selection" in r.output
    whole = next(x for x in r.output.splitlines() if x.strip().startswith("whole net"))
    sub = next(x for x in r.output.splitlines() if x.strip().startswith("selection "))
    assert whole.split()[2:] == ["7,946", "7,946", "7,946", "0", "31,784"]
    # 256 x 20 weights + 256 biases, float32
    assert sub.split()[1:] == ["5,376", "5,376", "5,376", "0", "21,504"]
    obj = json.loads(cli("show", "--select", "dense0.*", "--format", "json").output)
    assert obj["totals"]["unique"] == 7946 and obj["selection_totals"]["unique"] == 5376
    assert json.loads(cli("show", "--format", "json").output)["selection_totals"] is None


def test_ratio_of_an_all_zero_weight_is_a_dash_with_a_note(cli):
    r = cli("grad", "--seed", "0")
    assert r.exit_code == 0
    norms = r.output.split("gradient vs weight", 1)[1]
    assert re.search(r"dense0_bias\s+0\s+\S+\s+0\s+-\s*\n", norms), norms
    assert "inf" not in norms.split("note:")[0]
    said = " ".join(r.output.split())
    assert (
        "note: ||g||/||w|| is - for dense0_bias, dense1_bias: every value is 0 (biases start"
        in said
    )
    obj = json.loads(cli("grad", "--seed", "0", "--format", "json").output)
    by_name = {p["name"]: p for p in obj["parameters"]}
    assert by_name["dense0_bias"]["grad_to_weight"] is None
    assert by_name["dense0_weight"]["grad_to_weight"] > 0
    assert any(n.startswith("||g||/||w|| is - for dense0_bias") for n in obj["notes"])


def test_seed_outside_32_bits_is_refused(cli):
    for seed, same in (("4294967296", 0), ("-1", 4294967295)):
        r = cli("show", "--seed", seed)
        assert r.exit_code == 2
        assert (
            f"Invalid value for '--seed': {seed} is outside 0 to 4,294,967,295 (2**32 - 1): "
            f"MXNet would reduce it modulo 2**32 and give the stream of seed {same}"
        ) in r.output
    assert cli("check", "--help").exit_code == 0
    assert cli("show", "--seed", "4294967295", "--format", "json").exit_code == 0


def test_fifo_spec_and_load_are_refused_at_once(cli, tmp_path):
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    r = cli("check", str(fifo))
    assert r.exit_code == 1
    assert (
        f"Error: {fifo}: is a FIFO (named pipe), not a spec file; to pipe a spec in, give - "
        "and use standard input"
    ) in r.output
    r = cli("show", "--load", str(fifo))
    assert r.exit_code == 1
    assert f"Error: cannot read '{fifo}': it is a FIFO (named pipe), not a parameter file" in (
        r.output
    )


def test_a_device_is_not_a_spec(cli):
    r = cli("check", "/dev/zero")
    assert r.exit_code == 1
    assert "Error: /dev/zero: is a character device, not a spec file" in r.output


def test_dash_reads_the_spec_from_stdin(cli):
    r = cli("check", "-", input=L + "  - {units: 8}\n")
    assert r.exit_code == 0
    assert r.output == "ok: <stdin>: 1 layers, 168 parameters (168 unique, 672 B)\n"


def test_weight_only_initializer_on_a_bias_is_a_spec_error(cli, tmp_path):
    spec = _spec(tmp_path, L + "  - {units: 8, init: {bias: xavier}}\n")
    for command in ("check", "show"):
        r = cli(command, spec)
        assert r.exit_code == 1
        assert "internal error" not in r.output
        assert (
            f"Error: {spec}:3: layers[0].init: bias: xavier needs at least 2 dimensions "
            "(fan_in, fan_out), but a bias vector is 1-D; initializers for it: uniform, "
            "normal, constant, one, zero, lstmbias, myinit (see paraminspect init --list)"
        ) in r.output


def test_bilinear_on_dense_weights_is_a_spec_error(cli, tmp_path):
    spec = _spec(tmp_path, L + "  - {units: 8}\ninit: {method: bilinear}\n")
    r = cli("show", spec)
    assert r.exit_code == 1
    assert f"Error: {spec}:4: init: bilinear needs a 4-D array, but a dense weight is 2-D" in (
        r.output
    )
