"""Renderers of ``train``: per-record tables, the end-of-run summary and JSON."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rich.console import Console
from rich.table import Table

from paraminspect.render._common import new_table, number, say
from paraminspect.render.grad import _num
from paraminspect.render.hist import hist_json, hist_line_cells
from paraminspect.render.params import layer_info_json, stats_json
from paraminspect.render.sparkline import SPARK_WIDTH, bucket_max, linear_sparkline
from paraminspect.reports.train import ParamStep, TrainRecord, TrainReport


def param_step_json(p: ParamStep) -> Dict[str, Any]:
    return {
        "name": p.name,
        "layers": list(p.layers),
        "weight_l2": _num(p.weight.l2),
        "grad_l2": None if p.grad is None else _num(p.grad.l2),
        "grad_to_weight": _num(p.grad_to_weight),
        "update_ratio": _num(p.update_ratio),
        "stats": stats_json(p.weight),
        "grad_stats": stats_json(p.grad),
        "grad_hist": hist_json(p.grad_hist),
    }


def record_json(r: TrainRecord) -> Dict[str, Any]:
    """One logged step: the JSON line ``--log`` writes and an entry of ``history``."""
    return {
        "epoch": r.epoch,
        "step": r.step,
        "loss": _num(r.loss),
        "data_loss": _num(r.data_loss),
        "parameters": [param_step_json(p) for p in r.parameters],
        "layers": [
            {
                "index": x.index,
                "path": x.path,
                "name": x.name,
                "params": list(x.params),
                "weight_l2": _num(x.weight_l2),
                "grad_l2": _num(x.grad_l2),
                "grad_to_weight": _num(x.grad_to_weight),
                "update_ratio": _num(x.update_ratio),
                "dead_relu": _num(x.dead_relu),
            }
            for x in r.layers
        ],
        "shared": [
            {
                "parameter": s.parameter,
                "layers": list(s.layers),
                "identical": s.identical,
                "max_abs_diff": _num(s.max_abs_diff),
                "grad_l2": _num(s.grad_l2),
                "shares": None if s.shares is None else [_num(x) for x in s.shares],
                "shares_note": s.shares_note,
            }
            for s in r.shared
        ],
        "warnings": list(r.warnings),
        "events": [event_json(e) for e in r.events],
    }


def event_json(e: Any) -> Dict[str, Any]:
    """A named trouble (diagnose.trouble.Event): the step it started, kind, subject, value."""
    return {
        "step": e.step,
        "kind": e.kind,
        "subject": e.subject,
        "value": _num(e.value),
        "message": e.message,
    }


def train_json(report: TrainReport) -> Dict[str, Any]:
    """``train --format json``: settings, the loss before and after, and the whole history."""
    m = report.model
    s = report.settings
    return {
        "command": "train",
        "model": {
            "name": m.name,
            "source": m.source,
            "input_shape": list(m.input_shape),
            "seed": m.seed,
            "layers": [layer_info_json(x) for x in m.layers],
        },
        "settings": {
            "samples": s.samples,
            "batch_size": s.batch_size,
            "epochs": s.epochs,
            "lr": s.lr,
            "optimizer": s.optimizer,
            "loss": s.loss,
            "every": s.every,
            "seed": s.seed,
            "hybridized": s.hybridized,
            "shared": s.shared_focus,
            "data": s.data,
            "explode_above": s.explode,
            "vanish_below": s.vanish,
        },
        "initial_loss": _num(report.initial_loss),
        "final_loss": _num(report.final_loss),
        "steps": report.steps,
        "seconds": round(report.seconds, 6),
        "steps_per_second": _num(report.steps_per_second),
        "stopped": report.stopped,
        "stop_on": list(report.stop_on),
        "stopped_by": event_json(report.stopped_by) if report.stopped_by is not None else None,
        "events": [event_json(e) for e in report.events],
        "history": [record_json(r) for r in report.history],
        "grad_l2_per_step": [
            {
                "index": index,
                "path": report.model.path_of(index),
                "name": report.model.layers[index].name,
                "values": [_num(v) for v in values],
            }
            for index, values in report.step_grad_l2.items()
        ],
        "notes": list(report.notes),
        "log": list(report.log),
    }


NUMBER_WIDTH = len("1.234e-05")  # the widest a 4-digit number() prints a norm or ratio


def _cell(x: Optional[float], pct: bool = False) -> str:
    if x is None:
        return "-"
    if pct:
        return f"{x:.1%}"
    return number(x)


def _known(x: Optional[float]) -> Optional[float]:
    """NaN (an update ratio whose 'before' weights were not kept) as missing: ``-``."""
    return None if x is None or math.isnan(x) else x


def record_table(r: TrainRecord, shared_focus: bool = False) -> Table:
    """The per-layer table of one logged step."""
    # The gradient norms and dead ReLUs are what the table is for. Every record of a run
    # gets the same columns: their widths come from the headers and the widest number a
    # cell can hold, never from this record's values.
    table = new_table(
        f"epoch {r.epoch}, step {r.step}: loss {r.loss:.5g} (data set {r.data_loss:.5g})",
        keep=("layer", "||g||", "||g||/||w||", "dead ReLU"),
        drop_first=("parameters", "||w||", "||Δw||/||w||"),
        names=("layer",),
    )
    table.add_column("layer", no_wrap=True)
    table.add_column("parameters")
    for col in ("||w||", "||g||", "||g||/||w||", "||Δw||/||w||", "dead ReLU"):
        table.add_column(col, justify="right", no_wrap=True)
        table.widest[col] = NUMBER_WIDTH
    focus = {i for s in r.shared for i in s.layers} if shared_focus else None
    paths = {x.index: x.path for x in r.layers}
    for x in r.layers:
        if focus is not None and x.index not in focus:
            continue
        shares = (
            f" = {paths.get(x.shares_with, x.shares_with)}" if x.shares_with is not None else ""
        )
        table.add_row(
            f"{x.label}{shares}",
            ", ".join(x.params) or "-",
            _cell(x.weight_l2),
            _cell(x.grad_l2),
            _cell(x.grad_to_weight),
            _cell(_known(x.update_ratio)),
            _cell(x.dead_relu, pct=True),
        )
    return table


# --contributions: each use's share <g_i, G>/||G||^2 of the step's accumulated gradient G
SHARES = "share of g per use"


def shared_step_table(r: TrainRecord) -> Table:
    table = new_table(
        f"step {r.step}: shared parameters",
        keep=("parameter", "weights identical?", "accumulated ||g||", SHARES),
        names=("parameter",),
    )
    table.add_column("parameter", no_wrap=True)
    table.add_column("layers")
    table.add_column("weights identical?")
    table.add_column("accumulated ||g||", justify="right")
    with_shares = any(s.shares is not None or s.shares_note is not None for s in r.shared)
    if with_shares:
        table.add_column(SHARES)
    for s in r.shared:
        verdict = "yes" if s.identical else f"NO (max |diff| {s.max_abs_diff:.3g})"
        cells = [s.parameter, ", ".join(map(str, s.layers)), verdict, number(s.grad_l2)]
        if with_shares:
            if s.shares is not None:
                # one use a line: a narrow column never parts a use from its share
                cells.append("\n".join(f"{i}: {x:.1%}" for i, x in zip(s.layers, s.shares)))
            else:
                cells.append(f"- ({s.shares_note})" if s.shares_note else "-")
        table.add_row(*cells)
    return table


def layer_series(report: TrainReport, attr: str) -> Dict[int, List[Optional[float]]]:
    """Layer index -> its ``attr`` (``grad_l2``, ``weight_l2``) at every record."""
    out: Dict[int, List[Optional[float]]] = {}
    for r in report.history:
        for x in r.layers:
            if x.params:
                out.setdefault(x.index, []).append(getattr(x, attr))
    return out


def sparkline_table(report: TrainReport) -> Table:
    """Each layer's gradient norm over the run: at every step (one character per step, or
    per bucket of steps in long runs), with the first, last, smallest and largest."""
    series: Mapping[int, Sequence[Optional[float]]] = report.step_grad_l2
    if series:
        n = report.steps
        title = f"gradient norm per layer at each of {n} steps"
        if n > SPARK_WIDTH:
            title += f" (a mark is the largest of {n / SPARK_WIDTH:.3g} steps)"
    else:  # no per-step norms (a report from elsewhere): the logged records
        series = layer_series(report, "grad_l2")
        title = f"gradient norm per layer over {len(report.history)} logged steps"
    table = new_table(
        title, keep=("layer", "||g|| over the run"), drop_first=("min", "max"), names=("layer",)
    )
    table.add_column("layer", no_wrap=True)
    table.add_column("||g|| over the run", no_wrap=True)
    for col in ("first", "last", "min", "max"):
        table.add_column(col, justify="right")
    for index, values in series.items():
        finite = [v for v in values if v is not None and math.isfinite(v)]
        marks = bucket_max([math.nan if v is None else v for v in values])
        table.add_row(
            report.model.label_of(index),
            linear_sparkline(marks),
            _cell(values[0]),
            _cell(values[-1]),
            _cell(min(finite)) if finite else "-",
            _cell(max(finite)) if finite else "-",
        )
    return table


def grad_hist_tables(report: TrainReport) -> List[Table]:
    """``train --hist``: per drawn parameter, its gradient's histogram at each logged step
    (one row per record: the range, the bins as bars, the share of exact zeros)."""
    drawn: Dict[str, List[Tuple[int, ParamStep]]] = {}
    for r in report.history:
        for p in r.parameters:
            if p.grad_hist is not None:
                drawn.setdefault(p.name, []).append((r.step, p))
    tables: List[Table] = []
    for name, rows in drawn.items():
        first = rows[0][1].grad_hist
        assert first is not None
        table = new_table(
            f"{name}.grad ({len(first.counts)} bins)", keep=("step", "bins"), drop_first=("zeros",)
        )
        for col in ("step", "min", "max", "bins", "zeros"):
            table.add_column(col, justify="left" if col == "bins" else "right")
        for step, p in rows:
            h, g = p.grad_hist, p.grad
            assert h is not None and g is not None
            table.add_row(str(step), *hist_line_cells(g.min, g.max, h.counts, g.zeros))
        tables.append(table)
    return tables


def print_train_summary(console: Console, report: TrainReport) -> None:
    console.print(sparkline_table(report))
    for table in grad_hist_tables(report):
        console.print(table)
    say(
        console,
        f"loss on the data set: {report.initial_loss:.5g} before training -> "
        f"{report.final_loss:.5g} after {report.steps} steps",
    )
    if report.steps:
        samples = report.steps_per_second * report.settings.batch_size
        say(
            console,
            f"speed: {report.steps} steps in {report.seconds:.2f} s, "
            f"{report.steps_per_second:,.0f} steps/s (about {samples:,.0f} samples/s), "
            "records included",
        )
    for note in report.notes:
        say(console, f"note: {note}", "italic")
    if report.stopped:
        say(console, f"stopped: {report.stopped}", "bold red")
