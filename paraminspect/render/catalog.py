"""``init --list``: the initializer catalog as a table and as JSON."""

from __future__ import annotations

from typing import Any, Dict, List

from rich.console import Console
from rich.table import Table

from paraminspect.render._common import new_table

FORMULA_WIDTH = 28  # init --list keeps this many columns for a formula's lines


def catalog_table(methods: Any) -> Table:
    """``init --list``: every initializer, its parameters with defaults, and its formula."""
    # the formula is what the list is for: it keeps room for whole lines, and the MXNet
    # class goes first
    table = new_table(
        "initializers (paraminspect init --method NAME --param KEY=VALUE)",
        keep=("method", "parameters (default)", "formula"),
        drop_first=("MXNet class",),
    )
    for col in ("method", "MXNet class", "parameters (default)", "formula", "notes"):
        table.add_column(
            col,
            overflow="fold",
            no_wrap=col == "method",
            min_width=FORMULA_WIDTH if col == "formula" else None,
        )
    for m in methods:
        params = []
        for p in m.params:
            default = f"{p.default:g}" if p.kind == "float" else str(p.default)
            choices = f" ({'|'.join(p.choices)})" if p.choices else ""
            params.append(f"{p.name}={default}{choices}")
        names = m.name + (f" ({', '.join(m.aliases)})" if m.aliases else "")
        notes = "; ".join(
            x
            for x in (
                ("2-D or more only" if m.weight_only and m.name != "bilinear" else ""),
                m.notes,
            )
            if x
        )
        table.add_row(names, m.mxnet_class, "\n".join(params) or "-", m.formula, notes or "-")
    return table


def catalog_json(methods: Any) -> List[Dict[str, Any]]:
    return [
        {
            "method": m.name,
            "aliases": list(m.aliases),
            "mxnet_class": m.mxnet_class,
            "formula": m.formula,
            "weight_only": m.weight_only,
            "notes": m.notes,
            "params": [
                {
                    "name": p.name,
                    "type": p.kind,
                    "default": p.default,
                    "choices": list(p.choices) or None,
                    "minimum": p.minimum,
                }
                for p in m.params
            ],
        }
        for m in methods
    ]


def print_catalog(console: Console, report: Any) -> None:
    console.print(catalog_table(report.methods))


def catalog_report_json(report: Any) -> List[Dict[str, Any]]:
    return catalog_json(report.methods)
