"""Spec error messages: ``file:line: key.path: problem``, in plain words."""

from __future__ import annotations

from typing import Dict, Optional, Tuple, Union

import yaml
from pydantic import BaseModel, ValidationError

from paraminspect._text import did_you_mean
from paraminspect.spec.locate import kind_of, located
from paraminspect.spec.models import InputSpec, LayerSpec, Spec


def _yaml_message(label: str, e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    where = f"{label}:{mark.line + 1}" if mark is not None else label
    detail = f"{context}, {problem}" if context else problem
    if "expected a single document" in str(e):
        detail = "more than one YAML document ('---'); a spec is one document"
    return f"{where}: invalid YAML: {detail}"


_FRIENDLY = {
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
}


def _pydantic_message(
    label: str, lines: Dict[Tuple[Union[str, int], ...], int], e: ValidationError
) -> str:
    errors = e.errors(include_url=False)
    err = errors[0]
    path = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic names union members in the loc ('int', 'str'); they are not keys of the spec
    path = tuple(p for p in path if p not in ("int", "str", "none"))
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
    line = None
    where = line_path if kind == "extra_forbidden" else path
    for n in range(len(where), -1, -1):
        if where[:n] in lines:
            line = lines[where[:n]]
            break
    more = (
        f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        if len(errors) > 1
        else ""
    )
    return located(label, line, path, msg) + more


def _model_at(path: Tuple[Union[str, int], ...]) -> Optional[type[BaseModel]]:
    if not path:
        return Spec
    if path == ("input",):
        return InputSpec
    if len(path) == 2 and path[0] == "layers":
        return LayerSpec
    return None
