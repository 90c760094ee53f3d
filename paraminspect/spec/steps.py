"""The ``steps:`` of a spec: init/set operations replayed after the first forward pass."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from paraminspect._text import did_you_mean
from paraminspect.choices import SET_OPS
from paraminspect.errors import InitializerError, SpecProblem
from paraminspect.init.catalog import CATALOG, canonical_method, resolve_params
from paraminspect.spec.locate import format_path, kind_of, problem

STEP_KINDS = ("init", "set")


STEP_TARGET_KEYS = ("select", "layer")


class StepProblem(ValueError):
    """A step is malformed; ``path`` is relative to the step (e.g. ``('init', 'sigam')``)."""

    def __init__(self, path: Tuple[Union[str, int], ...], message: str) -> None:
        super().__init__(f"{format_path(path)}: {message}" if path else message)
        self.path = path
        self.message = message


def _step_target(kind: str, body: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"select": None, "layer": ()}
    if "select" in body:
        sel = body["select"]
        if not isinstance(sel, str) or not sel:
            raise StepProblem(
                (kind, "select"), f"must be a regular expression string, got {kind_of(sel)}"
            )
        import re

        try:
            re.compile(sel)
        except re.error as e:
            raise StepProblem(
                (kind, "select"), f"invalid regular expression '{sel}': {e}"
            ) from None
        out["select"] = sel
    if "layer" in body:
        raw = body["layer"]
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise StepProblem((kind, "layer"), "must name at least one layer (index or name)")
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise StepProblem(
                    (kind, "layer"),
                    f"must be a layer index or name (or a list), got {kind_of(item)}",
                )
        out["layer"] = tuple(str(x) for x in items)
    return out


def normalize_step(raw: Any) -> Dict[str, Any]:
    """Check one raw step and return it in :class:`StepSpec`'s shape.

    Raises:
        StepProblem: with the key path inside the step and a message saying what to write.
    """
    example = "{init: {method: normal, sigma: 0.01}} or {set: {select: dense0_weight, add: 1}}"
    if not isinstance(raw, dict) or len(raw) != 1:
        got = kind_of(raw) if not isinstance(raw, dict) else f"{len(raw)} keys"
        raise StepProblem(
            (), f"each step is a mapping with one key, init or set ({example}), got {got}"
        )
    kind, body = next(iter(raw.items()))
    if kind not in STEP_KINDS:
        raise StepProblem(
            (),
            f"unknown step '{kind}'{did_you_mean(str(kind), STEP_KINDS)} (allowed: init, set)",
        )
    if kind == "init" and isinstance(body, str):
        body = {"method": body}
    if not isinstance(body, dict):
        raise StepProblem((kind,), f"must be a mapping like {example}, got {kind_of(body)}")
    if kind == "init":
        if "method" not in body:
            raise StepProblem((kind,), "missing key 'method' (e.g. {init: {method: xavier}})")
        method = body["method"]
        if not isinstance(method, str):
            raise StepProblem((kind, "method"), f"must be a string, got {kind_of(method)}")
        given = {k: v for k, v in body.items() if k not in ("method", *STEP_TARGET_KEYS)}
        try:
            name = canonical_method(method)
        except InitializerError as e:
            raise StepProblem((kind, "method"), str(e)) from None
        allowed = [p.name for p in CATALOG[name].params]
        for key in given:
            if key not in allowed:
                raise StepProblem(
                    (kind, key),
                    f"initializer '{name}' has no parameter '{key}'"
                    f"{did_you_mean(str(key), [*allowed, *STEP_TARGET_KEYS])} "
                    f"(allowed: {', '.join([*allowed, *STEP_TARGET_KEYS])})",
                )
        for key, value in given.items():
            try:
                resolve_params(name, {key: value})
            except InitializerError as e:
                raise StepProblem((kind, key), str(e)) from None
        _, params = resolve_params(name, given)
        return {"init": {"method": name, "params": params, **_step_target(kind, body)}}
    allowed_set = (*STEP_TARGET_KEYS, *SET_OPS)
    for key in body:
        if key not in allowed_set:
            raise StepProblem(
                (kind, key),
                f"unknown key '{key}'{did_you_mean(str(key), allowed_set)} "
                f"(allowed: {', '.join(allowed_set)})",
            )
    ops = [k for k in SET_OPS if k in body]
    if len(ops) != 1:
        raise StepProblem(
            (kind,),
            "needs exactly one of add, scale, fill"
            + (
                f" (got {', '.join(ops)})"
                if ops
                else " (e.g. {set: {select: dense0_weight, add: 1}})"
            ),
        )
    value = body[ops[0]]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise StepProblem(
            (kind, ops[0]), f"must be a finite number, got {kind_of(value)} {value!r}"
        )
    target = _step_target(kind, body)
    if target["select"] is None and not target["layer"]:
        raise StepProblem(
            (kind,),
            "needs 'select' or 'layer' to say which parameters change "
            "(e.g. {set: {select: dense0_weight, add: 1}})",
        )
    return {"set": {"op": ops[0], "value": float(value), **target}}


_TARGET_SCHEMA: Dict[str, Any] = {
    "select": {"type": "string", "description": "regex, like collect_params(REGEX)"},
    "layer": {
        "anyOf": [
            {"type": ["integer", "string"]},
            {"type": "array", "items": {"type": ["integer", "string"]}, "minItems": 1},
        ],
        "description": "layer index or name, or a list of them",
    },
}


class InitStepSpec(BaseModel):
    """``{init: {method: xavier, select: dense0_weight}}``: re-initialize, force_reinit=True."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    params: Dict[str, Any] = Field(default_factory=dict)
    select: Optional[str] = None
    layer: Tuple[str, ...] = ()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Dict[str, Any]:
        # As a spec writes it: an initializer plus the optional select/layer target.
        from paraminspect.init.catalog import init_json_schema

        variants = []
        for variant in init_json_schema()["anyOf"]:
            if variant.get("type") == "object":
                variant = dict(variant, properties={**variant["properties"], **_TARGET_SCHEMA})
            variants.append(variant)
        return {"title": "init step", "anyOf": variants}

    def describe(self) -> str:
        from paraminspect.init.catalog import describe

        return describe(self.method, self.params)


class SetStepSpec(BaseModel):
    """``{set: {select: dense0_weight, add: 1}}``: ``set_data`` on the selected parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Literal["add", "scale", "fill"]
    value: float
    select: Optional[str] = None
    layer: Tuple[str, ...] = ()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Dict[str, Any]:
        # As a spec writes it: {select|layer, add|scale|fill: number}.
        return {
            "title": "set step",
            "type": "object",
            "properties": {**_TARGET_SCHEMA, **{op: {"type": "number"} for op in SET_OPS}},
            "oneOf": [{"required": [op]} for op in SET_OPS],
            "additionalProperties": False,
        }


class StepSpec(BaseModel):
    """One entry of ``steps:``; exactly one of ``init`` and ``set`` is given."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    init: Optional[InitStepSpec] = None
    edit: Optional[SetStepSpec] = Field(default=None, alias="set")

    @model_validator(mode="before")
    @classmethod
    def _normalize(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(isinstance(v, BaseModel) for v in data.values()):
            return data  # built in Python from the step models, not from YAML
        return normalize_step(data)

    @property
    def kind(self) -> str:
        return "init" if self.init is not None else "set"

    @property
    def target(self) -> Tuple[Optional[str], Tuple[str, ...]]:
        body = self.init if self.init is not None else self.edit
        assert body is not None
        return body.select, body.layer


def step_problems(
    data: Dict[str, Any], lines: Dict[Tuple[Union[str, int], ...], int]
) -> List[SpecProblem]:
    """The problem of each bad step of ``steps:``, with its line and key path."""
    steps = data.get("steps")
    if not isinstance(steps, list):
        return []  # absent, or pydantic reports "must be a list"
    out: List[SpecProblem] = []
    for i, raw in enumerate(steps):
        try:
            normalize_step(raw)
        except StepProblem as e:
            path: Tuple[Union[str, int], ...] = ("steps", i, *e.path)
            line = next(
                (lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None
            )
            out.append(problem(line, path, e.message))
    return out
