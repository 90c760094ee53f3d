"""``diff`` with a MODEL on either side."""

from __future__ import annotations

import json

import mxnet as mx
import numpy as np


def test_graph_against_its_own_params_file(cli, mobilefacenet):
    symbol, params = mobilefacenet
    result = cli("diff", symbol, params, "--input", "data=1x3x112x112", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert len(out["keys"]) == 284
    assert {k["status"] for k in out["keys"]} == {"equal"}


def test_graph_against_a_changed_file(cli, mobilefacenet, tmp_path):
    symbol, params = mobilefacenet
    arrays = mx.nd.load(params)
    before = arrays["arg:fc1_gamma"].asnumpy()
    arrays["arg:fc1_gamma"] = mx.nd.array(before * 2)
    changed = tmp_path / "changed.params"
    mx.nd.save(str(changed), arrays)
    result = cli("diff", symbol, str(changed), "--input", "data=1x3x112x112", "--format", "json")
    keys = {k["key"]: k for k in json.loads(result.stdout)["keys"]}
    assert keys["fc1_gamma"]["status"] == "changed"
    assert keys["fc1_gamma"]["max_abs"] == float(np.max(np.abs(before)))
    assert sum(k["status"] == "changed" for k in keys.values()) == 1
