"""Table and JSON renderers of a :class:`~paraminspect.reports.params.ParamReport`."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from paraminspect.render._common import (
    NARROW,
    array_text,
    compact_init,
    json_array,
    json_number,
    new_table,
    number,
    print_blocks,
    shape_text,
    source_text,
)
from paraminspect.render.hist import hist_block, hist_json
from paraminspect.reports.params import (
    ArrayView,
    LayerInfo,
    ModelInfo,
    ParamReport,
    ParamRow,
    Totals,
)
from paraminspect.stats import STAT_KEYS, TensorStats


def stats_json(stats: Optional[TensorStats]) -> Optional[Dict[str, Any]]:
    return None if stats is None else {k: json_number(v) for k, v in stats.as_dict().items()}


def param_json(row: ParamRow, model: ModelInfo) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "name": row.name,
        "shape": list(row.shape),
        "dtype": row.dtype,
        "size": row.size,
        "grad_req": row.grad_req,
        "init": row.init,
        "layers": [model.path_of(i) for i in row.layers],
    }
    for key, view in (("data", row.data), ("grad", row.grad)):
        if view is not None:
            out[key] = None if view.values is None else json_array(view.values)
            if view.note:
                out[f"{key}_note"] = view.note
    if row.stats is not None:
        out["stats"] = stats_json(row.stats)
    if row.grad_stats is not None:
        out["grad_stats"] = stats_json(row.grad_stats)
    if row.hist is not None or row.hist_note:
        out["hist"] = hist_json(row.hist)
        if row.hist_note:
            out["hist_note"] = row.hist_note
    return out


def layer_info_json(x: LayerInfo) -> Dict[str, Any]:
    """One layer of a report's model, as every command's JSON gives it."""
    return {
        "index": x.index,
        "path": x.path or x.name,
        "name": x.name,
        "type": x.type,
        "activation": x.activation,
        "shares_with": x.shares_with,
    }


def report_json(report: ParamReport) -> Dict[str, Any]:
    """The documented JSON schema of ``show`` (see README, "JSON output")."""
    m = report.model
    sub = selection_totals(report)
    return {
        "command": report.command,
        "model": {
            "name": m.name,
            "kind": m.kind,
            "source": m.source,
            "input_shape": list(m.input_shape),
            "forward": m.forward,
            "seed": m.seed,
            "layers": [layer_info_json(x) for x in m.layers],
        },
        "parameters": [param_json(r, m) for r in report.parameters],
        "totals": _totals_json(report.totals),
        "selection_totals": None if sub is None else _totals_json(sub),
        "sharing": [
            {"parameter": g.parameter, "layers": [m.path_of(i) for i in g.layers]}
            for g in report.sharing
        ],
        "notes": list(report.notes),
        "warnings": list(report.warnings),
    }


def param_table(report: ParamReport, width: int = NARROW) -> Table:
    """One row per unique parameter: its shape is what the table is for (it stays at every
    width, with the parameter's name); on a narrow console ``dtype`` and ``grad_req`` go
    first when every row says the same (the note says what), then ``layers``, ``init`` and
    the rest, and long layer labels and names fold onto two lines.

    ``width`` is unused (the table lays itself out at the console's width); it stays for
    callers that pass it."""
    m = report.model
    state = "after the first forward pass" if m.forward else "before the first forward pass"
    seed = f", seed {m.seed}" if m.seed is not None else ""
    where = source_text(m.kind, m.source)
    title = f"{m.name} ({where}): input {shape_text(m.input_shape)}, {state}{seed}"
    rows = report.parameters
    # a column whose every row says the same goes first (the note says what it says)
    uniform = [c for c in ("dtype", "grad_req") if len({getattr(r, c) for r in rows}) == 1]
    varying = [c for c in ("dtype", "grad_req") if c not in uniform]
    table = new_table(
        title,
        keep=("parameter", "shape", "size"),
        drop_first=(*uniform, "layers", "init", *varying),
        names=("layer", "parameter"),
    )
    columns = ["layer", "parameter", "shape", "dtype", "size", "grad_req", "init", "layers"]
    for col in columns:
        table.add_column(
            col,
            justify="right" if col in ("shape", "size") else "left",
            # Short fixed-width cells never break; the initializer may wrap.
            no_wrap=col != "init",
        )
    for row in rows:
        # the label (Gluon's path, with the block's name where it adds something) is the
        # same at every width: a narrow console folds it rather than shortening it
        label = m.layers[row.owner].label
        cells: Dict[str, Any] = {
            "layer": label,
            "parameter": row.name,
            "shape": shape_text(row.shape),
            "dtype": row.dtype,
            "size": f"{row.size:,}",
            "grad_req": row.grad_req,
            "init": compact_init(row.init),
            "layers": Text(
                ", ".join(m.path_of(i) for i in row.layers),
                style="magenta" if len(row.layers) > 1 else "",
            ),
        }
        table.add_row(*(cells[col] for col in columns))
    return table


def stats_table(rows: List[ParamRow], attr: str, title: str, width: int = NARROW) -> Table:
    """Statistics per parameter: mean, std and l2 stay at every width; numbers never break
    across lines. On a console narrower than :data:`NARROW` they get 3 significant digits;
    the nan/inf columns go first when every count is 0 (the note says so; a warning names
    any parameter that has them, and then they stay), then zeros, abs_max, max and min."""
    narrow = width < NARROW
    all_stats = [getattr(row, attr) for row in rows]
    keys = STAT_KEYS
    digits = 3 if narrow else 4
    clean = not any(s is not None and (s.nan or s.inf) for s in all_stats)
    table = new_table(
        title,
        keep=("parameter", "mean", "std", "l2") + (() if clean else ("nan", "inf")),
        drop_first=("nan", "inf", "zeros", "abs_max", "max", "min"),
        names=("parameter",),
    )
    table.add_column("parameter", no_wrap=True)
    for key in keys:
        table.add_column(key, justify="right", no_wrap=True)
    for row, stats in zip(rows, all_stats):
        if stats is None:
            table.add_row(row.name, *(["-"] * len(keys)))
            continue
        cells: List[Any] = [number(getattr(stats, k), digits) for k in STAT_KEYS[:-3]]
        cells.append(f"{stats.zeros:.0%}" if narrow else f"{stats.zeros:.2%}")
        cells += [Text(f"{n:,}", style="bold red" if n else "") for n in (stats.nan, stats.inf)]
        table.add_row(row.name, *cells)
    return table


def _totals_json(t: Totals) -> Dict[str, int]:
    return {
        "total": t.total,
        "unique": t.unique,
        "trainable": t.trainable,
        "non_trainable": t.non_trainable,
        "bytes": t.bytes,
    }


def selection_totals(report: ParamReport) -> Optional[Totals]:
    """The shown parameters' own totals when ``--layer``/``--select`` left some out, else
    None (the whole net's totals then describe exactly what is shown)."""
    import numpy as np

    rows = report.parameters
    if sum(r.size for r in rows) == report.totals.unique and len(rows) > 0:
        return None
    trainable = sum(r.size for r in rows if r.grad_req != "null")
    return Totals(
        total=sum(r.size * max(1, len(r.layers)) for r in rows),
        unique=sum(r.size for r in rows),
        trainable=trainable,
        non_trainable=sum(r.size for r in rows) - trainable,
        bytes=sum(r.size * np.dtype(r.dtype).itemsize for r in rows),
    )


def totals_table(report: ParamReport) -> Table:
    """The whole net's totals, and under a selection the selected parameters' subtotal
    (so the numbers never silently describe something other than the rows above)."""
    sub = selection_totals(report)
    table = new_table("totals" if sub is None else "totals: whole net and the selection")
    if sub is not None:
        table.add_column("of", justify="left")
    for col in ("total (each use)", "unique", "trainable", "non-trainable", "bytes"):
        table.add_column(col, justify="right")
    rows = [("whole net", report.totals)] + ([] if sub is None else [("selection", sub)])
    for label, t in rows:
        cells = [f"{t.total:,}", f"{t.unique:,}", f"{t.trainable:,}", f"{t.non_trainable:,}"]
        table.add_row(*([label] if sub is not None else []), *cells, f"{t.bytes:,}")
    return table


def sharing_table(report: ParamReport) -> Table | Text:
    if not report.sharing:
        return Text("sharing: none (every parameter belongs to one layer)")
    table = new_table("sharing map")
    table.add_column("parameter", no_wrap=True)
    table.add_column("used by layers")
    for g in report.sharing:
        table.add_row(g.parameter, ", ".join(report.model.label_of(i) for i in g.layers))
    return table


def array_block(view: ArrayView) -> Text:
    """One printed array (``--values``/``--grad``) under its label, or why there is none."""
    if view.values is None:
        return Text(f"{view.label}: {view.note}")
    shape = shape_text(view.values.shape) if view.values.ndim else "scalar"
    text = Text(f"{view.label}  {shape} {view.values.dtype.name}\n", style="bold")
    text.append(array_text(view.values))
    return text


def hist_blocks(rows: Iterable[ParamRow]) -> List[Text]:
    """The ``--hist`` drawings of ``rows`` (a line saying why for those without one)."""
    out = []
    for row in rows:
        if row.hist is not None:
            out.append(hist_block(row.hist))
        elif row.hist_note:
            out.append(Text(f"{row.name}: no histogram: {row.hist_note}"))
    return out


def array_blocks(rows: Iterable[ParamRow]) -> List[Text]:
    """The ``--values``/``--grad`` printouts of ``rows``."""
    return [array_block(v) for row in rows for v in (row.data, row.grad) if v is not None]


def print_hists(console: Console, rows: Iterable[ParamRow]) -> None:
    """The ``--hist`` drawings of ``rows``, after a blank line."""
    print_blocks(console, hist_blocks(rows))


def print_arrays_and_notes(
    console: Console, rows: Sequence[ParamRow], notes: Iterable[str], arrays: List[Text]
) -> None:
    """What follows a parameter report's tables: the arrays, the histograms, the notes."""
    print_blocks(console, arrays)
    print_hists(console, rows)
    for note in notes:
        console.print(Text(f"note: {note}", style="italic"))


def print_report(console: Console, report: ParamReport) -> None:
    """The table view of a :class:`ParamReport`."""
    console.print(param_table(report, console.width))
    if any(r.stats is not None for r in report.parameters):
        console.print(
            stats_table(list(report.parameters), "stats", "weight statistics", console.width)
        )
    if any(r.grad_stats is not None for r in report.parameters):
        console.print(
            stats_table(list(report.parameters), "grad_stats", "gradient statistics", console.width)
        )
    console.print(totals_table(report))
    console.print(sharing_table(report))
    print_arrays_and_notes(
        console, report.parameters, report.notes, array_blocks(report.parameters)
    )


def show_json(report: ParamReport) -> Dict[str, Any]:
    """The JSON of ``show``: the report and its log lines."""
    obj = report_json(report)
    obj["log"] = list(report.log)
    return obj
