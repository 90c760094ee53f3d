"""Renderers of ``check``: a spec is valid, and what it describes.

``check`` must start fast (no MXNet, numpy or rich), so its one line is written with click.
"""

from __future__ import annotations

from typing import Any, Dict

import click


def print_check(console: Any, report: Any) -> None:
    click.echo(report.summary, file=console.file)


def check_report_json(report: Any) -> Dict[str, Any]:
    p = report.plan
    return {
        "ok": True,
        "source": report.source,
        "layers": len(p.layers),
        "total": p.total_params,
        "unique": p.unique_count,
        "bytes": p.param_bytes,
    }


def print_invalid(console: Any, report: Any) -> None:
    """Nothing on stdout: the ``Error:`` message on stderr lists every problem."""


def invalid_report_json(report: Any) -> Dict[str, Any]:
    return {
        "ok": False,
        "source": report.source,
        "problems": [
            {"line": p.line, "path": p.path, "message": p.message} for p in report.problems
        ],
    }
