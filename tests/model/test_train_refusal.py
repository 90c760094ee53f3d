"""``train`` refuses a graph whose head is a loss op, with the reason."""

from __future__ import annotations

import mxnet as mx


def test_softmax_output_head_refused(cli, tmp_path):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    path = tmp_path / "cls-symbol.json"
    mx.sym.SoftmaxOutput(fc, name="softmax").save(str(path))
    result = cli("train", str(path))
    assert result.exit_code == 2
    assert (
        f"'{path}' ends in SoftmaxOutput (softmax), a loss op that takes labels and ignores "
        "the gradient given to it" in result.output
    )
    assert "Traceback" not in result.output
