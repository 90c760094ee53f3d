"""Renderers of ``inspect``: a parameter file's arrays, totals and notes."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from rich.console import Console
from rich.text import Text

from paraminspect.render._common import (
    json_array,
    json_number,
    key_table,
    new_table,
    number,
    print_blocks,
    say,
    shape_text,
)
from paraminspect.render.hist import hist_block, hist_json
from paraminspect.render.params import array_block, stats_json
from paraminspect.stats import STAT_KEYS

MEASURED_SORT_KEYS = ("l2", "abs_max", "std")  # --sort keys shown as a column of their own


def _json_value(x: Any) -> Any:
    """Evidence values for JSON: non-finite floats become null, containers recursively."""
    if isinstance(x, dict):
        return {str(k): _json_value(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_value(v) for v in x]
    return json_number(x)


def finding_json(finding: Any) -> Dict[str, Any]:
    return {
        "kind": finding.kind,
        "array": finding.array,
        "message": finding.message,
        "evidence": _json_value(finding.evidence),
    }


def overview_json(ov: Any) -> Dict[str, Any]:
    def counts(rows: Any) -> List[Dict[str, Any]]:
        return [
            {"label": r.label, "arrays": r.arrays, "values": r.values, "bytes": r.bytes}
            for r in rows
        ]

    return {
        "arrays": ov.arrays,
        "values": ov.values,
        "bytes": ov.bytes,
        "by_kind": counts(ov.by_kind),
        "by_dtype": counts(ov.by_dtype),
        "largest": [
            {"key": st.key, "shape": list(st.shape), "size": st.size, "bytes": st.nbytes}
            for st in ov.largest
        ],
    }


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
            "constant": None if report.index else row.constant,
            "kind": row.kind,
            "layer": row.layer,
        }
        if row.measured is not None and report.sort in MEASURED_SORT_KEYS:
            obj[report.sort] = json_number(getattr(row.measured, report.sort))
        if row.data is not None:
            obj["data"] = json_array(row.data.values)
        if row.stats is not None:
            obj["stats"] = stats_json(row.stats)
        if row.hist is not None:
            obj["hist"] = hist_json(row.hist)
        if row.read_by is not None:
            obj["read_by"] = list(row.read_by)
        arrays.append(obj)
    out: Dict[str, Any] = {
        "command": "inspect",
        "file": {"path": report.path, "size": report.file_size, "kind": report.kind},
        "symbol": report.symbol,
        "sort": report.sort,
        "top": report.top,
        "overview": overview_json(report.overview) if report.overview is not None else None,
        "arrays": arrays,
    }
    if report.groups:
        out["groups"] = [
            {"layer": g.layer, "keys": list(g.keys), "size": g.size, "bytes": g.bytes}
            for g in report.groups
        ]
    # --index read no value: no findings were looked for (null, not an empty list)
    out["findings"] = None if report.index else [finding_json(f) for f in report.findings]
    out["totals"] = {
        "arrays": t.arrays,
        "values": t.values,
        "bytes": t.bytes,
        "duplicates": t.duplicates,
        "unique_values": t.unique_values,
    }
    out["notes"] = list(report.notes)
    return out


def print_overview(console: Console, ov: Any, largest: bool = True) -> None:
    """Counts by kind and by dtype, then (with ``largest``) the largest arrays."""
    table = new_table("overview")
    for col in ("", "arrays", "values", "bytes"):
        table.add_column(col, justify="right" if col else "left", no_wrap=True)
    for row in ov.by_kind:
        table.add_row(row.label, f"{row.arrays:,}", f"{row.values:,}", f"{row.bytes:,}")
    table.add_section()
    for row in ov.by_dtype:
        table.add_row(row.label, f"{row.arrays:,}", f"{row.values:,}", f"{row.bytes:,}")
    table.add_section()
    table.add_row("total", f"{ov.arrays:,}", f"{ov.values:,}", f"{ov.bytes:,}")
    console.print(table)
    if largest and ov.largest:
        biggest = key_table(("shape", "bytes"), ("shape", "bytes"))
        biggest.title = f"largest {len(ov.largest)}"
        for st in ov.largest:
            biggest.add_row(st.key, shape_text(st.shape), f"{st.nbytes:,}")
        console.print(biggest)


def print_findings(console: Console, findings: Any) -> None:
    """Each finding on its own line, its kind first; or that there are none."""
    if not findings:
        console.print(Text("findings: none"))
        return
    n = len(findings)
    console.print(Text(f"findings ({n}):", style="bold"))
    for f in findings:
        say(console, f"  {f.kind}: {f.message}", hang="    ")


def _array_columns(report: Any) -> List[Tuple[str, bool]]:
    """(name, kept) of the arrays table's columns after ``key``, in order: a kept column
    is one this view of the file exists for (the shapes and sizes; the --sort measure;
    with --stats mean and std; with --symbol the nodes that read each array)."""
    stats = any(r.stats is not None for r in report.rows)
    cols: List[Tuple[str, bool]] = [
        ("shape", True),
        ("dtype", False),
        ("size", True),
        ("bytes", False),
    ]
    if report.sort in MEASURED_SORT_KEYS and not stats:
        cols.append((report.sort, True))
    if stats:
        cols += [(k, k not in DROP_FIRST or k == report.sort) for k in STAT_KEYS]
    if not report.index and (any(r.same_as is not None for r in report.rows) or not stats):
        cols.append(("same as", False))
    if any(r.read_by is not None for r in report.rows):
        cols.append(("read by", True))  # --symbol: the op nodes that take the array
    return cols


def _cell(row: Any, col: str) -> str:
    if col == "shape":
        return shape_text(row.shape)
    if col == "dtype":
        return row.dtype
    if col == "size":
        return f"{row.size:,}"
    if col == "bytes":
        return f"{row.bytes:,}"
    if col == "read by":
        return ", ".join(row.read_by or ()) or "-"
    if col == "same as":
        if row.same_as is None:
            return ""
        return row.same_as + (" (constant)" if row.constant else "")
    if col in STAT_KEYS:
        s = row.stats
        if col == "zeros":
            return f"{s.zeros:.2%}"
        if col in ("nan", "inf"):
            return f"{getattr(s, col):,}"
        return number(getattr(s, col))
    return number(float(getattr(row.measured, col)))


def _arrays_table(report: Any, columns: Sequence[Tuple[str, bool]]) -> Any:
    right = ("shape", "size", "bytes", *STAT_KEYS, *MEASURED_SORT_KEYS)
    names = [name for name, _ in columns]
    how = []
    if report.sort is not None:
        how.append(f"sorted by {report.sort}")
    table = key_table(
        names,
        right,
        title=f"arrays ({', '.join(how)})" if how else "arrays",
        keep=[name for name, kept in columns if kept],
        drop_first=[name for name in DROP_FIRST if name in names],
        names=("key", "read by"),
    )
    rows = {r.key: r for r in report.rows}
    for group in report.groups or (None,):
        keys = [r.key for r in report.rows] if group is None else group.keys
        if group is not None:
            if group is not report.groups[0]:
                table.add_section()
            totals = {"size": f"{group.size:,}", "bytes": f"{group.bytes:,}"}
            header = Text(f"layer {group.layer}", style="bold")
            table.add_row(header, *(totals.get(c, "") for c in names))
        for key in keys:
            row = rows[key]
            table.add_row(("  " if group else "") + row.key, *(_cell(row, c) for c in names))
    return table


# the order columns go in when the table does not fit: the least telling first
DROP_FIRST = ("inf", "nan", "zeros", "min", "max", "bytes", "dtype", "l2", "same as")


def print_arrays(console: Console, report: Any) -> None:
    """The one table of the shown arrays (with --stats, their statistics beside them).

    Columns that do not fit the console's width go, named in a note, rather than any number
    being cut; long keys fold onto two lines or are shortened in the middle.
    """
    console.print(_arrays_table(report, _array_columns(report)))


def print_inspect(console: Console, report: Any) -> None:
    """The table view of an ``InspectReport``: overview, arrays, totals, findings, notes."""
    from paraminspect.reports.checkpoint import KIND_TEXT

    t = report.totals
    kind = KIND_TEXT.get(report.kind, report.kind)
    say(console, f"{report.path} ({report.file_size:,} bytes): {kind}")
    if report.overview is not None:
        console.print()  # a heading gets a blank line above it, as every table title does
        # --sort size lists the largest arrays already: the overview does not repeat them
        print_overview(
            console, report.overview, largest=report.sort != "size" or bool(report.groups)
        )
    print_arrays(console, report)
    how = []
    if report.sort is not None:
        how.append(f"sorted by {report.sort}")
    if report.groups:
        how.append(f"{len(report.groups)} layer{'s' if len(report.groups) != 1 else ''}")
    shown = f"{len(report.rows)} of {t.arrays} shown; " if len(report.rows) != t.arrays else ""
    how_text = f" ({', '.join(how)})" if how else ""
    twice = f"; {t.duplicates} saved twice ({t.unique_values:,} unique values)"
    say(
        console,
        f"{shown}{t.arrays:,} arrays{how_text}, {t.values:,} values, {t.bytes:,} bytes of "
        f"data{'' if report.index else twice}",
    )
    if report.overview is not None:
        console.print()
        print_findings(console, report.findings)
    print_blocks(console, [array_block(row.data) for row in report.rows if row.data is not None])
    for note in report.notes:
        say(console, f"note: {note}", "italic")


def print_inspect_report(console: Console, report: Any) -> None:
    """The table view of ``inspect``: the arrays, then each one's histogram (``--hist``)."""
    print_inspect(console, report)
    print_blocks(console, [hist_block(row.hist) for row in report.rows if row.hist is not None])
