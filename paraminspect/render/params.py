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
from paraminspect.reports.params import ArrayView, ModelInfo, ParamReport, ParamRow, Totals
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
            "layers": [
                {
                    "index": x.index,
                    "path": x.path or x.name,
                    "name": x.name,
                    "type": x.type,
                    "activation": x.activation,
                    "shares_with": x.shares_with,
                }
                for x in m.layers
            ],
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
    """One row per unique parameter. On a console narrower than :data:`NARROW`, columns
    that say nothing are left out (``dtype`` when every parameter is float32, ``grad_req``
    when every one is ``write``; the totals still split trainable from not) and a layer is
    shown by its path alone when the parameter's name already starts with its name, so
    the initializer keeps room for one line."""
    m = report.model
    state = "after the first forward pass" if m.forward else "before the first forward pass"
    seed = f", seed {m.seed}" if m.seed is not None else ""
    where = source_text(m.kind, m.source)
    title = f"{m.name} ({where}): input {shape_text(m.input_shape)}, {state}{seed}"
    table = new_table(title)
    rows = report.parameters
    narrow = width < NARROW
    columns = ["layer", "parameter", "shape", "dtype", "size", "grad_req", "init", "layers"]
    if narrow and all(row.dtype == "float32" for row in rows):
        columns.remove("dtype")
    if narrow and all(row.grad_req == "write" for row in rows):
        columns.remove("grad_req")
    for col in columns:
        table.add_column(
            col,
            justify="right" if col in ("shape", "size") else "left",
            overflow="fold",
            # Short fixed-width cells never break; the layer label and initializer may wrap.
            no_wrap=col not in ("layer", "init"),
        )
    for row in rows:
        layer = m.layers[row.owner]
        label = layer.label
        # the weight's name already says the block's (dense0_weight): the path is enough
        if narrow and row.name.startswith(layer.name + "_"):
            label = m.path_of(row.owner)
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
    """Statistics per parameter. Numbers never break across lines; on a console narrower
    than :data:`NARROW` they get 3 significant digits and the nan/inf columns are left out
    when every count is 0 (a warning names any parameter that has them)."""
    narrow = width < NARROW
    all_stats = [getattr(row, attr) for row in rows]
    keep_counts = not narrow or any(s is not None and (s.nan or s.inf) for s in all_stats)
    keys = STAT_KEYS if keep_counts else STAT_KEYS[:-2]
    digits = 3 if narrow else 4
    table = new_table(title)
    table.add_column("parameter", no_wrap=True)
    for key in keys:
        table.add_column(key, justify="right", no_wrap=True)
    for row, stats in zip(rows, all_stats):
        if stats is None:
            table.add_row(row.name, *(["-"] * len(keys)))
            continue
        cells: List[Any] = [number(getattr(stats, k), digits) for k in STAT_KEYS[:-3]]
        cells.append(f"{stats.zeros:.0%}" if narrow else f"{stats.zeros:.2%}")
        if keep_counts:
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
