"""The book's 4.2.2-4.2.3 numbers (In[9] to In[13]), digit for digit, from the CLI with no
seed, each in a fresh process so MXNet's default random stream starts from scratch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.conftest import floats_after, run_fresh

NET = "input: {shape: [2, 20]}\nlayers:\n  - {units: 256, activation: relu}\n  - {units: 10}\n"
IN9 = "  - {init: {method: normal, sigma: 0.01}}\n"
IN10 = "  - {init: {method: constant, value: 1}}\n"
IN11 = "  - {init: {method: xavier, select: dense0_weight}}\n"
IN12 = "  - {init: {method: myinit}}\n"

# The book's printouts (Out[9], Out[11], Out[12], Out[13]), row 0 of dense0_weight.
OUT9 = """[ 0.01074176  0.00066428  0.00848699 -0.0080038  -0.00168822  0.00936328
  0.00357444  0.00779328 -0.01010307 -0.00391573  0.01316619 -0.00432926
  0.0071536   0.00925416 -0.00904951 -0.00074684  0.0082254  -0.01878511
  0.00885884  0.01911872]"""
OUT11 = """[ 0.00512482 -0.06579044 -0.10849719 -0.09586414  0.06394844  0.06029618
 -0.03065033 -0.01086642  0.01929168  0.1003869  -0.09339568 -0.08703034
 -0.10472868 -0.09879824 -0.00352201 -0.11063069 -0.04257748  0.06548801
  0.12987629 -0.13846186]"""
OUT12 = """[-5.3659673  7.5773945  8.986376  -0.         8.827555   0.
  5.9840508 -0.         0.         0.         7.4857597 -0.
 -0.         6.8910007  6.9788704 -6.1131554  0.         5.4665203
 -9.735263   9.485172 ]"""
OUT13 = """[-4.3659673  8.5773945  9.986376   1.         9.827555   1.
  6.9840508  1.         1.         1.         8.48576    1.
  1.         7.8910007  7.9788704 -5.1131554  1.         6.4665203
 -8.735263  10.485172 ]"""

ROW0 = ("--select", "dense0_weight", "--values", "--slice", "0")
# The book re-initializes every parameter (net.initialize) and then prints net[0].weight row 0:
# no --select (that would re-initialize dense0_weight alone), row 0 of every parameter shown.
ALL_ROW0 = ("--values", "--slice", "0")


def spec_with(tmp_path: Path, *steps: str) -> str:
    path = tmp_path / "steps.yaml"
    path.write_text(NET + ("steps:\n" + "".join(steps) if steps else ""), encoding="utf-8")
    return str(path)


def test_in9_normal_sigma_001():
    out = run_fresh("init", "--method", "normal", "--param", "sigma=0.01", *ALL_ROW0).stdout
    assert OUT9 in out
    assert floats_after(out, "dense0_weight[0]", 2) == [0.01074176, 0.00066428]


def test_in9_biases_keep_their_zeros_and_json_matches_table():
    data = json.loads(
        run_fresh(
            "init", "--method", "normal", "--param", "sigma=0.01", "--values", "--format", "json"
        ).stdout
    )
    params = {p["name"]: p for p in data["parameters"]}
    row0 = np.array(params["dense0_weight"]["data"], np.float32)[0, :2]
    np.testing.assert_allclose(row0, [0.01074176, 0.00066428], rtol=0, atol=5e-9)  # 8 digits
    assert not np.array(params["dense0_bias"]["data"]).any()
    assert params["dense0_bias"]["init"] == "zero"
    assert params["dense0_weight"]["init"] == "normal(sigma=0.01)"
    assert data["command"] == "init"


def test_in10_constant_one(tmp_path):
    out = run_fresh(
        "init", spec_with(tmp_path, IN9), "--method", "constant", "--param", "value=1", *ALL_ROW0
    ).stdout
    assert "[1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1.]" in out


def test_in11_xavier_on_dense0_weight_after_in9_in10(tmp_path):
    spec = spec_with(tmp_path, IN9, IN10)
    out = run_fresh("init", spec, "--method", "xavier", *ROW0).stdout
    assert OUT11 in out


def test_in12_myinit_logs_init_lines(tmp_path):
    spec = spec_with(tmp_path, IN9, IN10, IN11)
    proc = run_fresh("init", spec, "--method", "myinit", *ALL_ROW0)
    assert OUT12 in proc.stdout
    assert proc.stderr.splitlines()[-2:] == [
        "Init dense0_weight (256, 20)",
        "Init dense1_weight (10, 256)",
    ]


def test_in13_set_add_one(tmp_path):
    spec = spec_with(tmp_path, IN9, IN10, IN11, IN12)
    out = run_fresh(
        "set", spec, "--select", "dense0_weight", "--add", "1", "--values", "--slice", "0"
    ).stdout
    assert OUT13 in out


def test_chapter_spec_replays_in9_to_in13():
    proc = run_fresh("run", "chapter4_2", *ROW0)
    out = proc.stdout
    positions = [out.index(block) for block in (OUT9, OUT11, OUT12, OUT13)]
    assert positions == sorted(positions)
    assert "[1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1. 1.]" in out
    assert "Init dense0_weight (256, 20)" in proc.stderr


def test_chapter_trace_json_and_show_check_fails_on_moved_weight():
    data = json.loads(
        run_fresh(
            "run", "chapter4_2", "--select", "dense0_weight", "--values", "--format", "json"
        ).stdout
    )
    stages = [t["stage"] for t in data["trace"]]
    assert stages[0] == "after the first forward pass" and len(stages) == 6
    rows = [np.array(t["parameters"][0]["data"], np.float32)[0] for t in data["trace"]]
    # In[13] is In[12] + 1, element for element, in float32
    np.testing.assert_array_equal(rows[5], rows[4] + np.float32(1))
    assert data["parameters"][0]["init"] == "myinit(low=-10, high=10, threshold=5), then +1"
    proc = run_fresh("show", "chapter4_2", "--check", "--format", "json", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(
        "Error: 1 of 4 parameters do not match their initializer's theory: dense0_weight"
    )
    status = {r["parameter"]: r["status"] for r in json.loads(proc.stdout)["check"]["results"]}
    assert status == {
        "dense0_weight": "fail",
        "dense0_bias": "pass",
        "dense1_weight": "pass",
        "dense1_bias": "pass",
    }
