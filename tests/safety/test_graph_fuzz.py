"""Issue 21 item 2: mutated real graphs never kill the process and never get "internal
error" (hypothesis; the graphs run in a worker process, so a segmentation fault is seen as
the worker's death instead of ending the test run).

The number of examples is bounded (``PARAMINSPECT_FUZZ_EXAMPLES``, 40 by default) so CI
stays fast; set it higher for a longer hunt.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_DATA
from tests.safety.conftest import export_cnn

EXAMPLES = int(os.environ.get("PARAMINSPECT_FUZZ_EXAMPLES", "40"))

# The worker runs `paraminspect show GRAPH --input ...` in-process for each path it reads
# and answers one JSON line: the exit code and the last line of the output.
WORKER = textwrap.dedent(
    """
    import json, sys
    from click.testing import CliRunner
    from paraminspect.cli import cli
    runner = CliRunner()
    for line in sys.stdin:
        path, shape = json.loads(line)
        r = runner.invoke(cli, ["show", path, "--input", "data=" + shape])
        lines = r.output.strip().splitlines()
        internal = r.exception is not None and not isinstance(r.exception, SystemExit)
        print(json.dumps({"code": r.exit_code, "last": lines[-1] if lines else "",
                          "internal": internal, "exception": repr(r.exception)[:300]}),
              flush=True)
    """
)


class Worker:
    """A Python process that shows graphs until it dies (a signal ends only it)."""

    def __init__(self, script: str = WORKER) -> None:
        self.script = script
        self.proc: Optional[subprocess.Popen] = None

    def _start(self) -> subprocess.Popen:
        env = dict(os.environ, COLUMNS="120", NO_COLOR="1")
        return subprocess.Popen(
            [sys.executable, "-c", self.script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def show(self, path: Path, shape: str) -> Dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([str(path), shape]) + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            code = self.proc.wait(timeout=60)
            self.proc = None
            return {"died": code}
        return json.loads(answer)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def _small_graphs(folder: Path) -> List[Tuple[str, Dict[str, Any], str]]:
    """Graphs built here: a CNN with BatchNorm (Gluon export) and a multi-output split."""
    import mxnet as mx

    export_cnn(folder)
    data = mx.sym.var("data")
    parts = mx.sym.split(data, num_outputs=2, axis=1)
    out = mx.sym.FullyConnected(parts[1], num_hidden=2, name="fc") + parts[0].sum()
    split = json.loads(out.tojson())
    return [
        ("cnn", json.loads((folder / "cnn-symbol.json").read_text()), "1x3x8x8"),
        ("split", split, "2x4"),
    ]


@pytest.fixture(scope="module")
def graphs(tmp_path_factory) -> List[Tuple[str, Dict[str, Any], str]]:
    found = _small_graphs(tmp_path_factory.mktemp("graphs"))
    real = SHARED_DATA / "mobilefacenet-symbol.json"
    if real.is_file():
        found.append(("mobilefacenet", json.loads(real.read_text()), "1x3x112x112"))
    return found


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


# ------------------------------------------------------------------------- mutations

ODD_VALUES = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.sampled_from([0, 1, 2, 3, -1, 2**31, 2**63, 10**6]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=6),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({}),
    st.just([[0, 0, 0]]),
)


def _lists(value: Any) -> List[Any]:
    return [r for r in value if isinstance(r, list) and r] if isinstance(value, list) else []


def _refs(doc: Dict[str, Any]) -> List[List[Any]]:
    """Every reference still shaped like one (earlier mutations may have broken some)."""
    nodes = [n for n in doc["nodes"] if isinstance(n, dict)]
    return [r for n in nodes for r in _lists(n.get("inputs"))] + _lists(doc.get("heads"))


def _mutate(doc: Dict[str, Any], kind: str, pick: int, value: Any) -> None:
    nodes = doc["nodes"]
    node = nodes[pick % len(nodes)]
    refs = _refs(doc)
    if not isinstance(node.get("attrs", {}), dict):
        node["attrs"] = {}
    if kind == "ref" and refs:
        ref = refs[pick % len(refs)]
        ref[(pick // 7) % len(ref)] = value
    elif kind == "ref-output" and refs:
        ref = refs[pick % len(refs)]
        ref[1] = abs(value) if isinstance(value, int) and not isinstance(value, bool) else 1
    elif kind == "attr":
        attrs = node.setdefault("attrs", {})
        keys = sorted(attrs) or ["__shape__"]
        attrs[keys[(pick // 7) % len(keys)]] = value
    elif kind == "attr-text":
        attrs = node.setdefault("attrs", {})
        keys = sorted(attrs) or ["__shape__"]
        attrs[keys[(pick // 7) % len(keys)]] = str(value)
    elif kind == "attrs":
        node["attrs"] = value
    elif kind == "op":
        node["op"] = (
            value if not isinstance(value, str) else ["Custom", "NoSuchOp", value][pick % 3]
        )
    elif kind == "shape":
        node.setdefault("attrs", {})["__shape__"] = (
            f"({abs(hash(str(value))) % 10**6}, 100000, 100000)"
        )
    elif kind == "init":
        node.setdefault("attrs", {})["__init__"] = str(value)
    elif kind == "version":
        doc.setdefault("attrs", {})["mxnet_version"] = value
    elif kind == "drop-node" and len(nodes) > 1:
        del nodes[pick % len(nodes)]
    elif kind == "heads":
        doc["heads"] = value
    elif kind == "arg_nodes":
        doc["arg_nodes"] = value
    elif kind == "nest":  # spliced into the text (json.dumps itself would recurse)
        node["extra"] = f"__nest_{200 + pick % 3000}__"
    elif kind == "inputs":
        node["inputs"] = value


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "ref",
                "ref-output",
                "attr",
                "attr-text",
                "attrs",
                "op",
                "shape",
                "init",
                "version",
                "drop-node",
                "heads",
                "arg_nodes",
                "nest",
                "inputs",
            ]
        ),
        st.integers(min_value=0, max_value=10**6),
        ODD_VALUES,
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # CI sees the same examples each run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(which=st.integers(min_value=0, max_value=100), mutations=MUTATIONS)
def test_a_mutated_graph_never_kills_the_process_or_is_an_internal_error(
    graphs, worker, tmp_path_factory, which, mutations
):
    name, base, shape = graphs[which % len(graphs)]
    doc = copy.deepcopy(base)
    for kind, pick, value in mutations:
        _mutate(doc, kind, pick, value)
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / f"{name}-symbol.json"
    text = re.sub(
        r'"__nest_(\d+)__"',
        lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)),
        json.dumps(doc),
    )
    path.write_text(text)
    answer = worker.show(path, shape)
    assert "died" not in answer, f"the process died ({answer}) on {mutations}"
    assert not answer["internal"], (mutations, answer)
    assert "internal error" not in answer["last"], (mutations, answer)
    assert answer["code"] in (0, 1, 2), (mutations, answer)


def test_the_worker_reports_a_death_by_signal(tmp_path):
    """The harness can fail: a worker that a segmentation fault ends is reported."""
    crashing = (
        "import os, signal, sys\nsys.stdin.readline()\nos.kill(os.getpid(), signal.SIGSEGV)\n"
    )
    w = Worker(crashing)
    assert w.show(tmp_path / "any-symbol.json", "1x1") == {"died": -11}
