"""The shape of the house: no import cycles, planning once per command, one render path."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

import paraminspect.model.sources.spec as spec_source

PACKAGE = Path(__file__).resolve().parents[1] / "paraminspect"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> Dict[str, Set[str]]:
    """Module -> the package modules it imports, at module level or inside functions
    (imports under ``if TYPE_CHECKING:`` never run, so they do not count)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(node)
            for branch in ast.walk(tree)
            if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
            for node in ast.walk(branch)
        }
        deps: Set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module in files:
                    deps.add(node.module)
                deps |= {f"{node.module}.{a.name}" for a in node.names} & set(files)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names} & set(files)
        graph[name] = deps - {name}
    return graph


def find_cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    state: Dict[str, int] = {}
    stack: List[str] = []
    cycles: List[List[str]] = []

    def visit(u: str) -> None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                cycles.append([*stack[stack.index(v) :], v])
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u)
    return cycles


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert "paraminspect.model.plan" in graph  # the walk found the package
    assert find_cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_modules_stay_small_and_unprefixed():
    # keyed by path: two modules may share a name (model/graph.py, diagnose/graph.py)
    sizes = {str(p): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    # actions/train.py (716 lines) is now a package; the largest left are under 450
    assert max(sizes.values()) <= 475, max(sizes.items(), key=lambda kv: kv[1])
    flat = {p.stem for p in PACKAGE.glob("*.py")}
    for prefix in ("report_", "render_", "checkpoint_", "edit_"):
        assert not [s for s in flat if s.startswith(prefix)]


@pytest.fixture
def plans(monkeypatch):
    """Counts every planning of a spec."""
    calls: List[str] = []
    real = spec_source.make_plan

    def counting(loaded):
        calls.append(loaded.source)
        return real(loaded)

    monkeypatch.setattr(spec_source, "make_plan", counting)
    return calls


PLANNED_ONCE = {
    "show": ["show"],
    "show-shapes-only": ["show", "--shapes-only"],
    "check": ["check"],
    "init": ["init", "--method", "xavier", "--seed", "1"],
    "set": ["set", "--select", "dense0_weight", "--add", "1"],
    "run": ["run", "chapter4_2", "--select", "dense0_weight"],
    "show-check": ["show", "--check"],
    "grad": ["grad", "shared", "--loss", "l2", "--seed", "1"],
    "summary": ["summary", "--seed", "1"],
    "train": ["train", "--epochs", "1", "--samples", "32", "--seed", "1"],
}


@pytest.mark.parametrize("command", list(PLANNED_ONCE))
def test_each_command_plans_its_spec_once(cli, plans, command):
    r = cli(*PLANNED_ONCE[command])
    assert r.exit_code == 0, r.output
    assert len(plans) == 1, plans


def test_diff_plans_each_spec_side_once(cli, plans):
    r = cli("diff", "mlp", "shared", "--seed", "1")
    assert r.exit_code == 0, r.output
    assert plans == ["builtin:mlp", "builtin:shared"]


INF_SPEC = """\
input: {shape: [2, 4]}
init: {method: normal, sigma: 1.0e+30}
layers:
  - {units: 3}
  - {units: 3}
  - {units: 2}
"""


def _json_and_warnings(output: str):
    import json

    lines = output.splitlines()
    end = max(i for i, line in enumerate(lines) if line == "}")
    return json.loads("\n".join(lines[: end + 1])), [
        line for line in lines[end + 1 :] if line.startswith("warning:")
    ]


def test_grad_prints_the_numeric_warnings_show_prints(cli, tmp_path):
    spec = tmp_path / "inf.yaml"
    spec.write_text(INF_SPEC)
    r = cli("grad", str(spec), "--select", "dense2_weight", "--seed", "1", "--format", "json")
    assert r.exit_code == 0, r.output
    data, warnings = _json_and_warnings(r.output)
    g = data["parameters"][0]["grad_stats"]
    # The last layer's weight gradient is the previous layer's output, which overflows
    # float32 (1e30 * 1e30 weights): none of its 6 entries is finite.
    assert g["nan"] + g["inf"] == 6
    assert warnings == [
        f"warning: dense2_weight gradient: {g['nan']} NaN and {g['inf']} Inf of 6 entries"
    ]


def test_init_prints_the_numeric_warnings_show_prints(cli, tmp_path):
    spec = tmp_path / "inf.yaml"
    spec.write_text(INF_SPEC)
    args = ("--select", "dense0_weight", "--stats", "--seed", "2", "--format", "json")
    r = cli("init", str(spec), "--method", "normal", "--param", "sigma=3e38", *args)
    assert r.exit_code == 0, r.output
    data, warnings = _json_and_warnings(r.output)
    st = data["parameters"][0]["stats"]
    # N(0, 3e38) overflows float32 (max 3.4e38) whenever |z| > 1.13: about a quarter of draws
    assert st["inf"] > 0
    assert warnings == [f"warning: dense0_weight values: 0 NaN and {st['inf']} Inf of 12 entries"]
