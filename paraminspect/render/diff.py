"""Renderers of ``diff``: two parameter sets compared key by key."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

from rich.console import Console

from paraminspect.render._common import json_number, key_table, number, say, shape_text

DIFF_STATUS_TEXT = {
    "equal": "equal",
    "changed": "changed",
    "dtype": "dtype changed",
    "shape": "shape changed",
    "only_a": "only in A",
    "only_b": "only in B",
}


def diff_json(report: Any) -> Dict[str, Any]:
    """The JSON of ``paraminspect diff`` (see README, "Checkpoints")."""

    def side(s: Any) -> Dict[str, Any]:
        return {"label": s.label, "kind": s.kind, "arrays": s.arrays}

    rows = [
        {
            "key": r.key,
            **({"key_b": r.key_b} if r.key_b is not None else {}),
            "status": r.status,
            "shape_a": None if r.shape_a is None else list(r.shape_a),
            "shape_b": None if r.shape_b is None else list(r.shape_b),
            "dtype_a": r.dtype_a,
            "dtype_b": r.dtype_b,
            "max_abs": json_number(r.max_abs),
            "rel_l2": json_number(r.rel_l2),
            "cosine": json_number(r.cosine),
        }
        for r in report.listed
    ]
    counts = {s: report.count(s) for s in DIFF_STATUS_TEXT}
    return {
        "command": "diff",
        "a": side(report.a),
        "b": side(report.b),
        "sort": report.sort,
        "keys": rows,
        "counts": counts,
        "differ": report.differ,
        "summary": report.summary,
        "notes": list(report.notes),
        "log": list(report.log),
    }


def _opt(x: Optional[float]) -> str:
    return "-" if x is None else ("inf" if math.isinf(x) else number(x))


def print_diff(console: Console, report: Any) -> None:
    """The table view of a ``DiffReport``."""
    from paraminspect.reports.checkpoint import KIND_TEXT

    for name, side in (("A", report.a), ("B", report.b)):
        kind = KIND_TEXT.get(side.kind, side.kind)
        say(console, f"{name}: {side.label} ({kind})")
    table = key_table(
        ("status", "shape", "dtype", "max_abs", "rel_l2", "cosine"),
        ("shape", "max_abs", "rel_l2", "cosine"),
        # how far each array moved is what diff is for
        keep=("status", "max_abs", "rel_l2"),
        drop_first=("dtype", "cosine", "shape"),
    )
    for r in report.listed:
        # a key on one side only shows that side's shape and dtype
        sa = None if r.shape_a is None else shape_text(r.shape_a)
        sb = None if r.shape_b is None else shape_text(r.shape_b)
        sa, sb = sa or sb, sb or sa
        shape = sa if sa == sb else f"{sa} -> {sb}"
        da, db = r.dtype_a or r.dtype_b, r.dtype_b or r.dtype_a
        dtype = da if da == db else f"{da} -> {db}"
        table.add_row(
            r.key,
            DIFF_STATUS_TEXT[r.status],
            shape,
            dtype,
            _opt(r.max_abs),
            _opt(r.rel_l2),
            _opt(r.cosine),
        )
    console.print(table)
    for note in report.notes:
        say(console, f"note: {note}", "italic")
    say(console, report.summary, "bold")
