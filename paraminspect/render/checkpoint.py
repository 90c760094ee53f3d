"""Renderers of ``inspect``: a parameter file's arrays, totals and notes."""

from __future__ import annotations

from typing import Any, Dict

from rich.console import Console
from rich.text import Text

from paraminspect.render._common import (
    json_array,
    key_table,
    new_table,
    number,
    print_blocks,
    shape_text,
)
from paraminspect.render.hist import hist_block, hist_json
from paraminspect.render.params import array_block, stats_json
from paraminspect.stats import STAT_KEYS


def inspect_json(report: Any) -> Dict[str, Any]:
    """The JSON of ``paraminspect inspect`` (see README, "Checkpoints")."""
    t = report.totals
    arrays = []
    for row in report.rows:
        obj: Dict[str, Any] = {
            "key": row.key,
            "shape": list(row.shape),
            "dtype": row.dtype,
            "size": row.size,
            "bytes": row.bytes,
            "same_as": row.same_as,
            "constant": row.constant,
        }
        if row.data is not None:
            obj["data"] = json_array(row.data.values)
        if row.stats is not None:
            obj["stats"] = stats_json(row.stats)
        if row.hist is not None:
            obj["hist"] = hist_json(row.hist)
        if row.read_by is not None:
            obj["read_by"] = list(row.read_by)
        arrays.append(obj)
    return {
        "command": "inspect",
        "file": {"path": report.path, "size": report.file_size, "kind": report.kind},
        "arrays": arrays,
        "totals": {
            "arrays": t.arrays,
            "values": t.values,
            "bytes": t.bytes,
            "duplicates": t.duplicates,
            "unique_values": t.unique_values,
        },
        "notes": list(report.notes),
    }


def print_inspect(console: Console, report: Any) -> None:
    """The table view of an ``InspectReport``."""
    from paraminspect.reports.checkpoint import KIND_TEXT

    t = report.totals
    kind = KIND_TEXT.get(report.kind, report.kind)
    console.print(Text(f"{report.path} ({report.file_size:,} bytes): {kind}"), soft_wrap=True)
    with_readers = any(r.read_by is not None for r in report.rows)
    columns = ("shape", "dtype", "size", "bytes", "same as") + (
        ("read by",) if with_readers else ()
    )
    table = key_table(columns, ("shape", "size", "bytes"))
    if with_readers:  # the readers may wrap; the key beside them keeps its room
        table.columns[-1].no_wrap = False
        table.columns[-1].overflow = "fold"
    for row in report.rows:
        same = ""
        if row.same_as is not None:
            same = row.same_as + (" (constant)" if row.constant else "")
        cells = [row.key, shape_text(row.shape), row.dtype, f"{row.size:,}", f"{row.bytes:,}", same]
        if with_readers:
            cells.append(", ".join(row.read_by or ()) or "-")
        table.add_row(*cells)
    console.print(table)
    if any(r.stats is not None for r in report.rows):
        stats = new_table("statistics")
        stats.add_column("key", no_wrap=True)
        for key in STAT_KEYS:
            stats.add_column(key, justify="right", overflow="fold")
        for row in report.rows:
            s = row.stats
            cells = [number(getattr(s, k)) for k in STAT_KEYS[:-3]]
            cells += [f"{s.zeros:.2%}", f"{s.nan:,}", f"{s.inf:,}"]
            stats.add_row(row.key, *cells)
        console.print(stats)
    shown = f"{len(report.rows)} of {t.arrays} shown; " if len(report.rows) != t.arrays else ""
    console.print(
        Text(
            f"{shown}{t.arrays:,} arrays, {t.values:,} values, {t.bytes:,} bytes of data; "
            f"{t.duplicates} saved twice ({t.unique_values:,} unique values)"
        ),
        soft_wrap=True,
    )
    print_blocks(console, [array_block(row.data) for row in report.rows if row.data is not None])
    for note in report.notes:
        console.print(Text(f"note: {note}", style="italic"))


def print_inspect_report(console: Console, report: Any) -> None:
    """The table view of ``inspect``: the arrays, then each one's histogram (``--hist``)."""
    print_inspect(console, report)
    print_blocks(console, [hist_block(row.hist) for row in report.rows if row.hist is not None])
