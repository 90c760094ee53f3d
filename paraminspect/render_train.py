"""Renderers for ``grad`` and ``train``: rich tables, JSON, JSON lines, sparklines, plots."""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from paraminspect.render import (
    array_block,
    array_blocks,
    hist_json,
    hist_line_cells,
    json_array,
    new_table,
    number,
    param_json,
    param_table,
    print_arrays_and_notes,
    print_json,
    report_json,
    sharing_table,
    stats_json,
    stats_table,
    totals_table,
)
from paraminspect.report_train import GradReport, ParamStep, TrainRecord, TrainReport

# ----------------------------------------------------------------------------- grad


def _num(x: Optional[float]) -> Any:
    """JSON number: non-finite values become null."""
    if x is None:
        return None
    return float(x) if math.isfinite(x) else None


def grad_json(report: GradReport) -> Dict[str, Any]:
    """``show``'s JSON plus the loss, ``weight_l2``/``grad_to_weight`` per parameter, and for
    shared parameters each layer's contribution and the sum check."""
    obj = report_json(report.base)
    obj["loss"] = {
        "name": report.loss,
        "value": _num(report.loss_value),
        "note": report.target_note,
    }
    shared = {s.parameter: s for s in report.shared}
    params: List[Dict[str, Any]] = []
    for row in report.base.parameters:
        p = param_json(row)
        g = row.grad_stats
        p["weight_l2"] = _num(report.weight_l2[row.name])
        p["grad_to_weight"] = None if g is None else _num(report.ratio(row.name, g.l2))
        s = shared.get(row.name)
        if s is not None:
            contribs = []
            for c in s.contributions:
                entry: Dict[str, Any] = {"layer": c.layer, "grad_stats": stats_json(c.stats)}
                if c.view is not None and c.view.values is not None:
                    entry["grad"] = json_array(c.view.values)
                contribs.append(entry)
            p["contributions"] = contribs
            p["contributions_check"] = {
                "max_abs_diff": _num(s.max_abs_diff),
                "tolerance": _num(s.tolerance),
                "ok": s.ok,
            }
        params.append(p)
    obj["parameters"] = params
    obj["log"] = list(report.base.log)
    return obj


def grad_norm_table(report: GradReport) -> Table:
    """Each gradient's norm beside its weight's: ``||g||``, ``||w||``, ``||g||/||w||``."""
    table = new_table(f"gradient vs weight (loss {report.loss})")
    table.add_column("parameter", no_wrap=True)
    table.add_column("layers")
    for col in ("||g||", "||w||", "||g||/||w||"):
        table.add_column(col, justify="right")
    for row in report.base.parameters:
        g = row.grad_stats
        if g is None:
            continue
        table.add_row(
            row.name,
            ", ".join(str(i) for i in row.layers),
            number(g.l2),
            number(report.weight_l2[row.name]),
            number(report.ratio(row.name, g.l2)),
        )
    return table


def shared_grad_table(report: GradReport) -> Table:
    table = new_shared_table()
    for s in report.shared:
        for c in s.contributions:
            table.add_row(
                s.parameter,
                f"layer {c.layer}",
                number(c.stats.l2),
                number(c.stats.mean),
                number(c.stats.abs_max),
                "",
            )
        verdict = (
            f"ok (max |diff| {s.max_abs_diff:.3g} <= {s.tolerance:.3g})"
            if s.ok
            else f"MISMATCH (max |diff| {s.max_abs_diff:.3g} > {s.tolerance:.3g})"
        )
        table.add_row(
            s.parameter,
            "accumulated grad()",
            number(s.accumulated.l2),
            number(s.accumulated.mean),
            number(s.accumulated.abs_max),
            verdict,
            style="bold",
        )
    return table


def new_shared_table() -> Table:
    table = new_table(
        "shared gradients: each using layer's contribution (from an unshared copy with the "
        "same weights) and their sum check"
    )
    table.add_column("parameter", no_wrap=True)
    table.add_column("from", no_wrap=True)
    for col in ("l2", "mean", "abs_max"):
        table.add_column(col, justify="right")
    table.add_column("sum of contributions = accumulated?")
    return table


def print_grad(console: Console, report: GradReport) -> None:
    """The table view of a :class:`GradReport`."""
    base = report.base
    console.print(param_table(base, console.width))
    console.print(Text(f"loss {report.loss} = {report.loss_value:.6g}: {report.target_note}"))
    console.print(
        stats_table(list(base.parameters), "grad_stats", "gradient statistics", console.width)
    )
    console.print(grad_norm_table(report))
    if any(r.stats is not None for r in base.parameters):
        console.print(
            stats_table(list(base.parameters), "stats", "weight statistics", console.width)
        )
    if report.shared:
        console.print(shared_grad_table(report))
    console.print(totals_table(base))
    console.print(sharing_table(base))
    # Each shared gradient is followed by every layer's contribution to it.
    shared = {s.parameter: s for s in report.shared}
    blocks = []
    for row in base.parameters:
        blocks += array_blocks([row])
        s = shared.get(row.name)
        if s is not None and row.grad is not None:
            blocks += [array_block(c.view) for c in s.contributions if c.view is not None]
    print_arrays_and_notes(console, base.parameters, base.notes, blocks)


def render_grad(report: GradReport, fmt: str, out: Console, err: Console) -> None:
    if fmt == "json":
        print_json(out, grad_json(report))
        return
    for line in report.base.log:
        err.print(Text(line))
    print_grad(out, report)


# ----------------------------------------------------------------------------- train

SPARK = "▁▂▃▄▅▆▇█"
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


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
            }
            for s in r.shared
        ],
        "warnings": list(r.warnings),
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
            "layers": [
                {"index": x.index, "name": x.name, "type": x.type, "shares_with": x.shares_with}
                for x in m.layers
            ],
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
        "history": [record_json(r) for r in report.history],
        "grad_l2_per_step": [
            {
                "index": index,
                "name": report.model.layers[index].name,
                "values": [_num(v) for v in values],
            }
            for index, values in report.step_grad_l2.items()
        ],
        "notes": list(report.notes),
        "log": list(report.log),
    }


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
    table = new_table(
        f"epoch {r.epoch}, step {r.step}: loss {r.loss:.5g} (data set {r.data_loss:.5g})"
    )
    for col in ("layer", "parameters"):
        table.add_column(col, no_wrap=col == "layer")
    for col in ("||w||", "||g||", "||g||/||w||", "||Δw||/||w||", "dead ReLU"):
        table.add_column(col, justify="right")
    focus = {i for s in r.shared for i in s.layers} if shared_focus else None
    for x in r.layers:
        if focus is not None and x.index not in focus:
            continue
        shares = f" = {x.shares_with}" if x.shares_with is not None else ""
        table.add_row(
            f"{x.index} ({x.name}){shares}",
            ", ".join(x.params) or "-",
            _cell(x.weight_l2),
            _cell(x.grad_l2),
            _cell(x.grad_to_weight),
            _cell(_known(x.update_ratio)),
            _cell(x.dead_relu, pct=True),
        )
    return table


def shared_step_table(r: TrainRecord) -> Table:
    table = new_table(f"step {r.step}: shared parameters")
    table.add_column("parameter", no_wrap=True)
    table.add_column("layers")
    table.add_column("weights identical?")
    table.add_column("accumulated ||g||", justify="right")
    for s in r.shared:
        verdict = "yes" if s.identical else f"NO (max |diff| {s.max_abs_diff:.3g})"
        table.add_row(s.parameter, ", ".join(map(str, s.layers)), verdict, number(s.grad_l2))
    return table


def sparkline(values: Sequence[Optional[float]]) -> str:
    """``▁▃█``: each value's height between the finite minimum and maximum; ``?`` for gaps."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "?" * len(values)
    lo, hi = min(finite), max(finite)
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append("?")
        elif hi == lo:
            out.append(SPARK[0])
        else:
            out.append(SPARK[min(int((v - lo) / (hi - lo) * len(SPARK)), len(SPARK) - 1)])
    return "".join(out)


def layer_series(report: TrainReport, attr: str) -> Dict[int, List[Optional[float]]]:
    """Layer index -> its ``attr`` (``grad_l2``, ``weight_l2``) at every record."""
    out: Dict[int, List[Optional[float]]] = {}
    for r in report.history:
        for x in r.layers:
            if x.params:
                out.setdefault(x.index, []).append(getattr(x, attr))
    return out


SPARK_WIDTH = 40  # characters of the per-step sparkline; longer runs are bucketed


def bucket_max(values: Sequence[float], width: int = SPARK_WIDTH) -> List[float]:
    """``values`` in at most ``width`` consecutive buckets, each its largest value (so a
    spike shows), or its first non-finite value (shown as ``?``)."""
    n = len(values)
    if n <= width:
        return list(values)
    out = []
    for i in range(width):
        bucket = values[i * n // width : (i + 1) * n // width]
        bad = [v for v in bucket if not math.isfinite(v)]
        out.append(bad[0] if bad else max(bucket))
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
    table = new_table(title)
    table.add_column("layer", no_wrap=True)
    table.add_column("||g|| over the run", no_wrap=True)
    for col in ("first", "last", "min", "max"):
        table.add_column(col, justify="right")
    for index, values in series.items():
        finite = [v for v in values if v is not None and math.isfinite(v)]
        marks = bucket_max([math.nan if v is None else v for v in values])
        table.add_row(
            f"{index} ({report.model.layers[index].name})",
            sparkline(marks),
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
    tables = []
    for name, rows in drawn.items():
        first = rows[0][1].grad_hist
        assert first is not None
        table = new_table(f"{name}.grad ({len(first.counts)} bins)")
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
    console.print(
        Text(
            f"loss on the data set: {report.initial_loss:.5g} before training -> "
            f"{report.final_loss:.5g} after {report.steps} steps"
        )
    )
    if report.steps:
        samples = report.steps_per_second * report.settings.batch_size
        console.print(
            Text(
                f"speed: {report.steps} steps in {report.seconds:.2f} s, "
                f"{report.steps_per_second:,.0f} steps/s (about {samples:,.0f} samples/s), "
                "records included"
            )
        )
    for note in report.notes:
        console.print(Text(f"note: {note}", style="italic"))
    if report.stopped:
        console.print(Text(f"stopped: {report.stopped}", style="bold red"))


class JsonlLog:
    """``--log FILE.jsonl``: one JSON object per line, flushed and fsync'd as it is written,
    so a run killed part-way leaves every finished line intact."""

    def __init__(self, path: str) -> None:
        from paraminspect.errors import OptionError

        self.path = path
        self.lines = 0
        try:
            self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as e:
            raise OptionError(f"cannot write {path}: {e.strerror}", "--log") from None

    def write(self, record: TrainRecord) -> None:
        # One write() per line: a kill between lines never leaves half a record behind.
        self.file.write(json.dumps(record_json(record), allow_nan=False) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())
        self.lines += 1

    def close(self, failed: bool = False) -> None:
        """Close; a run that failed before logging anything leaves no empty file behind."""
        self.file.close()
        if failed and self.lines == 0:
            os.unlink(self.path)


def check_plot_target(path: str) -> None:
    """Fail before training if ``--plot`` cannot be written.

    Raises:
        OptionError: an unsupported suffix or a missing folder.
        ParamInspectError: matplotlib is not installed (the ``plot`` extra).
    """
    import importlib.util

    from paraminspect.errors import OptionError, ParamInspectError

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in PLOT_SUFFIXES:
        raise OptionError(
            f"cannot tell the image format of '{path}'; end it with {', '.join(PLOT_SUFFIXES)}",
            "--plot",
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OptionError(
            f"folder {folder} does not exist; create it first (mkdir -p {folder})", "--plot"
        )
    if importlib.util.find_spec("matplotlib") is None:
        raise ParamInspectError(
            "--plot needs matplotlib, which is not installed; install it with "
            "pip install 'paraminspect[plot]' (or pip install matplotlib)"
        )


def write_plot(report: TrainReport, path: str) -> None:
    """Weight norms per layer at each record and gradient norms at every step, written
    atomically."""
    import matplotlib

    from paraminspect.fileio import atomic_write

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recorded = [r.step for r in report.history]
    every_step = list(range(1, report.steps + 1))
    weights = layer_series(report, "weight_l2")
    # The gradient panel has every step when the run kept per-step norms, else the records.
    grads: Mapping[int, Sequence[Optional[float]]] = report.step_grad_l2 or layer_series(
        report, "grad_l2"
    )
    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for ax, series, xs, axis_label in (
        (axes[0], weights, recorded, "||w|| (weight l2), at each record"),
        (axes[1], grads, every_step if report.step_grad_l2 else recorded, "||g|| (gradient l2)"),
    ):
        dense = len(xs) > 50  # markers only while they stay apart
        for index, values in series.items():
            ys = [float("nan") if v is None else v for v in values]
            info = report.model.layers[index]
            sharer = info.shares_with is not None
            name = f"{index} ({info.name})" + (f" = layer {info.shares_with}" if sharer else "")
            # A sharing layer draws over its source's line: dash it so both stay visible.
            style = "--" if sharer else "-"
            ax.plot(xs, ys, marker=None if dense else "o", linestyle=style, label=name)
        ax.set_ylabel(axis_label)
        ax.grid(True, alpha=0.3)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("step")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"{report.model.name}: norms per layer ({report.settings.loss} loss)")
    image_format = os.path.splitext(path)[1].lower().lstrip(".")
    try:
        # the temporary file ends in .tmp, so matplotlib is told the format
        atomic_write(path, lambda tmp: fig.savefig(tmp, format=image_format), force=True)
    finally:
        plt.close(fig)


class TrainPrinter:
    """Progress bar on stderr; tables (``--format table``) on stdout as records arrive;
    warnings on stderr; records to the ``--log`` file."""

    def __init__(self, out: Console, err: Console, fmt: str, log: Optional[JsonlLog]) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.out, self.err, self.fmt, self.log = out, err, fmt, log
        self.shared_focus = False
        self.progress = Progress(
            TextColumn("training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self.task: Optional[Any] = None

    def __enter__(self) -> TrainPrinter:
        self.progress.start()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.progress.stop()
        if self.log is not None:
            self.log.close(failed=exc_type is not None)

    def on_step(self, step: int, total: int, loss: float) -> None:
        if self.task is None:
            self.task = self.progress.add_task("train", total=total, loss="-")
        self.progress.update(self.task, completed=step, loss=f"{loss:.4g}")

    def on_record(self, record: TrainRecord) -> None:
        if self.log is not None:
            self.log.write(record)
        for w in record.warnings:
            self.progress.console.print(Text(f"warning: {w}", style="yellow"))
        if self.fmt == "table":
            self.out.print(record_table(record, self.shared_focus))
            if record.shared:
                self.out.print(shared_step_table(record))
