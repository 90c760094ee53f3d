"""Plain frozen data that ``inspect`` and ``diff`` return and renderers read (no MXNet, no rich)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from paraminspect.reports._rich import RichReport
from paraminspect.reports.params import ArrayView, Histogram
from paraminspect.stats import TensorStats

KIND_TEXT = {
    "gluon": "Gluon save_parameters (structural keys: 0.weight, ...)",
    "module": "Module checkpoint (arg:/aux: prefixes)",
    "list": "plain list (mx.nd.save of a list; keys are positions)",
    "names": "named arrays",
    "empty": "no arrays",
    "spec": "a spec's freshly initialized parameters, keyed like save_parameters",
    "npz": "numpy .npz archive",
    "safetensors": "safetensors file",
    "onnx": "ONNX model (its initializers)",
}


@dataclass(frozen=True, eq=False)
class InspectRow:
    """One array of a parameter file."""

    key: str
    shape: Tuple[int, ...]
    dtype: str
    size: int
    bytes: int
    same_as: Optional[str] = None  # an earlier key with the same shape, dtype and bytes
    constant: bool = False  # at least two values, all equal (decided for every array)
    data: Optional[ArrayView] = None
    stats: Optional[TensorStats] = None
    hist: Optional[Histogram] = None  # --hist (no expected law: a file holds no initializer)
    read_by: Optional[Tuple[str, ...]] = None  # --symbol: 'node (Op slot)' per reading node
    kind: str = ""  # one of diagnose.kinds.KINDS: weight, bias, norm, running, other
    layer: str = ""  # the layer it belongs to (name prefix, or the graph's op with --symbol)
    measured: Any = None  # diagnose.measures.ArrayStats: what --sort orders by


@dataclass(frozen=True)
class LayerGroup:
    """``--group layer``: one layer's arrays (keys in the shown order) and their totals."""

    layer: str
    keys: Tuple[str, ...]
    size: int
    bytes: int


@dataclass(frozen=True)
class FileTotals:
    """Counts over every array of the file (not only the selected ones)."""

    arrays: int
    values: int
    bytes: int  # data bytes of all arrays
    duplicates: int  # arrays equal to an earlier one
    unique_values: int  # values with each duplicate counted once


@dataclass(frozen=True, eq=False)
class InspectReport(RichReport):
    """What ``paraminspect inspect FILE`` reports."""

    path: str
    file_size: int
    kind: str  # a key of KIND_TEXT
    rows: Tuple[InspectRow, ...]
    totals: FileTotals
    notes: Tuple[str, ...] = ()
    overview: Any = None  # diagnose.overview.Overview of every array in the file
    findings: Tuple[Any, ...] = ()  # diagnose.findings.Finding, over every array in the file
    groups: Tuple[LayerGroup, ...] = ()  # --group layer, in the shown order
    sort: Optional[str] = None  # --sort key (None: file order)
    top: Optional[int] = None  # --top N (rows, or layers with --group)
    symbol: Optional[str] = None  # --symbol GRAPH the kinds and layers were read from
    fail_on: Optional[str] = None  # --fail-on findings
    index: bool = False  # --index: from the file's index alone (no statistics, no findings)

    @property
    def failure(self) -> Optional[str]:
        """With ``--fail-on findings``, any finding exits 1 with a count."""
        if self.fail_on == "findings" and self.findings:
            n = len(self.findings)
            return f"{n} finding{'s' if n != 1 else ''} (--fail-on findings)"
        return None


@dataclass(frozen=True)
class DiffRow:
    """One key of a diff. ``status``: equal, changed, dtype, shape, only_a, only_b.

    ``max_abs`` = max |a - b|; ``rel_l2`` = ||a - b|| / ||a|| (inf when a is 0 and b is not);
    ``cosine`` = a.b / (||a|| ||b||) (None when either is all zeros); all in float64, and
    None when the shapes differ or the key is on one side only.
    """

    key: str
    status: str
    shape_a: Optional[Tuple[int, ...]]
    shape_b: Optional[Tuple[int, ...]]
    dtype_a: Optional[str]
    dtype_b: Optional[str]
    max_abs: Optional[float] = None
    rel_l2: Optional[float] = None
    cosine: Optional[float] = None
    key_b: Optional[str] = None  # B's key when it differs from ``key`` (A's): see the notes


@dataclass(frozen=True)
class DiffSide:
    """One side of a diff: a parameter file or a spec's fresh parameters."""

    label: str  # the argument as given
    kind: str  # a key of KIND_TEXT
    arrays: int


@dataclass(frozen=True, eq=False)
class DiffReport(RichReport):
    """What ``paraminspect diff A B`` reports."""

    a: DiffSide
    b: DiffSide
    rows: Tuple[DiffRow, ...]
    notes: Tuple[str, ...] = ()
    log: Tuple[str, ...] = ()
    strict: bool = False  # --exit-code: differences fail the command, like git diff
    shown: Optional[Tuple[DiffRow, ...]] = None  # --sort/--top: the rows to list (None: rows)
    sort: Optional[str] = None  # --sort key

    @property
    def listed(self) -> Tuple[DiffRow, ...]:
        """The rows to list, in order (the summary and the outcome count every row)."""
        return self.rows if self.shown is None else self.shown

    @property
    def failure(self) -> Optional[str]:
        """With ``strict``, differences exit 1 with no message (the summary says it)."""
        return "" if self.strict and self.differ else None

    def count(self, *statuses: str) -> int:
        return sum(1 for r in self.rows if r.status in statuses)

    @property
    def differ(self) -> bool:
        return any(r.status != "equal" for r in self.rows)

    @property
    def summary(self) -> str:
        n = len(self.rows)
        if not self.differ:
            return f"no differences: {n} key{'s' if n != 1 else ''} compared, all equal"
        parts = [
            f"{self.count('changed')} changed",
            f"{self.count('shape', 'dtype')} shape/dtype changed",
            f"{self.count('only_a')} only in A",
            f"{self.count('only_b')} only in B",
            f"{self.count('equal')} equal",
        ]
        return f"differences: {n} keys compared: " + ", ".join(parts)
