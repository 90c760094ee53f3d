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
