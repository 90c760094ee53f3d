"""Fixtures for the model sources: the real exported model and small graphs built here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import needs_shared_data

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MFN_SYMBOL = SHARED / "mobilefacenet-symbol.json"
MFN_PARAMS = SHARED / "mobilefacenet-0000.params"

# A tiny unrolled "RNN": one weight W and bias b reused by three FullyConnected nodes,
# four inputs (x0, x1, x2 and a state h0 that enters through an elementwise add).
RNN_T, RNN_IN, RNN_HID, RNN_N = 3, 4, 5, 2


@pytest.fixture
def mobilefacenet() -> tuple[str, str]:
    if not (MFN_SYMBOL.is_file() and MFN_PARAMS.is_file()):
        pytest.skip(needs_shared_data(MFN_SYMBOL.name, MFN_PARAMS.name))
    return str(MFN_SYMBOL), str(MFN_PARAMS)


def rnn_symbol():
    import mxnet as mx

    w, b = mx.sym.var("W"), mx.sym.var("b")
    h = mx.sym.var("h0")
    for t in range(RNN_T):
        fc = mx.sym.FullyConnected(
            data=mx.sym.var(f"x{t}"), weight=w, bias=b, num_hidden=RNN_HID, name=f"fc{t}"
        )
        h = mx.sym.tanh(h + fc, name=f"tanh{t}")
    return h


def rnn_arrays(seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return {
        "W": rng.standard_normal((RNN_HID, RNN_IN)).astype("float32"),
        "b": rng.standard_normal((RNN_HID,)).astype("float32"),
    }


@pytest.fixture
def rnn_dir(tmp_path: Path) -> Path:
    """``rnn-symbol.json`` + ``rnn-0000.params`` (with ``arg:`` keys, as Module wrote them)."""
    import mxnet as mx

    rnn_symbol().save(str(tmp_path / "rnn-symbol.json"))
    mx.nd.save(
        str(tmp_path / "rnn-0000.params"),
        {f"arg:{k}": mx.nd.array(v) for k, v in rnn_arrays().items()},
    )
    return tmp_path


@pytest.fixture
def rnn_shapes() -> dict[str, tuple[int, ...]]:
    shapes = {f"x{t}": (RNN_N, RNN_IN) for t in range(RNN_T)}
    shapes["h0"] = (RNN_N, RNN_HID)
    return shapes


FACTORY_SOURCE = '''
from mxnet.gluon import nn


class Pair(nn.HybridBlock):
    """Two Dense layers, the second sharing the first's parameters."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.first = nn.Dense(8, in_units=8, activation="relu")
            self.second = nn.Dense(8, in_units=8, params=self.first.params)

    def hybrid_forward(self, F, x):
        return self.second(self.first(x))


def build():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(8, in_units=4), Pair(), nn.Dense(2))
    return net


def not_a_block():
    return [1, 2]


def broken():
    raise ValueError("width must be positive")

NOT_CALLABLE = 3
'''


@pytest.fixture
def factory_file(tmp_path: Path) -> Path:
    path = tmp_path / "nets.py"
    path.write_text(FACTORY_SOURCE)
    return path


PLAIN_SOURCE = '''
from mxnet.gluon import nn


class Plain(nn.Block):
    """Not hybridizable: shapes-only cannot call it on symbols."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.dense = nn.Dense(3)

    def forward(self, x):
        return self.dense(x) * 2


def plain():
    return Plain()
'''


@pytest.fixture
def plain_factory(tmp_path: Path) -> Path:
    path = tmp_path / "plain.py"
    path.write_text(PLAIN_SOURCE)
    return path
