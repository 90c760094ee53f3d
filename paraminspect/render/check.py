"""Tables and JSON of initializer ``--check`` results."""

from __future__ import annotations

from typing import Any, Dict

from rich.table import Table
from rich.text import Text

from paraminspect.render._common import json_number, new_table


def check_json(result: Any) -> Dict[str, Any]:
    """One parameter's ``--check`` result (a :class:`paraminspect.init.theory.CheckResult`)."""
    return {
        "parameter": result.parameter,
        "shape": list(result.shape),
        "initializer": result.initializer,
        "law": result.law,
        "fan_in": result.fan_in,
        "fan_out": result.fan_out,
        "status": result.status,
        "passed": result.passed,
        "checks": [
            {"name": i.name, "expected": i.expected, "observed": i.observed, "passed": i.passed}
            for i in result.items
        ],
        "ks": None
        if result.ks_statistic is None
        else {
            "statistic": json_number(result.ks_statistic),
            "pvalue": json_number(result.ks_pvalue),
        },
        "note": result.note,
    }


LAW_WIDTH = 22  # the law column's least width: a phrase in a few lines, not a word a line


def check_table(results: Any) -> Table:
    """Expected vs observed for every check of every parameter, with pass/fail."""
    # what failed and what was seen stay at every width; fan-in/out and the law go first
    table = new_table(
        "check against the initializer's theory",
        keep=("parameter", "check", "expected", "observed", "result"),
        drop_first=("fan_out", "fan_in", "law"),
        names=("parameter",),
    )
    laws = [len(r.law if r.items else r.initializer) for r in results]
    for col in ("parameter", "law", "fan_in", "fan_out", "check", "expected", "observed"):
        table.add_column(
            col,
            justify="right" if col.startswith("fan") else "left",
            overflow="fold",
            no_wrap=col == "parameter",
            # a law is a phrase: it gets room for whole lines or goes
            min_width=min(LAW_WIDTH, max(laws, default=3)) if col == "law" else None,
        )
    table.add_column("result", no_wrap=True)
    for r in results:
        first = True
        items = r.items or ()
        if not items:
            table.add_row(r.parameter, r.initializer, "-", "-", "-", "-", r.note, "skip")
            continue
        for item in items:
            table.add_row(
                r.parameter if first else "",
                r.law if first else "",
                ("-" if r.fan_in is None else f"{r.fan_in:,}") if first else "",
                ("-" if r.fan_out is None else f"{r.fan_out:,}") if first else "",
                item.name,
                item.expected,
                item.observed,
                Text("pass", style="green") if item.passed else Text("FAIL", style="bold red"),
            )
            first = False
    return table
