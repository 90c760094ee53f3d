"""Renderers of ``grad``: gradient statistics, norms and shared-use contributions."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional

from rich.console import Console
from rich.table import Table

from paraminspect.render._common import FitTable, json_array, new_table, number, say
from paraminspect.render.params import (
    array_block,
    array_blocks,
    param_json,
    param_table,
    print_arrays_and_notes,
    report_json,
    sharing_table,
    stats_json,
    stats_table,
    totals_table,
)
from paraminspect.reports.grad import GradReport


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
        p = param_json(row, report.base.model)
        g = row.grad_stats
        p["weight_l2"] = _num(report.weight_l2[row.name])
        p["grad_to_weight"] = None if g is None else _num(report.ratio(row.name, g.l2))
        s = shared.get(row.name)
        if s is not None:
            contribs = []
            for c in s.contributions:
                entry: Dict[str, Any] = {
                    "layer": report.base.model.path_of(c.layer),
                    "share": _num(c.share) if c.share is not None else None,
                    "grad_stats": stats_json(c.stats),
                }
                if c.view is not None and c.view.values is not None:
                    entry["grad"] = json_array(c.view.values)
                contribs.append(entry)
            p["contributions"] = contribs
            p["contributions_check"] = {
                "max_abs_diff": _num(s.max_abs_diff),
                "tolerance": _num(s.tolerance),
                "ok": s.ok,
                "shares_sum": _num(s.shares_sum) if s.shares_sum is not None else None,
                "shares_note": s.shares_note,
            }
        params.append(p)
    obj["parameters"] = params
    if report.ratio_note:
        obj["notes"] = [*obj["notes"], report.ratio_note]
    obj["log"] = list(report.base.log)
    return obj


def grad_norm_table(report: GradReport) -> Table:
    """Each gradient's norm beside its weight's: ``||g||``, ``||w||``, ``||g||/||w||``."""
    table = new_table(
        f"gradient vs weight (loss {report.loss})",
        keep=("parameter", "||g||", "||g||/||w||"),
        drop_first=("layers", "||w||"),
        names=("parameter",),
    )
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
            ", ".join(report.base.model.path_of(i) for i in row.layers),
            number(g.l2),
            number(report.weight_l2[row.name]),
            "-" if (ratio := report.ratio(row.name, g.l2)) is None else number(ratio),
        )
    return table


def shared_grad_table(report: GradReport) -> Table:
    table = new_shared_table()
    for s in report.shared:
        for c in s.contributions:
            table.add_row(
                s.parameter,
                f"layer {report.base.model.label_of(c.layer)}",
                share_text(c.share),
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
        if s.shares_note is not None:
            verdict += f"; no shares: {s.shares_note}"
        table.add_row(
            s.parameter,
            "accumulated grad()",
            share_text(s.shares_sum),
            number(s.accumulated.l2),
            number(s.accumulated.mean),
            number(s.accumulated.abs_max),
            verdict,
            style="bold",
        )
        # the verdict is what the table is for: it gets room for one line before the
        # mean and abs_max do
        table.widest["sum = accumulated?"] = max(
            table.widest.get("sum = accumulated?", 0), len(verdict)
        )
    return table


def share_text(share: Optional[float]) -> str:
    """A use's share of the accumulated gradient, as a percentage (``-`` when undefined)."""
    return "-" if share is None else f"{share:.1%}"


def new_shared_table() -> FitTable:
    table = new_table(
        "shared gradients: each using layer's contribution (each use reading its own copy of "
        "the weights), its share <g_i,\u00a0G>/||G||^2 of the accumulated G, and their sum check",
        keep=("parameter", "from", "share", "l2", "sum = accumulated?"),
        drop_first=("mean", "abs_max"),
        names=("parameter",),
    )
    table.add_column("parameter", no_wrap=True)
    table.add_column("from", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    for col in ("l2", "mean", "abs_max"):
        table.add_column(col, justify="right")
    table.add_column("sum = accumulated?")
    return table


def print_grad(console: Console, report: GradReport) -> None:
    """The table view of a :class:`GradReport`."""
    base = report.base
    console.print(param_table(base, console.width))
    say(console, f"loss {report.loss} = {report.loss_value:.6g}: {report.target_note}")
    console.print()  # a blank line before the next table's heading
    console.print(
        stats_table(list(base.parameters), "grad_stats", "gradient statistics", console.width)
    )
    console.print(grad_norm_table(report))
    if report.ratio_note:
        say(console, f"note: {report.ratio_note}")
        console.print()
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
