"""Where a spec problem is: ``file:line: key.path: message``, and how a value is named."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

from paraminspect.errors import SpecError, SpecProblem


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
    }.get(type(value), type(value).__name__)


def format_path(path: Tuple[Union[str, int], ...]) -> str:
    """``('layers', 2, 'share')`` -> ``layers[2].share``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def located(label: str, line: Optional[int], path: Tuple[Union[str, int], ...], msg: str) -> str:
    where = f"{label}:{line}" if line else label
    return f"{where}: {format_path(path)}: {msg}" if path else f"{where}: {msg}"


Path = Tuple[Union[str, int], ...]


def problem(line: Optional[int], path: Path, msg: str) -> SpecProblem:
    return SpecProblem(line, format_path(path), msg)


def spec_error(label: str, problems: Sequence[SpecProblem]) -> SpecError:
    """One SpecError for every problem: one line for one, else a count and a line each."""

    def one(p: SpecProblem) -> str:
        where = f"{label}:{p.line}" if p.line else label
        return f"{where}: {p.path}: {p.message}" if p.path else f"{where}: {p.message}"

    if len(problems) == 1:
        return SpecError(one(problems[0]), problems)
    lines = "\n".join(f"  {one(p)}" for p in problems)
    return SpecError(f"{label}: {len(problems)} problems:\n{lines}", problems)
