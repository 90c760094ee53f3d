"""What every renderer shares: number formats, JSON numbers, table builders, JSON output."""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, List, Sequence

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text


def source_text(kind: str, source: str) -> str:
    """Where a model came from, for a header: the spec's label, else ``KIND LABEL``."""
    return source if kind == "spec" or source.startswith(kind + ":") else f"{kind} {source}"


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


def print_json(console: Console, obj: Any) -> None:
    """Write JSON straight to the console's file (see :func:`paraminspect.render.write_json`)."""
    from paraminspect.render import write_json

    write_json(console, obj)


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


def print_blocks(console: Console, blocks: List[Text]) -> None:
    """Printouts after the tables: a blank line, then the blocks without re-wrapping."""
    if blocks:
        console.print()
        console.print(Group(*blocks), soft_wrap=True)
