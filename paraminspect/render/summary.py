"""Renderers of ``summary``: the layer table, activation statistics, totals, comparisons."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from paraminspect._text import human_bytes
from paraminspect.render._common import (
    json_number,
    new_table,
    number,
    say,
    shape_text,
    source_text,
)
from paraminspect.render.hist import hist_json, hist_line_cells
from paraminspect.render.sparkline import log_range, log_sparkline
from paraminspect.reports.summary import SATURATION, ActivationStats, LayerSummary, SummaryReport


def std_by_depth(stats: Sequence[ActivationStats]) -> List[float]:
    return [s.std for s in stats]


def _ratio_text(stds: Sequence[float]) -> str:
    if not stds:
        return ""
    first, last = stds[0], stds[-1]
    if not (math.isfinite(first) and math.isfinite(last)) or first == 0:
        return f"{number(first)} -> {number(last)}"
    return f"{number(first)} -> {number(last)}, last/first {last / first:.3g}"


def _fraction(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.2%}"


def stats_json(s: Optional[ActivationStats]) -> Optional[Dict[str, Any]]:
    if s is None:
        return None
    return {
        "mean": json_number(s.mean),
        "std": json_number(s.std),
        "min": json_number(s.min),
        "max": json_number(s.max),
        "zeros": json_number(s.zeros),
        "dead": json_number(s.dead),
        "dead_units": s.dead_units,
        "saturated": json_number(s.saturated),
        "nan": s.nan,
        "inf": s.inf,
    }


def layer_json(row: LayerSummary) -> Dict[str, Any]:
    """One layer's JSON: the same keys for every source."""
    out: Dict[str, Any] = {
        "index": row.index,
        "path": row.path or row.name,
        "name": row.name,
        "type": row.type,
        "activation": row.activation,
        "input_shape": list(row.in_shape),
        "output_shape": list(row.out_shape),
        "params": row.params,
        "unique_params": row.unique_params,
        "trainable": row.trainable,
        "shares_with": row.shares_with,
        "macs": row.macs,
        "backward_macs": row.backward_macs,
        "activation_bytes": row.activation_bytes,
        "stats": stats_json(row.stats),
        "hist": hist_json(row.hist),
        "depth": row.depth,
    }
    return out


def summary_json(report: SummaryReport) -> Dict[str, Any]:
    """The documented JSON schema of ``summary`` (see README, "paraminspect summary")."""
    t = report.totals
    stats = [r.stats for r in report.layers if r.stats is not None]
    stds = std_by_depth(stats) if report.ran else None
    return {
        "command": "summary",
        "model": {
            "name": report.name,
            "kind": report.kind,
            "source": report.source,
            "input_shape": list(report.input_shape),
            "seed": report.seed,
            "init": report.init,
            "hybridized": report.hybridized,
        },
        "ran": report.ran,
        "missing_reason": report.missing_reason,
        "saturation_threshold": SATURATION,
        "layers": [layer_json(r) for r in report.layers],
        "totals": {
            "total": t.total,
            "unique": t.unique,
            "trainable": t.trainable,
            "non_trainable": t.non_trainable,
            "param_bytes": t.param_bytes,
            "grad_bytes": t.grad_bytes,
            "activation_bytes": t.activation_bytes,
            "forward_macs": t.forward_macs,
            "backward_macs": t.backward_macs,
            "training_macs": t.training_macs,
        },
        "std_by_depth": None if stds is None else [json_number(x) for x in stds],
        "sparkline": None if stds is None else log_sparkline(stds),
        "compare_seed": report.compare_seed,
        "compare": [
            {
                "label": run.label,
                "init": run.init,
                "std_by_depth": [json_number(x) for x in std_by_depth(run.stats)],
                "sparkline": log_sparkline(std_by_depth(run.stats), compare_scale(report)),
                "stats": [stats_json(s) for s in run.stats],
            }
            for run in report.compare
        ],
        "notes": list(report.notes),
        "log": list(report.log),
    }


def _params_cell(row: LayerSummary) -> str:
    if row.shares_with is not None:
        return f"shared with layer {row.shares_path or row.shares_with}"
    return f"{row.params:,}"


def _trainable_cell(row: LayerSummary) -> str:
    if row.params == 0:
        return "-"
    if row.trainable == row.params:
        return "yes"
    if row.trainable == 0:
        return "no"
    return f"{row.trainable:,} of {row.params:,}"


# Below this console width a nesting level indents one space, not two: the Gluon path
# already says the depth, and at 80 columns two spaces a level cost a depth-3 label 6 of
# the ~20 characters its column gets.
NARROW = 100


def layer_table(report: SummaryReport, width: int = NARROW) -> Table:
    seed = f", seed {report.seed}" if report.seed is not None else ""
    hyb = ", hybridized" if report.hybridized else ""
    where = source_text(report.kind, report.source)
    # each layer's output, its parameters and its cost are what the table is for
    table = new_table(
        f"{report.name} ({where}): input {shape_text(report.input_shape)}, "
        f"init {report.init}{seed}{hyb}",
        keep=("layer", "output", "params", "MACs"),
        drop_first=("act. mem", "train", "act", "input"),
        names=("layer", "type"),
    )
    # graphs and Blocks know each layer's output only: no input column for them
    with_input = any(row.in_shape for row in report.layers)
    columns = ["layer", "type", "act", "input", "output", "params", "train", "MACs"]
    columns.append("act. mem")
    if not with_input:
        columns.remove("input")
    for col in columns:
        right = col in ("input", "output", "params", "MACs", "act. mem")
        table.add_column(
            col,
            justify="right" if right else "left",
            no_wrap=True,
        )
    for row in report.layers:
        cells = [
            (" " if width < NARROW else "  ") * row.depth + row.label,
            row.type,
            row.activation or "-",
            shape_text(row.in_shape),
            shape_text(row.out_shape) if row.out_shape else "?",
            _params_cell(row),
            _trainable_cell(row),
            f"{row.macs:,}",
            human_bytes(row.activation_bytes),
        ]
        if not with_input:
            del cells[3]
        table.add_row(*cells)
    return table


def stats_table(report: SummaryReport) -> Table:
    table = new_table(
        "activations on the batch",
        keep=("layer", "mean", "std", "dead (units)", "saturated"),
        drop_first=("nan", "inf", "activation"),
        names=("layer",),
    )
    # min and max are in the JSON; the table keeps what shows growth, collapse and death
    for col in ("layer", "activation", "mean", "std", "dead (units)", "saturated"):
        left = col in ("layer", "activation")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    table.add_column("nan", justify="right", no_wrap=True)
    table.add_column("inf", justify="right", no_wrap=True)
    for row in report.layers:
        s = row.stats
        if s is None:
            continue
        dead = "-" if s.dead is None else f"{s.dead:.2%} ({s.dead_units:,})"
        table.add_row(
            row.label,
            row.activation or "-",
            number(s.mean),
            number(s.std),
            dead,
            _fraction(s.saturated),
            f"{s.nan:,}",
            f"{s.inf:,}",
        )
    return table


def hist_table(report: SummaryReport) -> Optional[Table]:
    """``summary --hist``: every layer's output as a one-line histogram, by depth."""
    rows = [r for r in report.layers if r.hist is not None and r.stats is not None]
    if not rows:
        return None
    bins = max(len(r.hist.counts) for r in rows if r.hist is not None)
    table = new_table(
        f"each layer's output ({bins} bins)",
        keep=("layer", "bins"),
        drop_first=("zeros",),
        names=("layer",),
    )
    for col in ("layer", "min", "max", "bins", "zeros"):
        table.add_column(col, justify="left" if col in ("layer", "bins") else "right")
    for row in rows:
        h, s = row.hist, row.stats
        assert h is not None and s is not None
        table.add_row(row.label, *hist_line_cells(s.min, s.max, h.counts, s.zeros))
    return table


def totals_tables(report: SummaryReport) -> List[Table]:
    t = report.totals
    counts = new_table("totals")
    for col in ("total (each use)", "unique", "trainable", "non-trainable"):
        counts.add_column(col, justify="right")
    counts.add_row(f"{t.total:,}", f"{t.unique:,}", f"{t.trainable:,}", f"{t.non_trainable:,}")
    cost = new_table(f"memory and compute for a batch of {report.input_shape[0]:,}")
    for col in (
        "parameters",
        "gradients",
        "activations",
        "forward MACs",
        "backward MACs",
        "forward+backward MACs",
    ):
        cost.add_column(col, justify="right")
    cost.add_row(
        human_bytes(t.param_bytes),
        human_bytes(t.grad_bytes),
        human_bytes(t.activation_bytes),
        f"{t.forward_macs:,}",
        f"{t.backward_macs:,}",
        f"{t.training_macs:,}",
    )
    return [counts, cost]


def compare_scale(report: SummaryReport) -> Optional[Tuple[float, float]]:
    """One log range for every --compare run, so their sparklines can be compared."""
    return log_range(*(std_by_depth(run.stats) for run in report.compare))


def compare_table(report: SummaryReport) -> Table:
    table = new_table(
        f"std by initializer (each from mx.random.seed({report.compare_seed}), same X)"
    )
    table.keep = tuple(run.label for run in report.compare)
    table.names = ("layer",)
    table.add_column("layer", no_wrap=True)
    for run in report.compare:
        table.add_column(run.label, justify="right", overflow="fold")
    for i, row in enumerate(report.layers):
        stds = (number(run.stats[i].std) for run in report.compare)
        table.add_row(row.label, *stds)
    return table


def compare_lines(report: SummaryReport) -> List[Text]:
    width = max(len(run.label) for run in report.compare)
    scale = compare_scale(report)
    lines = []
    for run in report.compare:
        stds = std_by_depth(run.stats)
        last = run.stats[-1]
        extra = ""
        if last.saturated is not None:
            extra = f", last saturated {last.saturated:.1%}"
        elif last.dead is not None:
            extra = f", last dead {last.dead:.1%}"
        lines.append(
            Text(f"{run.label:<{width}}  {log_sparkline(stds, scale)}  {_ratio_text(stds)}{extra}")
        )
    return lines


def print_summary(console: Console, report: SummaryReport) -> None:
    """The table view of a :class:`SummaryReport`."""
    console.print(layer_table(report, console.width))
    if report.ran:
        console.print(stats_table(report))
        stds = std_by_depth([r.stats for r in report.layers if r.stats is not None])
        say(console, f"std by depth  {log_sparkline(stds)}  {_ratio_text(stds)}")
        hists = hist_table(report)
        if hists is not None:
            console.print(hists)
    for table in totals_tables(report):
        console.print(table)
    if report.compare:
        console.print(compare_table(report))
        for line in compare_lines(report):
            console.print(line)
    if report.ran:
        say(
            console,
            "dead: exact zeros after ReLU (units: zero for the whole batch); saturated: "
            f"tanh |a| > {SATURATION:g}, sigmoid a < {1 - SATURATION:.2g} or "
            f"a > {SATURATION:g}; sparklines: log scale",
            "italic",
        )
    for note in report.notes:
        say(console, f"note: {note}", "italic")
