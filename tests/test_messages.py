"""First-run messages (issue 17): each says what was wrong and what to write instead."""

from __future__ import annotations

import json

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
