"""The render stage: one entry point, and per report type one table and one JSON renderer.

:data:`RENDERERS` is the one place a report type is matched to its renderers (modules are
imported only when used, so importing this package stays cheap). The stderr policy is
the same for every command: in table mode a report's ``log`` lines (an initializer's
``Init ...`` lines, what was loaded or saved) go to stderr before the tables; in both
modes its ``warnings`` (NaN/Inf values) go to stderr after them. JSON carries both.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Callable, Dict, Tuple

# report class name -> (module, table renderer(console, report), JSON renderer(report))
RENDERERS: Dict[str, Tuple[str, str, str]] = {
    "ParamReport": ("paraminspect.render.params", "print_report", "show_json"),
    "EditReport": ("paraminspect.render.edit", "print_edit", "edit_json"),
    "GradReport": ("paraminspect.render.grad", "print_grad", "grad_json"),
    "SummaryReport": ("paraminspect.render.summary", "print_summary", "summary_json"),
    "TrainReport": ("paraminspect.render.train", "print_train_summary", "train_json"),
    "InspectReport": ("paraminspect.render.checkpoint", "print_inspect_report", "inspect_json"),
    "DiffReport": ("paraminspect.render.diff", "print_diff", "diff_json"),
    "CheckReport": ("paraminspect.render.spec_check", "print_check", "check_report_json"),
    "InvalidSpecReport": ("paraminspect.render.spec_check", "print_invalid", "invalid_report_json"),
    "CatalogReport": ("paraminspect.render.catalog", "print_catalog", "catalog_report_json"),
    "ExportReport": ("paraminspect.render.port", "print_export", "export_json"),
    "CompareReport": ("paraminspect.render.port", "print_compare", "compare_json"),
}


def renderers(report: Any) -> Tuple[Callable[[Any, Any], None], Callable[[Any], Any]]:
    """The table and JSON renderers of ``report``'s type."""
    module, table, to_json = RENDERERS[type(report).__name__]
    mod = importlib.import_module(module)
    return getattr(mod, table), getattr(mod, to_json)


def to_dict(report: Any) -> Any:
    """The JSON object ``--format json`` prints for ``report``."""
    return renderers(report)[1](report)


def render(report: Any, fmt: str, out: Any, err: Any) -> None:
    """Print ``report`` to ``out`` as ``fmt`` (``table`` or ``json``); notes to ``err``.

    Args:
        report: any report in :data:`RENDERERS`.
        fmt: one of :data:`paraminspect.choices.FORMATS`.
        out: the rich Console for data (stdout).
        err: the rich Console for log lines and warnings (stderr).
    """
    table, to_json = renderers(report)
    if fmt == "json":
        write_json(out, to_json(report))
    else:
        for line in getattr(report, "log", ()):
            _say(err, line)
        table(out, report)
    for line in getattr(report, "warnings", ()):
        _say(err, f"warning: {line}", style="bold yellow")


def write_json(console: Any, obj: Any) -> None:
    """Write JSON straight to the console's file: no wrapping, no highlighting."""
    console.file.write(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    console.file.flush()


def _say(console: Any, line: str, style: str = "") -> None:
    """A log line or warning on stderr, broken at phrase ends within the console's width."""
    from rich.text import Text  # only when there is something to print: `check` stays light

    from paraminspect._text import phrase_lines

    for part in phrase_lines(line, max(20, console.width)):
        console.print(Text(part, style=style), soft_wrap=True)
