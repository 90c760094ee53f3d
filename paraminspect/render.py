"""Reports -> rich tables or JSON. One renderer per ``--format``; both read the same data."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from paraminspect.report import ArrayView, Histogram, ParamReport, ParamRow
from paraminspect.stats import STAT_KEYS, TensorStats

FORMATS = ("table", "json")

# --------------------------------------------------------------------------- shared bits


def shape_text(shape: Iterable[int]) -> str:
    """``(256, 20)``, ``(10,)`` exactly as MXNet/numpy print shapes."""
    return str(tuple(shape))


def number(x: float, digits: int = 4) -> str:
    """A statistic for a table cell: ``digits`` significant digits (JSON has them all)."""
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    if math.isnan(x):
        return "nan"
    return f"{x:.{digits}g}"


NARROW = 100  # below this many columns, statistics tables drop a digit and empty columns


def array_text(values: np.ndarray) -> str:
    """Print an array as MXNet does (``str(nd.asnumpy())``): numpy's defaults, so big
    arrays are summarized with ``...`` and the digits match the book's printouts."""
    with np.printoptions(
        threshold=1000, edgeitems=3, precision=8, linewidth=75, suppress=False, floatmode="maxprec"
    ):
        return np.array2string(values, separator=" ") if values.ndim else str(values)


def compact_init(description: str) -> str:
    """``xavier(rnd_type=uniform, factor_type=avg, magnitude=3)`` -> ``xavier(uniform, avg,
    3)`` for narrow table cells; JSON keeps the full description."""
    return re.sub(r"\b[a-z_]+=", "", description)


def json_number(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def json_array(values: np.ndarray) -> Any:
    """Nested lists; NaN/Inf become null (JSON has no spelling for them)."""
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        obj = values.astype(object)
        obj[~np.isfinite(values)] = None
        return obj.tolist()
    return values.tolist()


def stats_json(stats: Optional[TensorStats]) -> Optional[Dict[str, Any]]:
    return None if stats is None else {k: json_number(v) for k, v in stats.as_dict().items()}


# --------------------------------------------------------------------------- JSON


def param_json(row: ParamRow) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "name": row.name,
        "shape": list(row.shape),
        "dtype": row.dtype,
        "size": row.size,
        "grad_req": row.grad_req,
        "init": row.init,
        "layers": list(row.layers),
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


HIST_MARKS = " ▁▂▃▄▅▆▇█"  # an empty bin is a blank, the fullest bin of a row the top


def hist_strip(counts: Sequence[int]) -> str:
    """A histogram in one line: one character per bin, its height relative to the fullest
    bin (any non-empty bin shows at least the lowest mark)."""
    top = max(counts, default=0)
    if top == 0:
        return " " * len(counts)
    steps = len(HIST_MARKS) - 1
    return "".join(HIST_MARKS[0 if c == 0 else max(1, round(c / top * steps))] for c in counts)


def hist_line_cells(low: float, high: float, counts: Sequence[int], zeros: float) -> List[Any]:
    """The ``min``, ``max``, ``bins`` and ``zeros`` cells of a one-line histogram row
    (``train --hist``, ``summary --hist``)."""
    strip = Text("|" + hist_strip(counts) + "|", no_wrap=True)
    return [number(low), number(high), strip, f"{zeros:.1%}"]


def hist_json(h: Optional[Histogram]) -> Optional[Dict[str, Any]]:
    """``--hist`` as JSON: ``edges`` (bins + 1), ``counts``, ``expected`` (or null)."""
    if h is None:
        return None
    return {
        "of": h.of,
        "label": h.label,
        "edges": list(h.edges),
        "counts": list(h.counts),
        "expected": None if h.expected is None else list(h.expected),
        "law": h.law,
        "note": h.note,
        "nonfinite": h.nonfinite,
    }


def report_json(report: ParamReport) -> Dict[str, Any]:
    """The documented JSON schema of ``show`` (see README, "JSON output")."""
    m = report.model
    return {
        "command": report.command,
        "model": {
            "name": m.name,
            "source": m.source,
            "input_shape": list(m.input_shape),
            "forward": m.forward,
            "seed": m.seed,
            "layers": [
                {
                    "index": x.index,
                    "name": x.name,
                    "type": x.type,
                    "activation": x.activation,
                    "shares_with": x.shares_with,
                }
                for x in m.layers
            ],
        },
        "parameters": [param_json(r) for r in report.parameters],
        "totals": {
            "total": report.totals.total,
            "unique": report.totals.unique,
            "trainable": report.totals.trainable,
            "non_trainable": report.totals.non_trainable,
            "bytes": report.totals.bytes,
        },
        "sharing": [{"parameter": g.parameter, "layers": list(g.layers)} for g in report.sharing],
        "notes": list(report.notes),
        "warnings": list(report.warnings),
    }


def print_json(console: Console, obj: Any) -> None:
    """Write JSON straight to the console's file: no wrapping, no highlighting."""
    console.file.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    console.file.flush()


# --------------------------------------------------------------------------- tables


def _layer_label(report: ParamReport, index: int) -> str:
    return f"{index} ({report.model.layers[index].name})"


def new_table(title: str) -> Table:
    """The house style: a light rule under the header, no outer padding, folding cells."""
    return Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1)
    )


def key_table(columns: Sequence[str], right: Sequence[str]) -> Table:
    """A table of a file's arrays: a ``key`` column, then ``columns`` (``right`` ones
    right-aligned). Long Module keys fold; the numbers beside them are never cut."""
    table = new_table("")
    table.add_column("key", overflow="fold")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    return table


def param_table(report: ParamReport, width: int = NARROW) -> Table:
    """One row per unique parameter. On a console narrower than :data:`NARROW`, columns
    that say nothing are left out (``dtype`` when every parameter is float32, ``grad_req``
    when every one is ``write``; the totals still split trainable from not) and a layer is
    shown by its index alone when the parameter's name already starts with its name, so
    the initializer keeps room for one line."""
    m = report.model
    state = "after the first forward pass" if m.forward else "before the first forward pass"
    seed = f", seed {m.seed}" if m.seed is not None else ""
    title = f"{m.name} ({m.source}): input {shape_text(m.input_shape)}, {state}{seed}"
    table = new_table(title)
    table.min_width = min(len(title), width)  # the title on one line when the console allows
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
        layer = report.model.layers[row.owner]
        label = _layer_label(report, row.owner)
        if narrow and row.name.startswith(layer.name + "_"):
            label = str(row.owner)
        cells: Dict[str, Any] = {
            "layer": label,
            "parameter": row.name,
            "shape": shape_text(row.shape),
            "dtype": row.dtype,
            "size": f"{row.size:,}",
            "grad_req": row.grad_req,
            "init": compact_init(row.init),
            "layers": Text(
                ", ".join(str(i) for i in row.layers),
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


def totals_table(report: ParamReport) -> Table:
    t = report.totals
    table = new_table("totals")
    for col in ("total (each use)", "unique", "trainable", "non-trainable", "bytes"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{t.total:,}", f"{t.unique:,}", f"{t.trainable:,}", f"{t.non_trainable:,}", f"{t.bytes:,}"
    )
    return table


def sharing_table(report: ParamReport) -> Table | Text:
    if not report.sharing:
        return Text("sharing: none (every parameter belongs to one layer)")
    table = new_table("sharing map")
    table.add_column("parameter", no_wrap=True)
    table.add_column("used by layers")
    for g in report.sharing:
        table.add_row(g.parameter, ", ".join(_layer_label(report, i) for i in g.layers))
    return table


def array_block(view: ArrayView) -> Text:
    """One printed array (``--values``/``--grad``) under its label, or why there is none."""
    if view.values is None:
        return Text(f"{view.label}: {view.note}")
    shape = shape_text(view.values.shape) if view.values.ndim else "scalar"
    text = Text(f"{view.label}  {shape} {view.values.dtype.name}\n", style="bold")
    text.append(array_text(view.values))
    return text


HIST_WIDTH = 32  # characters of the longest bar
EIGHTHS = " ▏▎▍▌▋▊▉"
EXPECTED_MARK = "┃"


def hist_bar(count: float, expected: Optional[float], scale: float) -> Text:
    """A bar of ``count`` (eighth-block precision) with the expected count marked by ┃."""
    cells = [" "] * HIST_WIDTH
    length = count / scale * HIST_WIDTH if scale > 0 else 0.0
    full = int(length)
    for i in range(min(full, HIST_WIDTH)):
        cells[i] = "█"
    if full < HIST_WIDTH:
        cells[full] = EIGHTHS[int((length - full) * 8)] if full < length else " "
    text = Text("".join(cells), style="cyan")
    if expected is not None and scale > 0:
        mark = min(HIST_WIDTH - 1, round(expected / scale * HIST_WIDTH))
        text = Text()
        text.append("".join(cells[:mark]), style="cyan")
        text.append(EXPECTED_MARK, style="bold yellow")
        text.append("".join(cells[mark + 1 :]), style="cyan")
    return text


def hist_block(h: Histogram) -> Text:
    """One line per bin: the bin's range, a bar, the count, and the expected count."""
    n = h.total
    what = "gradient entries" if h.of == "grad" else "values"
    head = Text(f"{h.label}  histogram of {n:,} {what}", style="bold")
    if h.nonfinite:
        head.append(f" ({h.nonfinite:,} NaN/Inf left out)", style="bold red")
    if h.law is not None:
        head.append(f"; ┃ expected under {h.law}")
    elif h.note:
        head.append(f"; {h.note}")
    lines = [head]
    left = [f"{e:.4g}" for e in h.edges[:-1]]
    right = [f"{e:.4g}" for e in h.edges[1:]]
    lw, rw = max(map(len, left)), max(map(len, right))
    cw = max(len(f"{c:,}") for c in h.counts)
    expected = h.expected or ()
    scale = max(max(h.counts), max(expected, default=0))
    last = len(h.counts) - 1
    for i, count in enumerate(h.counts):
        exp = expected[i] if expected else None
        line = Text(f"  [{left[i]:>{lw}}, {right[i]:>{rw}}{']' if i == last else ')'} ")
        line.append_text(hist_bar(count, exp, scale))
        line.append(f" {count:>{cw},}")
        if exp is not None:
            line.append(f"  exp {exp:,.1f}", style="yellow")
        lines.append(line)
    return Text("\n").join(lines)


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


def print_blocks(console: Console, blocks: List[Text]) -> None:
    """Printouts after the tables: a blank line, then the blocks without re-wrapping."""
    if blocks:
        console.print()
        console.print(Group(*blocks), soft_wrap=True)


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


def render_report(report: ParamReport, fmt: str, out: Console, err: Console) -> None:
    """Print a report in ``fmt`` to ``out``; its log lines go to ``err`` in table mode."""
    if fmt == "json":
        obj = report_json(report)
        obj["log"] = list(report.log)
        print_json(out, obj)
    else:
        for line in report.log:
            err.print(Text(line))
        print_report(out, report)
    for line in report.warnings:
        err.print(Text(f"warning: {line}", style="bold yellow"))


# --------------------------------------------------------------------------- init, set, run


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


def check_table(results: Any) -> Table:
    """Expected vs observed for every check of every parameter, with pass/fail."""
    table = new_table("check against the initializer's theory")
    for col in ("parameter", "law", "fan_in", "fan_out", "check", "expected", "observed"):
        table.add_column(
            col,
            justify="right" if col.startswith("fan") else "left",
            overflow="fold",
            no_wrap=col == "parameter",
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


def catalog_table(methods: Any) -> Table:
    """``init --list``: every initializer, its parameters with defaults, and its formula."""
    table = new_table("initializers (paraminspect init --method NAME --param KEY=VALUE)")
    for col in ("method", "MXNet class", "parameters (default)", "formula", "notes"):
        table.add_column(col, overflow="fold", no_wrap=col == "method")
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


def _rows_json(rows: Any) -> List[Dict[str, Any]]:
    return [param_json(r) for r in rows]


def render_edit_report(er: Any, fmt: str, out: Console, err: Console) -> None:
    """An :class:`paraminspect.edit_report.EditReport`: the show report, then the trace,
    the checks and where the parameters were saved. JSON: show's schema plus ``action``,
    ``trace``, ``check`` and ``saved``."""
    report = er.report
    if fmt == "json":
        obj = report_json(report)
        obj["action"] = er.action
        obj["trace"] = [
            {"stage": t.label, "parameters": _rows_json(t.parameters)} for t in er.trace
        ]
        obj["check"] = (
            None
            if er.checks is None
            else {
                "passed": not er.failed,
                "results": [check_json(c) for c in er.checks],
            }
        )
        obj["saved"] = er.saved
        obj["log"] = list(report.log)
        print_json(out, obj)
        return
    for line in report.log:
        err.print(Text(line))
    for entry in er.trace:
        out.rule(Text(entry.label, style="bold"), align="left")
        blocks = array_blocks(entry.parameters)
        if any(r.stats is not None for r in entry.parameters):
            out.print(stats_table(list(entry.parameters), "stats", "weight statistics", out.width))
        blocks += hist_blocks(entry.parameters)
        if blocks:
            out.print(Group(*blocks), soft_wrap=True)
        if not blocks and not any(r.stats is not None for r in entry.parameters):
            out.print(", ".join(f"{r.name}: {r.init}" for r in entry.parameters))
    if er.trace:
        out.rule(Text("final state", style="bold"), align="left")
    if er.action:
        out.print(Text(er.action, style="bold"))
    print_report(out, report)
    if er.checks is not None:
        out.print(check_table(er.checks))
        n, bad = len(er.checks), len(er.failed)
        out.print(
            Text(
                f"check: {n - bad} of {n} parameters match their initializer's theory"
                + (f"; failed: {', '.join(c.parameter for c in er.failed)}" if bad else ""),
                style="bold red" if bad else "bold green",
            )
        )
    # where the parameters were saved is one of report.log's lines, printed above


# --------------------------------------------------------------------------- checkpoints


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
    from paraminspect.checkpoint_report import KIND_TEXT

    t = report.totals
    kind = KIND_TEXT.get(report.kind, report.kind)
    console.print(Text(f"{report.path} ({report.file_size:,} bytes): {kind}"), soft_wrap=True)
    table = key_table(("shape", "dtype", "size", "bytes", "same as"), ("shape", "size", "bytes"))
    for row in report.rows:
        same = ""
        if row.same_as is not None:
            same = row.same_as + (" (constant)" if row.constant else "")
        table.add_row(
            row.key, shape_text(row.shape), row.dtype, f"{row.size:,}", f"{row.bytes:,}", same
        )
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


def render_inspect(report: Any, fmt: str, out: Console, err: Console) -> None:
    if fmt == "json":
        print_json(out, inspect_json(report))
    else:
        print_inspect(out, report)
        print_blocks(out, [hist_block(row.hist) for row in report.rows if row.hist is not None])


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
            "status": r.status,
            "shape_a": None if r.shape_a is None else list(r.shape_a),
            "shape_b": None if r.shape_b is None else list(r.shape_b),
            "dtype_a": r.dtype_a,
            "dtype_b": r.dtype_b,
            "max_abs": json_number(r.max_abs),
            "rel_l2": json_number(r.rel_l2),
            "cosine": json_number(r.cosine),
        }
        for r in report.rows
    ]
    counts = {s: report.count(s) for s in DIFF_STATUS_TEXT}
    return {
        "command": "diff",
        "a": side(report.a),
        "b": side(report.b),
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
    from paraminspect.checkpoint_report import KIND_TEXT

    for name, side in (("A", report.a), ("B", report.b)):
        kind = KIND_TEXT.get(side.kind, side.kind)
        console.print(Text(f"{name}: {side.label} ({kind})"), soft_wrap=True)
    table = key_table(
        ("status", "shape", "dtype", "max_abs", "rel_l2", "cosine"),
        ("shape", "max_abs", "rel_l2", "cosine"),
    )
    for r in report.rows:
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
        console.print(Text(f"note: {note}", style="italic"))
    console.print(Text(report.summary, style="bold"), soft_wrap=True)


def render_diff(report: Any, fmt: str, out: Console, err: Console) -> None:
    if fmt == "json":
        print_json(out, diff_json(report))
        return
    for line in report.log:
        err.print(Text(line))
    print_diff(out, report)
