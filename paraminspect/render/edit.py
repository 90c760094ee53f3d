"""Renderers of ``init``, ``set`` and ``run`` reports: the trace, the final state, the checks."""

from __future__ import annotations

from typing import Any, Dict, List

from rich.console import Console, Group
from rich.text import Text

from paraminspect._text import plural
from paraminspect.render._common import phrase_lines, say
from paraminspect.render.check import check_json, check_table
from paraminspect.render.params import (
    array_blocks,
    hist_blocks,
    param_json,
    print_report,
    report_json,
    stats_table,
)


def _rows_json(rows: Any, model: Any) -> List[Dict[str, Any]]:
    return [param_json(r, model) for r in rows]


def edit_json(er: Any) -> Dict[str, Any]:
    """An :class:`paraminspect.reports.edit.EditReport` as JSON: show's schema plus
    ``action``, ``trace``, ``check`` and ``saved``."""
    report = er.report
    obj = report_json(report)
    obj["action"] = er.action
    obj["trace"] = [
        {"stage": t.label, "parameters": _rows_json(t.parameters, report.model)} for t in er.trace
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
    return obj


RULE_ROOM = 6  # a rule's title needs this much beside it for the rule to show


def heading(out: Console, label: str) -> None:
    """A stage's heading: a rule with the label in it. A label too long for the console
    (which a rule would cut with an ellipsis) is wrapped, the rule on its last line: a
    step's target (``on select '...'``) starts that line when it fits there."""
    width = out.width
    if len(label) + RULE_ROOM <= width:
        out.rule(Text(label, style="bold"), align="left")
        return
    head, on, target = label.rpartition(" on ")
    last = f"on {target}"
    if on and head and len(last) + RULE_ROOM <= width:
        lines = [*phrase_lines(head, width), last]
    else:
        lines = phrase_lines(label, width - RULE_ROOM)
    for line in lines[:-1]:
        out.print(Text(line, style="bold"))
    out.rule(Text(lines[-1], style="bold"), align="left")


def list_lines(items: List[str], width: int) -> List[str]:
    """``items`` joined by ", " in lines of at most ``width``, broken between items (a
    ``name: init`` pair stays on one line), an item wider than the line at phrase ends."""
    lines: List[str] = []
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if lines and len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines += phrase_lines(piece, width)
    return lines


def print_edit(out: Console, er: Any) -> None:
    """The table view: each traced stage, the final state's report, then the checks."""
    report = er.report
    for entry in er.trace:
        heading(out, entry.label)
        blocks = array_blocks(entry.parameters)
        if any(r.stats is not None for r in entry.parameters):
            out.print(stats_table(list(entry.parameters), "stats", "weight statistics", out.width))
        blocks += hist_blocks(entry.parameters)
        if blocks:
            out.print(Group(*blocks), soft_wrap=True)
        if not blocks and not any(r.stats is not None for r in entry.parameters):
            for line in list_lines([f"{r.name}: {r.init}" for r in entry.parameters], out.width):
                out.print(Text(line), soft_wrap=True)
    if er.trace:
        heading(out, "final state")
    if er.action:
        say(out, er.action, "bold")
    print_report(out, report)
    if er.checks is not None:
        out.print()  # the heading of the check table stands apart from what is above
        out.print(check_table(er.checks))
        skipped = sum(1 for c in er.checks if c.status == "skip")
        n = len(er.checks) - skipped
        if skipped:
            say(
                out,
                f"check: {plural(skipped, 'parameter')} not checked (no known initializer, "
                "see the note)",
            )
        if not er.failed:  # a failure is reported once, by the Error: line (er.failure)
            out.print(
                Text(
                    f"check: {n} of {n} parameters match their initializer's theory",
                    style="bold green",
                )
            )
