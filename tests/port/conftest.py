"""Fixtures of the port tests: onnx/onnxruntime (the test extra installs them), the shared
MobileFaceNet, and the export kinds of tests/model/kinds.py."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED_DATA
from tests.model import kinds

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
def kind(tmp_path):
    """``kind(name)`` -> the :class:`tests.model.kinds.Export` built into tmp_path."""
    return lambda name: kinds.build(name, tmp_path / "kinds")


def json_out(result) -> dict:
    """The JSON object on stdout (stderr lines come after it in CliRunner's mix)."""
    text = result.stdout if hasattr(result, "stdout") else result.output
    end = text.index("\n}\n") + 2 if "\n}\n" in text else len(text)
    return json.loads(text[text.index("{") : end])
