"""Spec error messages: ``file:line: key.path: problem``, in plain words."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import yaml
from pydantic import BaseModel, ValidationError

from paraminspect._text import did_you_mean
from paraminspect.errors import SpecError, SpecProblem
from paraminspect.spec.locate import format_path, kind_of, spec_error
from paraminspect.spec.models import InputSpec, LayerSpec, Spec


def yaml_error(label: str, e: yaml.YAMLError) -> SpecError:
    """A YAML syntax error in plain words, at the line the user has to fix."""
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None) or ""
    opened = getattr(e, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    detail = f"{context}, {problem}" if context else problem
    if "expected a single document" in str(e):
        detail = "more than one YAML document ('---'); a spec is one document"
    elif "'\\t'" in problem:
        col = f" (column {mark.column + 1})" if mark is not None else ""
        detail = f"a tab character{col}: YAML indents with spaces only; replace it with spaces"
    elif "expected <block end>" in problem and "block sequence start" in problem:
        start = f" (line {opened.line + 1})" if opened is not None else ""
        detail = (
            f"this '-' item is indented more than the list it continues{start}; "
            "line its '-' up with the other items"
        )
    elif "expected <block end>" in problem:
        start = f" (line {opened.line + 1})" if opened is not None else ""
        detail = (
            f"this line is indented differently from the keys above it{start}; "
            "indent it like its siblings (spaces only)"
        )
    elif "flow sequence" in context or "flow mapping" in context:
        bracket, close = ("[", "]") if "sequence" in context else ("{", "}")
        where = f" (YAML gave up at line {line})" if line else ""
        if opened is not None:
            line = opened.line + 1
        detail = (
            f"the '{bracket}' opened on this line is never closed{where}; "
            f"close it with '{close}', with ',' between items"
        )
    elif "quoted scalar" in context:
        if opened is not None:
            line = opened.line + 1
        detail = "the quote opened on this line is never closed; close it"
    elif "mapping values are not allowed" in problem:
        detail = (
            "a ':' where no key can start: is this line indented more than the one above, "
            "or does a value contain ': '? (quote such a value)"
        )
    return spec_error(label, [SpecProblem(line, "", f"invalid YAML: {detail}")])


_FRIENDLY = {
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
}


def _pydantic_error(
    label: str,
    lines: Dict[Tuple[Union[str, int], ...], int],
    e: ValidationError,
    earlier: Sequence[SpecProblem] = (),
) -> SpecError:
    """Every problem pydantic found (after ``earlier`` ones), in line order."""
    found: List[SpecProblem] = list(earlier)
    union_paths = set()
    for err in e.errors(include_url=False):
        for p in _unknown_keys_inside(err, lines):
            if p not in found:
                found.append(p)
        if any(part in ("int", "str", "none") for part in err["loc"]):
            # pydantic reports a value against each member of a union (share: int | str);
            # the first one says it well enough
            if _clean(err["loc"]) in union_paths:
                continue
            union_paths.add(_clean(err["loc"]))
        p = _one_problem(lines, err)
        if p not in found:
            found.append(p)
    found.sort(key=lambda p: p.line or 0)  # stable: a line's problems keep pydantic's order
    return spec_error(label, found)


def _unknown_keys_inside(
    err: Any, lines: Dict[Tuple[Union[str, int], ...], int]
) -> List[SpecProblem]:
    """Unknown keys of a mapping that a whole-mapping check rejected first.

    A layer without ``units`` fails in a model validator before pydantic looks at its keys,
    so ``{unit: 8}`` would get "needs 'units'" alone; the misspelt key is the real news.
    """
    value = err.get("input")
    path = _clean(err["loc"])
    model = _model_at(path)
    if err["type"] != "value_error" or model is None or not isinstance(value, dict):
        return []
    allowed = tuple(model.model_fields)
    out = []
    for key in value:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            msg = f"unknown key '{key}'{hint} (allowed: {', '.join(allowed)})"
            out.append(SpecProblem(_line(lines, (*path, key)), format_path(path), msg))
    return out


def _clean(loc: Any) -> Tuple[Union[str, int], ...]:
    path = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic names union members in the loc ('int', 'str'); they are not keys of the spec
    return tuple(p for p in path if p not in ("int", "str", "none"))


def _line(
    lines: Dict[Tuple[Union[str, int], ...], int], where: Tuple[Union[str, int], ...]
) -> Optional[int]:
    for n in range(len(where), -1, -1):
        if where[:n] in lines:
            return lines[where[:n]]
    return None


def _one_problem(lines: Dict[Tuple[Union[str, int], ...], int], err: Any) -> SpecProblem:
    path = _clean(err["loc"])
    kind = err["type"]
    value = err.get("input")
    line_path = path
    if kind == "extra_forbidden":
        parent = path[:-1]
        model = _model_at(parent)
        allowed = tuple(model.model_fields) if model is not None else ()
        msg = f"unknown key '{path[-1]}'{did_you_mean(str(path[-1]), allowed)}"
        if allowed:
            msg += f" (allowed: {', '.join(allowed)})"
        line_path, path = path, parent  # the line of the key, the path of its mapping
    elif kind == "missing":
        msg = f"missing required key '{path[-1]}'"
        path = path[:-1]
    elif kind in _FRIENDLY:
        msg = (
            f"{_FRIENDLY[kind]}, got {kind_of(value)} {value!r}"
            if not isinstance(value, (dict, list))
            else f"{_FRIENDLY[kind]}, got {kind_of(value)}"
        )
    elif kind == "value_error":
        msg = str(err["msg"]).removeprefix("Value error, ")
    elif kind in ("too_short", "too_long"):
        ctx = err.get("ctx", {})
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        word = "at least" if kind == "too_short" else "at most"
        n = len(value) if isinstance(value, (list, tuple, str)) else "?"
        msg = f"needs {word} {bound} entr{'y' if bound == 1 else 'ies'}, got {n}"
        if path == ("input", "shape"):
            msg += " (batch first, e.g. [2, 20])"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        ctx = err.get("ctx", {})
        op = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }[kind]
        bound = next(iter(ctx.values()), "?")
        msg = f"must be {op} {bound:,}" if isinstance(bound, int) else f"must be {op} {bound}"
        msg += f", got {value!r}"
    elif kind == "string_pattern_mismatch":
        msg = (
            f"'{value}' is not a valid name: use letters, digits and '_', "
            "starting with a letter or '_' (at most 64 characters)"
        )
    else:
        msg = str(err["msg"])
        if value is not None and not isinstance(value, (dict, list)):
            msg += f", got {value!r}"
    where = line_path if kind == "extra_forbidden" else path
    return SpecProblem(_line(lines, where), format_path(path), msg)


def _model_at(path: Tuple[Union[str, int], ...]) -> Optional[type[BaseModel]]:
    if not path:
        return Spec
    if path == ("input",):
        return InputSpec
    if len(path) == 2 and path[0] == "layers":
        return LayerSpec
    return None
