"""Helpers for the issue-21 tests: a folder's files before and after a command."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest

TINY = """\
name: tiny
input: {shape: [4, 6]}
layers:
  - {units: 5, activation: relu}
  - {units: 3}
"""

FACTORY = """\
from mxnet.gluon import nn


def build():
    net = nn.Sequential()
    net.add(nn.Dense(5, activation="relu"), nn.Dense(3))
    return net
"""


def snapshot(folder: Path) -> Dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too: a temporary file left behind shows)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder with a spec, a factory and a parameter file of the spec."""
    (tmp_path / "tiny.yaml").write_text(TINY, encoding="utf-8")
    (tmp_path / "net.py").write_text(FACTORY, encoding="utf-8")
    return tmp_path


def export_cnn(folder: Path) -> Path:
    """A small exported CNN (conv, BatchNorm, ReLU, dense to 3 classes) with fixed names,
    and its params file beside it; returns the -symbol.json."""
    import mxnet as mx
    from mxnet.gluon import nn

    net = nn.HybridSequential(prefix="")  # fixed names: Gluon's counters depend on the run
    net.add(
        nn.Conv2D(4, 3, prefix="conv0_"),
        nn.BatchNorm(prefix="batchnorm0_"),
        nn.Activation("relu", prefix="relu0_"),
        nn.Dense(3, prefix="dense0_"),
    )
    net.initialize()
    net.hybridize()
    net(mx.nd.ones((1, 3, 8, 8)))
    net.export(str(folder / "cnn"))
    return folder / "cnn-symbol.json"


@pytest.fixture
def cnn_graph(tmp_path: Path) -> Path:
    folder = tmp_path / "graph"
    folder.mkdir()
    return export_cnn(folder)
