"""Load and validate YAML specs into frozen pydantic models, with file:line:key-path errors.

Only ``yaml.safe_load``-level constructs are accepted: a spec can never cause code to run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from paraminspect.errors import InitializerError, SpecError
from paraminspect.initializers import CATALOG, canonical_method, did_you_mean, resolve_params

DEFAULT_SPEC = "mlp"
MAX_SPEC_BYTES = 1 << 20  # 1 MiB: a spec is a few dozen lines
MAX_YAML_NODES = 100_000  # after alias expansion: refuses "billion laughs" documents
MAX_DIM = 10**8  # one dimension; the memory estimate guards the totals
MAX_LAYERS = 10_000
MAX_STEPS = 1_000  # entries of steps:

LAYER_TYPES = ("dense", "batchnorm", "layernorm", "dropout", "activation")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "softrelu", "softsign")
PARAMS_BY_TYPE: Dict[str, Tuple[str, ...]] = {
    "dense": ("weight", "bias"),
    "batchnorm": ("gamma", "beta", "running_mean", "running_var"),
    "layernorm": ("gamma", "beta"),
    "dropout": (),
    "activation": (),
}
# Keys that only make sense for some layer types; anything else is refused per type.
KEYS_BY_TYPE: Dict[str, Tuple[str, ...]] = {
    "dense": ("units", "activation", "use_bias", "share", "init"),
    "batchnorm": ("init", "momentum", "epsilon"),
    "layernorm": ("init", "epsilon"),
    "dropout": ("rate",),
    "activation": ("activation",),
}
COMMON_KEYS = ("type", "name")

Dim = Field(ge=1, le=MAX_DIM)


class InitSpec(BaseModel):
    """An initializer: ``{method: normal, sigma: 0.01}``; parameters sit beside ``method``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    params: Dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split(cls, data: Any) -> Any:
        if isinstance(data, str):
            data = {"method": data}
        if not isinstance(data, dict):
            raise ValueError(
                f"must be a mapping like {{method: normal, sigma: 0.01}}, got {_kind(data)}"
            )
        if "method" not in data:
            raise ValueError("missing key 'method' (e.g. {method: xavier})")
        if not isinstance(data["method"], str):
            raise ValueError(f"'method' must be a string, got {_kind(data['method'])}")
        given = {k: v for k, v in data.items() if k != "method"}
        try:
            name, params = resolve_params(data["method"], given)
        except InitializerError as e:
            raise ValueError(str(e)) from None
        return {"method": name, "params": params}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Dict[str, Any]:
        # The model stores {method, params}; the schema describes what a spec writes.
        from paraminspect.initializers import init_json_schema

        return init_json_schema()

    def describe(self) -> str:
        from paraminspect.initializers import describe

        return describe(self.method, self.params)


class InputSpec(BaseModel):
    """The input batch ``X``: its shape (batch first) and how it is drawn."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    shape: List[int] = Field(min_length=2, max_length=8)
    dist: Literal["uniform", "normal"] = "uniform"

    @field_validator("shape")
    @classmethod
    def _positive(cls, shape: List[int]) -> List[int]:
        for d in shape:
            if d < 1 or d > MAX_DIM:
                raise ValueError(f"every dimension must be between 1 and {MAX_DIM:,}, got {d}")
        return shape


class LayerSpec(BaseModel):
    """One layer; ``type`` defaults to dense. See the README's spec reference."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    type: str = "dense"
    name: Optional[str] = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    units: Optional[int] = Field(default=None, ge=1, le=MAX_DIM)
    activation: Optional[str] = None
    use_bias: bool = True
    share: Union[int, str, None] = None
    init: Optional[Dict[str, InitSpec]] = None
    rate: Optional[float] = Field(default=None, ge=0.0, lt=1.0)
    momentum: float = Field(default=0.9, ge=0.0, le=1.0)
    epsilon: float = Field(default=1e-5, gt=0.0)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in LAYER_TYPES:
            raise ValueError(
                f"unknown layer type '{value}'{did_you_mean(value, LAYER_TYPES)} "
                f"(allowed: {', '.join(LAYER_TYPES)})"
            )
        return value

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation '{value}'{did_you_mean(value, ACTIVATIONS)} "
                f"(allowed: {', '.join(ACTIVATIONS)})"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _keys_for_type(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kind = data.get("type", "dense")
        if kind not in LAYER_TYPES:
            return data  # the type validator reports it
        allowed = COMMON_KEYS + KEYS_BY_TYPE[kind]
        for key in data:
            if key not in allowed and key in LayerSpec.model_fields:
                raise ValueError(
                    f"key '{key}' does not apply to a {kind} layer (allowed: {', '.join(allowed)})"
                )
        if kind == "dense" and "units" not in data:
            raise ValueError("a dense layer needs 'units' (e.g. {units: 256, activation: relu})")
        if kind == "dropout" and "rate" not in data:
            raise ValueError("a dropout layer needs 'rate' (e.g. {type: dropout, rate: 0.5})")
        if kind == "activation" and data.get("activation") is None:
            raise ValueError("an activation layer needs 'activation' (e.g. relu)")
        init = data.get("init")
        if isinstance(init, dict):
            names = PARAMS_BY_TYPE[kind]
            for key in init:
                if key not in names:
                    raise ValueError(
                        f"init key '{key}' is not a parameter of a {kind} layer"
                        f"{did_you_mean(str(key), names)} (allowed: {', '.join(names) or 'none'})"
                    )
            if "bias" in init and data.get("use_bias") is False:
                raise ValueError("init.bias given but use_bias is false")
        return data


class Spec(BaseModel):
    """A whole spec file."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: Optional[str] = None
    input: InputSpec
    init: Optional[InitSpec] = None
    layers: List[LayerSpec] = Field(min_length=1, max_length=MAX_LAYERS)
    steps: List[StepSpec] = Field(default_factory=list, max_length=MAX_STEPS)


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec together with where it came from (for messages and reports)."""

    spec: Spec
    source: str  # the path, or "builtin:NAME"
    lines: Dict[Tuple[Union[str, int], ...], int]

    @property
    def name(self) -> str:
        if self.spec.name:
            return self.spec.name
        return Path(self.source.replace("builtin:", "")).stem

    def line_of(self, path: Tuple[Union[str, int], ...]) -> Optional[int]:
        """The line of the longest prefix of ``path`` that the YAML document has."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def error(self, path: Tuple[Union[str, int], ...], message: str) -> SpecError:
        """A :class:`SpecError` naming file, line and key path."""
        return SpecError(_located(self.source, self.line_of(path), path, message))


SCHEMA_URL_COMMENT = "# yaml-language-server: $schema=spec.schema.json"


def json_schema() -> Dict[str, Any]:
    """The JSON Schema of the spec format, generated from the pydantic models."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "paraminspect spec"
    return schema


# --------------------------------------------------------------------------- loading


def builtin_names() -> List[str]:
    """Names of the specs shipped inside the package (``mlp``, ``shared``, ...)."""
    folder = resources.files("paraminspect") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_spec_text(source: Optional[str]) -> Tuple[str, str]:
    """Return ``(text, label)`` for a path or a built-in name (default: ``mlp``).

    Raises:
        SpecError: no such file or built-in, a directory, too large, or not UTF-8 text.
    """
    source = DEFAULT_SPEC if source is None else source
    path = Path(source)
    if not path.exists():
        if source in builtin_names():
            res = resources.files("paraminspect") / "configs" / f"{source}.yaml"
            return res.read_text(encoding="utf-8"), f"builtin:{source}"
        raise SpecError(
            f"spec '{source}' not found: no such file and no built-in spec of that name"
            f"{did_you_mean(source, builtin_names())} (built-ins: {', '.join(builtin_names())})"
        )
    if path.is_dir():
        raise SpecError(f"{source}: is a directory; give a spec file such as {source}/mlp.yaml")
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(
                f"{source}: {size:,} bytes is too large for a spec (limit {MAX_SPEC_BYTES:,})"
            )
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError(f"{source}: cannot read: {e.strerror}") from None
    if b"\x00" in raw:
        raise SpecError(f"{source}: is a binary file, not a YAML spec")
    try:
        return raw.decode("utf-8"), source
    except UnicodeDecodeError:
        raise SpecError(f"{source}: is not UTF-8 text; save the spec as UTF-8") from None


def load_spec(source: Optional[str] = None) -> LoadedSpec:
    """Read, parse and fully validate a spec, sharing links included (MXNet is not imported).

    Args:
        source: a file path or a built-in name; ``None`` means the built-in ``mlp``.

    Returns:
        The validated spec with its source label and YAML line marks.

    Raises:
        SpecError: with ``file:line: key.path: problem`` in the message.
    """
    text, label = read_spec_text(source)
    return parse_spec(text, label)


def parse_spec(text: str, label: str = "<spec>") -> LoadedSpec:
    """Validate spec text (see :func:`load_spec`)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise SpecError(_yaml_message(label, e)) from None
    if node is None:
        raise SpecError(f"{label}: the spec is empty; it needs at least 'input' and 'layers'")
    lines: Dict[Tuple[Union[str, int], ...], int] = {}
    _walk(node, (), lines, [0], label)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:  # pragma: no cover - compose already parsed it
        raise SpecError(_yaml_message(label, e)) from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{label}:{node.start_mark.line + 1}: the spec must be a mapping with keys "
            f"'input' and 'layers', got {_kind(data)}"
        )
    check_raw_steps(data, label, lines)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as e:
        raise SpecError(_pydantic_message(label, lines, e)) from None
    loaded = LoadedSpec(spec=spec, source=label, lines=lines)
    from paraminspect.plan import make_plan

    plan = make_plan(loaded)  # sharing and naming rules; raises SpecError with a line
    from paraminspect.steps import check_step_targets

    check_step_targets(loaded, plan)  # what each step selects exists and suits its method
    return loaded


# --------------------------------------------------------------------------- messages


def _kind(value: Any) -> str:
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


def _located(label: str, line: Optional[int], path: Tuple[Union[str, int], ...], msg: str) -> str:
    where = f"{label}:{line}" if line else label
    return f"{where}: {format_path(path)}: {msg}" if path else f"{where}: {msg}"


def _yaml_message(label: str, e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    where = f"{label}:{mark.line + 1}" if mark is not None else label
    detail = f"{context}, {problem}" if context else problem
    if "expected a single document" in str(e):
        detail = "more than one YAML document ('---'); a spec is one document"
    return f"{where}: invalid YAML: {detail}"


def _walk(
    node: yaml.Node,
    path: Tuple[Union[str, int], ...],
    lines: Dict[Tuple[Union[str, int], ...], int],
    count: List[int],
    label: str,
) -> None:
    count[0] += 1
    if count[0] > MAX_YAML_NODES:
        raise SpecError(
            f"{label}: the document expands to more than {MAX_YAML_NODES:,} YAML nodes "
            "(an alias bomb?); write the spec out plainly"
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: Dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in seen:
                raise SpecError(
                    _located(
                        label,
                        key_node.start_mark.line + 1,
                        path,
                        f"duplicate key '{key}' (first at line {seen[key]}); keep one",
                    )
                )
            seen[key] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, count, label)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, count, label)


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
            f"{_FRIENDLY[kind]}, got {_kind(value)} {value!r}"
            if not isinstance(value, (dict, list))
            else f"{_FRIENDLY[kind]}, got {_kind(value)}"
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
    return _located(label, line, path, msg) + more


def _model_at(path: Tuple[Union[str, int], ...]) -> Optional[type[BaseModel]]:
    if not path:
        return Spec
    if path == ("input",):
        return InputSpec
    if len(path) == 2 and path[0] == "layers":
        return LayerSpec
    return None


# --------------------------------------------------------------------------- steps
#
# ``steps:`` is an ordered list of edits applied after the first forward pass, each one the
# same as a command: ``{init: {method: normal, sigma: 0.01, select: REGEX, layer: N}}`` or
# ``{set: {select: REGEX, add: 1}}`` (exactly one of add, scale, fill). The raw YAML is
# checked by :func:`normalize_step` before pydantic runs, so every problem carries the exact
# key path and line; what the steps select is checked against the plan afterwards
# (:func:`paraminspect.steps.check_step_targets`).

STEP_KINDS = ("init", "set")
STEP_TARGET_KEYS = ("select", "layer")
SET_OPS = ("add", "scale", "fill")


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
                (kind, "select"), f"must be a regular expression string, got {_kind(sel)}"
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
                    (kind, "layer"), f"must be a layer index or name (or a list), got {_kind(item)}"
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
        got = _kind(raw) if not isinstance(raw, dict) else f"{len(raw)} keys"
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
        raise StepProblem((kind,), f"must be a mapping like {example}, got {_kind(body)}")
    if kind == "init":
        if "method" not in body:
            raise StepProblem((kind,), "missing key 'method' (e.g. {init: {method: xavier}})")
        method = body["method"]
        if not isinstance(method, str):
            raise StepProblem((kind, "method"), f"must be a string, got {_kind(method)}")
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
        raise StepProblem((kind, ops[0]), f"must be a finite number, got {_kind(value)} {value!r}")
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
        from paraminspect.initializers import init_json_schema

        variants = []
        for variant in init_json_schema()["anyOf"]:
            if variant.get("type") == "object":
                variant = dict(variant, properties={**variant["properties"], **_TARGET_SCHEMA})
            variants.append(variant)
        return {"title": "init step", "anyOf": variants}

    def describe(self) -> str:
        from paraminspect.initializers import describe

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


def check_raw_steps(
    data: Dict[str, Any], label: str, lines: Dict[Tuple[Union[str, int], ...], int]
) -> None:
    """Check ``steps:`` before pydantic does, so errors name the exact key and line.

    Raises:
        SpecError: ``file:line: steps[i].init.sigam: ...``.
    """
    steps = data.get("steps")
    if not isinstance(steps, list):
        return  # absent, or pydantic reports "must be a list"
    for i, raw in enumerate(steps):
        try:
            normalize_step(raw)
        except StepProblem as e:
            path: Tuple[Union[str, int], ...] = ("steps", i, *e.path)
            line = next(
                (lines[path[:n]] for n in range(len(path), -1, -1) if path[:n] in lines), None
            )
            raise SpecError(_located(label, line, path, e.message)) from None


Spec.model_rebuild()
