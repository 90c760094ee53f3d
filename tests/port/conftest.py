"""Fixtures of the port tests: onnx/onnxruntime (the test extra installs them) and the
trap graphs, each saved by Module into a temporary folder."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DATA
from tests.port import nets

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

MFN_SYMBOL = SHARED_DATA / "mobilefacenet-symbol.json"
MFN_PARAMS = SHARED_DATA / "mobilefacenet-0000.params"


@pytest.fixture
def mobilefacenet():
    if not (MFN_SYMBOL.is_file() and MFN_PARAMS.is_file()):
        pytest.skip(f"real model files not found under {SHARED_DATA}")
    return str(MFN_SYMBOL)


@pytest.fixture
def trap(tmp_path):
    """``trap(name)`` -> (symbol file, --input values) of one small trap graph."""

    def build(name: str):
        if name == "prelu":
            return nets.save_module(nets.prelu_net(), tmp_path / name, {"data": (2, 3, 8, 8)}), [
                "data=2x3x8x8"
            ]
        if name == "slice":
            return nets.save_module(nets.slice_net(), tmp_path / name, {"data": (2, 5)}), [
                "data=2x5"
            ]
        if name == "fix_gamma":

            def edit(arg, aux):
                arg["bn_gamma"][:] = 3.0  # stored, but MXNet computes with 1

            sym = nets.fix_gamma_net()
            return nets.save_module(sym, tmp_path / name, {"data": (3, 4)}, edit=edit), ["data=3x4"]
        if name == "ctc":
            shapes = {"data": (2, 8), "label": (2, 3)}
            return nets.save_module(nets.ctc_net(), tmp_path / name, shapes, labels=("label",)), [
                "data=2x8"
            ]
        if name == "softmax":
            shapes = {"data": (2, 7), "softmax_label": (2,)}
            f = nets.save_module(
                nets.softmax_net(), tmp_path / name, shapes, labels=("softmax_label",)
            )
            return f, ["data=2x7"]
        if name == "old":
            f = nets.save_module(nets.prelu_net(), tmp_path / name, {"data": (2, 3, 8, 8)})
            nets.to_v08(f)
            return f, ["data=2x3x8x8"]
        raise KeyError(name)

    return build


def json_out(result) -> dict:
    """The JSON object on stdout (stderr lines come after it in CliRunner's mix)."""
    text = result.stdout if hasattr(result, "stdout") else result.output
    end = text.index("\n}\n") + 2 if "\n}\n" in text else len(text)
    return json.loads(text[text.index("{") : end])
