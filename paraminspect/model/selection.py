"""Which parameters to show (``--layer``, ``--select``) and which part of them (``--slice``).

Slices are parsed into Python index objects, never evaluated.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, List, Sequence, Tuple, Union

from paraminspect._text import did_you_mean
from paraminspect.errors import OptionError
from paraminspect.model.layout import Layout

if TYPE_CHECKING:  # numpy is imported where it is used: `check` validates specs without it
    import numpy as np

    # a spec's plan (pydantic, PyYAML): a graph's commands select names without it
    from paraminspect.model.plan import NetPlan


Index = Tuple[Any, ...]  # ints, slices and Ellipsis


_INT = r"[+-]?\d+"


_PART = re.compile(
    rf"^\s*(?:(?P<int>{_INT})|(?P<ell>\.\.\.)|"
    rf"(?P<start>{_INT})?\s*:\s*(?P<stop>{_INT})?\s*(?::\s*(?P<step>{_INT})?)?)\s*$"
)


def parse_slice(expr: str) -> Index:
    """Parse a numpy-style index such as ``0``, ``0,:5``, ``:3,-2:`` or ``...,0``.

    Raises:
        OptionError: anything that is not integers, ``start:stop:step`` parts and one ``...``.
    """
    if not expr.isprintable():
        raise OptionError(
            f"cannot parse slice {expr!r}: it has control characters (example: '0,:5')", "--slice"
        )
    text = expr.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text:
        raise OptionError(
            "empty slice; use numpy indexing such as '0', '0,:5' or ':3,-2:'", "--slice"
        )
    parts: List[object] = []
    for raw in text.split(","):
        m = _PART.match(raw)
        if m is None:
            raise OptionError(
                f"cannot parse slice '{expr}': '{raw.strip()}' is not an integer, "
                "'start:stop:step' or '...' (example: '0,:5')",
                "--slice",
            )
        if m.group("int") is not None:
            parts.append(int(m.group("int")))
        elif m.group("ell"):
            if Ellipsis in parts:
                raise OptionError(
                    f"cannot parse slice '{expr}': '...' may appear only once", "--slice"
                )
            parts.append(Ellipsis)
        else:
            start, stop, step = (
                None if m.group(g) is None else int(m.group(g)) for g in ("start", "stop", "step")
            )
            if step == 0:
                raise OptionError(f"cannot parse slice '{expr}': a step cannot be 0", "--slice")
            parts.append(slice(start, stop, step))
    return tuple(parts)


def format_index(index: Index) -> str:
    """Inverse of :func:`parse_slice`, for labels such as ``dense0_weight[0, :5]``."""

    def one(p: object) -> str:
        if p is Ellipsis:
            return "..."
        if isinstance(p, slice):
            s = (
                ("" if p.start is None else str(p.start))
                + ":"
                + ("" if p.stop is None else str(p.stop))
            )
            return s + (f":{p.step}" if p.step is not None else "")
        return str(p)

    return ", ".join(one(p) for p in index)


def apply_slice(array: np.ndarray, index: Index, name: str) -> np.ndarray:
    """Index ``array`` with a parsed slice, naming ``name`` when it does not fit.

    Raises:
        OptionError: too many indices, or an integer out of range for a dimension.
    """
    dims = sum(1 for p in index if p is not Ellipsis)
    if dims > array.ndim:
        raise OptionError(
            f"slice '{format_index(index)}' has {dims} indices but {name} has "
            f"{array.ndim} dimension{'s' if array.ndim != 1 else ''} {tuple(array.shape)}",
            "--slice",
        )
    # Check integers against their axis so the message names the parameter and the bound.
    axis = 0
    for pos, p in enumerate(index):
        if p is Ellipsis:
            axis = array.ndim - (len(index) - pos - 1)
            continue
        if isinstance(p, int) and not -array.shape[axis] <= p < array.shape[axis]:
            raise OptionError(
                f"index {p} is out of range for axis {axis} of {name} with shape "
                f"{tuple(array.shape)} (valid: {-array.shape[axis]} to {array.shape[axis] - 1})",
                "--slice",
            )
        axis += 1
    import numpy as np

    return np.asarray(array[index])


def _glob_as_regex(pattern: str) -> str:
    """``*weight`` -> ``.*weight``, ``dense?_*`` -> ``dense._.*`` (what a glob user meant)."""
    return re.sub(r"(?<!\.)\*", ".*", pattern.replace("?", "."))


def compile_select(pattern: str) -> re.Pattern[str]:
    """Compile a ``--select`` regex (matched like ``collect_params``: ``re.match``).

    Raises:
        OptionError: not a regular expression; a glob such as ``*weight`` gets the regex
            it most likely meant.
    """
    try:
        return re.compile(pattern)
    except (OverflowError, RecursionError, MemoryError, ValueError) as e:
        # a{99999999999}: OverflowError; thousands of nested groups: RecursionError
        reason = str(e) or type(e).__name__
        raise OptionError(
            f"invalid regular expression {pattern[:80]!r}: {reason}", "--select"
        ) from None
    except re.error as e:
        hint = ""
        if "*" in pattern or "?" in pattern:
            hint = (
                f"; --select takes a regular expression, not a glob: write "
                f"'{_glob_as_regex(pattern)}'"
            )
        raise OptionError(
            f"invalid regular expression '{pattern}': {e}{hint}", "--select"
        ) from None


def no_match_hint(select: str, pattern: re.Pattern[str], names: Sequence[str]) -> str:
    """Why ``select`` matched none of ``names`` and what to write instead.

    The usual slip is a name's tail (``weight``): ``re.match`` anchors at the start, so say
    that and suggest ``.*weight``, which is what ``collect_params('.*weight')`` does.
    """
    inside = [n for n in names if pattern.search(n)]
    if inside:
        shown = ", ".join(inside[:4]) + (", ..." if len(inside) > 4 else "")
        return (
            f"; --select uses re.match, which anchors at the start of the name: "
            f"write '.*{select}' to match it anywhere ({shown})"
        )
    return did_you_mean(select, names)


def layer_params(layout: Layout, index: int) -> List[str]:
    """The parameters layer ``index`` uses: its own, and for a container of nested blocks
    (``features.4``) every descendant's, as ``block.collect_params()`` gives them."""
    layer = layout.layers[index]
    names = list(layer.params)
    if layer.path:  # a spec layer is "3" and a graph node has no children: no match
        prefix = layer.path + "."
        for other in layout.layers[index + 1 :]:
            if other.path.startswith(prefix):
                names.extend(n for n in other.params if n not in names)
    return names


def resolve_layers(tokens: Iterable[str], layout: Layout) -> List[int]:
    """Turn ``--layer`` values (index, negative index, name or dotted path) into indices.

    A token that is some layer's path wins over the same number as an index: in a nested
    Block, ``1`` is ``net[1]`` (path ``1``), as ``features.3`` is ``net.features[3]``, even
    when a Dense's Activation child makes ``net[1]`` row 2 of the Layout. For specs a
    layer's path is its index, so nothing changes there.
    """
    names = [layer.name for layer in layout.layers]
    paths = [layer.path for layer in layout.layers]
    out: List[int] = []
    n = len(layout.layers)
    for token in tokens:
        token = token.strip()
        if token in paths:
            out.append(paths.index(token))
        elif re.fullmatch(r"[+-]?\d+", token):
            i = int(token)
            if not -n <= i < n:
                raise OptionError(
                    f"there is no layer {i}: the net has {n} layers "
                    f"(0 to {n - 1}, or names: {', '.join(names)})",
                    "--layer",
                )
            out.append(i % n)
        elif token in names:
            out.append(names.index(token))
        else:
            nested = [p for p in paths if p and not p.isdigit() and p not in names]
            shown = f"paths: {', '.join(nested[:12])}{', ...' if len(nested) > 12 else ''}; "
            raise OptionError(
                f"no layer is named '{token}'{did_you_mean(token, names + nested)} "
                f"({shown if nested else ''}names: {', '.join(names)})",
                "--layer",
            )
    return out


def select_names(
    described: Union[Layout, NetPlan], layers: Sequence[str] = (), select: str | None = None
) -> List[str]:
    """Parameter names chosen by ``--layer`` and ``--select`` in ``collect_params`` order.

    ``--layer`` picks the parameters a layer uses (like ``net[i].params``, shared ones
    included); ``--select`` keeps names that ``re.match`` the pattern; both together
    intersect.

    Args:
        described: the network's layout (a spec's plan stands for its layout).

    Raises:
        OptionError: a bad layer or regex, or a selection that matches no parameter.
    """
    # a spec's plan, or anything else that carries a layout (a live Block's plan), stands for it
    layout: Layout = getattr(described, "layout", described)  # type: ignore[arg-type]
    names = [p.name for p in layout.params]
    if layers:
        wanted = {p for i in resolve_layers(layers, layout) for p in layer_params(layout, i)}
        names = [n for n in names if n in wanted]
        if not names:
            raise OptionError(
                f"layer {', '.join(layers)} has no parameters "
                "(pooling, dropout and activation layers hold none)",
                "--layer",
            )
    if select is not None:
        pattern = compile_select(select)
        kept = [n for n in names if pattern.match(n)]
        if not kept:
            raise OptionError(
                f"no parameter matches '{select}'"
                f"{no_match_hint(select, pattern, names)} (names: {', '.join(names)})",
                "--select",
            )
        names = kept
    return names
