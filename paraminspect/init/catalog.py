"""The initializer catalog: names, typed parameters, formulas, and MXNet objects built from them.

The catalog is plain data so that spec validation and ``init --list`` never import MXNet;
only :func:`make_initializer` does, when a network is really built.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from paraminspect._text import did_you_mean
from paraminspect.errors import InitializerError, OptionError


@dataclass(frozen=True)
class InitParam:
    """One parameter of an initializer, with its type and the values MXNet accepts."""

    name: str
    kind: str  # "float" | "str"
    default: Any
    choices: Tuple[str, ...] = ()
    minimum: Optional[float] = None  # inclusive lower bound for floats
    help: str = ""


@dataclass(frozen=True)
class InitMethod:
    """A catalog entry: the MXNet class it stands for, its parameters and its formula."""

    name: str
    mxnet_class: str
    formula: str
    params: Tuple[InitParam, ...] = ()
    aliases: Tuple[str, ...] = ()
    weight_only: bool = False  # needs a >= 2-D array (fan_in/fan_out)
    notes: str = ""
    param_map: Mapping[str, str] = field(default_factory=dict)

    def param(self, name: str) -> Optional[InitParam]:
        return next((p for p in self.params if p.name == name), None)


_FACTOR = ("avg", "in", "out")


CATALOG: Dict[str, InitMethod] = {
    m.name: m
    for m in (
        InitMethod(
            "uniform",
            "Uniform",
            "U(-scale, scale)",
            (InitParam("scale", "float", 0.07, minimum=0.0, help="half-width of the interval"),),
            notes="MXNet's default for weights (scale 0.07)",
        ),
        InitMethod(
            "normal",
            "Normal",
            "N(0, sigma^2)",
            (InitParam("sigma", "float", 0.01, minimum=0.0, help="standard deviation"),),
        ),
        InitMethod(
            "constant",
            "Constant",
            "every value = value",
            (InitParam("value", "float", 0.0, help="the constant"),),
        ),
        InitMethod("one", "One", "every value = 1", aliases=("ones",)),
        InitMethod("zero", "Zero", "every value = 0", aliases=("zeros",)),
        InitMethod(
            "xavier",
            "Xavier",
            "scale = sqrt(magnitude / factor), factor = avg|in|out of fan_in, fan_out; "
            "U(-scale, scale) or N(0, scale^2)",
            (
                InitParam("rnd_type", "str", "uniform", choices=("uniform", "gaussian")),
                InitParam("factor_type", "str", "avg", choices=_FACTOR),
                InitParam("magnitude", "float", 3.0, minimum=0.0),
            ),
            weight_only=True,
            notes="fan_in = shape[1]*prod(shape[2:]), fan_out = shape[0]*prod(shape[2:])",
        ),
        InitMethod(
            "msraprelu",
            "MSRAPrelu",
            "Xavier(gaussian, factor_type, magnitude = 2 / (1 + slope^2))",
            (
                InitParam("factor_type", "str", "avg", choices=_FACTOR),
                InitParam("slope", "float", 0.25),
            ),
            weight_only=True,
        ),
        InitMethod(
            "orthogonal",
            "Orthogonal",
            "scale * an orthonormal matrix from the SVD of a U(-1,1) or N(0,1) draw",
            (
                InitParam("scale", "float", 1.414, minimum=0.0),
                InitParam("rand_type", "str", "uniform", choices=("uniform", "normal")),
            ),
            weight_only=True,
        ),
        InitMethod(
            "bilinear",
            "Bilinear",
            "bilinear upsampling kernel (for 4-D deconvolution weights)",
            weight_only=True,
            notes="needs a 4-D weight; dense weights are 2-D",
        ),
        InitMethod(
            "lstmbias",
            "LSTMBias",
            "zeros, with the forget-gate quarter set to forget_bias",
            (InitParam("forget_bias", "float", 1.0),),
            notes="meant for LSTM biases: length divisible by 4",
        ),
        InitMethod(
            "myinit",
            "MyInit (the book's 4.2.3)",
            "U(low, high), then values with |w| < threshold set to 0",
            (
                InitParam("low", "float", -10.0),
                InitParam("high", "float", 10.0),
                InitParam("threshold", "float", 5.0, minimum=0.0),
            ),
            notes="the book's custom initializer; prints 'Init NAME SHAPE' for each weight",
        ),
    )
}


_ALIASES = {alias: m.name for m in CATALOG.values() for alias in m.aliases}

# Initializers that accept only one number of dimensions (MXNet fails deep inside otherwise).
_EXACT_NDIM = {"bilinear": 4}


def fits_ndim(method_name: str, ndim: int) -> bool:
    """Whether ``method_name`` can initialize an array of ``ndim`` dimensions."""
    m = CATALOG[method_name]
    if method_name in _EXACT_NDIM:
        return ndim == _EXACT_NDIM[method_name]
    return ndim >= 2 or not m.weight_only


def shape_problem(method_name: str, ndim: int, what: str) -> Optional[str]:
    """Why ``method_name`` cannot initialize ``what`` (an ``ndim``-D array), or None.

    The message names the initializers that can, so a spec error says what to write.
    """
    if fits_ndim(method_name, ndim):
        return None
    allowed = ", ".join(n for n in CATALOG if fits_ndim(n, ndim))
    if method_name in _EXACT_NDIM:
        need = f"a {_EXACT_NDIM[method_name]}-D array"
    else:
        need = "at least 2 dimensions (fan_in, fan_out)"
    return (
        f"{method_name} needs {need}, but {what} is {ndim}-D; "
        f"initializers for it: {allowed} (see paraminspect init --list)"
    )


def canonical_method(name: str) -> str:
    """Return the catalog name for ``name`` (aliases such as ``ones`` included).

    Raises:
        InitializerError: the name is not in the catalog.
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in CATALOG:
        names = sorted(CATALOG) + sorted(_ALIASES)
        raise InitializerError(
            f"unknown initializer '{name}'{did_you_mean(key, names)} "
            f"(known: {', '.join(sorted(CATALOG))}; see `paraminspect init --list`)"
        )
    return key


def _coerce(method: InitMethod, p: InitParam, value: Any) -> Any:
    where = f"{method.name} parameter '{p.name}'"
    if p.kind == "str":
        if not isinstance(value, str) or value not in p.choices:
            raise InitializerError(
                f"{where} must be one of {', '.join(p.choices)}, got {value!r}"
                + (did_you_mean(value, p.choices) if isinstance(value, str) else "")
            )
        return value
    if isinstance(value, bool):
        raise InitializerError(f"{where} must be a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise InitializerError(f"{where} must be a number, got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise InitializerError(f"{where} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InitializerError(f"{where} must be finite, got {value!r}")
    if p.minimum is not None and value < p.minimum:
        raise InitializerError(f"{where} must be >= {p.minimum:g}, got {value:g}")
    return value


def resolve_params(method_name: str, params: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
    """Check an initializer's parameters and fill in MXNet's defaults.

    Args:
        method_name: a catalog name or alias, any case.
        params: user-given parameters; values may be strings (from ``--param K=V``).

    Returns:
        The canonical method name and a complete, typed parameter dict.

    Raises:
        InitializerError: unknown method or parameter, wrong type or out-of-range value.
    """
    name = canonical_method(method_name)
    method = CATALOG[name]
    resolved = {p.name: p.default for p in method.params}
    for key, value in params.items():
        p = method.param(key)
        if p is None:
            allowed = ", ".join(x.name for x in method.params) or "none"
            raise InitializerError(
                f"initializer '{name}' has no parameter '{key}'"
                f"{did_you_mean(key, [x.name for x in method.params])} (allowed: {allowed})"
            )
        resolved[key] = _coerce(method, p, value)
    if name == "myinit" and resolved["low"] > resolved["high"]:
        raise InitializerError(
            f"myinit needs low <= high, got low={resolved['low']:g} high={resolved['high']:g}"
        )
    return name, resolved


def describe(method_name: str, params: Mapping[str, Any]) -> str:
    """Short text such as ``normal(sigma=0.01)`` for tables."""
    method = CATALOG[method_name]
    shown = [
        f"{p.name}={params[p.name]:g}" if p.kind == "float" else f"{p.name}={params[p.name]}"
        for p in method.params
    ]
    return f"{method_name}({', '.join(shown)})" if shown else method_name


def make_initializer(method_name: str, params: Mapping[str, Any]) -> Any:
    """Build the MXNet initializer object for a resolved catalog entry (imports MXNet)."""
    import mxnet as mx

    name, p = resolve_params(method_name, params)
    if name == "uniform":
        return mx.init.Uniform(scale=p["scale"])
    if name == "normal":
        return mx.init.Normal(sigma=p["sigma"])
    if name == "constant":
        return mx.init.Constant(p["value"])
    if name == "one":
        return mx.init.One()
    if name == "zero":
        return mx.init.Zero()
    if name == "xavier":
        return mx.init.Xavier(
            rnd_type=p["rnd_type"], factor_type=p["factor_type"], magnitude=p["magnitude"]
        )
    if name == "msraprelu":
        return mx.init.MSRAPrelu(factor_type=p["factor_type"], slope=p["slope"])
    if name == "orthogonal":
        return mx.init.Orthogonal(scale=p["scale"], rand_type=p["rand_type"])
    if name == "bilinear":
        return mx.init.Bilinear()
    if name == "lstmbias":
        return mx.init.LSTMBias(forget_bias=p["forget_bias"])
    if name == "myinit":
        from paraminspect.init.myinit import MyInit

        return MyInit(low=p["low"], high=p["high"], threshold=p["threshold"])
    raise AssertionError(f"catalog entry without a builder: {name}")  # pragma: no cover


def init_json_schema() -> Dict[str, Any]:
    """JSON Schema of an initializer as a spec writes it, generated from :data:`CATALOG`."""
    variants: list = [{"type": "string", "enum": sorted([*CATALOG, *_ALIASES])}]
    for method in CATALOG.values():
        props: Dict[str, Any] = {"method": {"enum": [method.name, *method.aliases]}}
        for p in method.params:
            if p.kind == "str":
                prop: Dict[str, Any] = {"type": "string", "enum": list(p.choices)}
            else:
                prop = {"type": "number"}
                if p.minimum is not None:
                    prop["minimum"] = p.minimum
            prop["default"] = p.default
            if p.help:
                prop["description"] = p.help
            props[p.name] = prop
        variants.append(
            {
                "type": "object",
                "title": method.name,
                "description": method.formula,
                "properties": props,
                "required": ["method"],
                "additionalProperties": False,
            }
        )
    return {"title": "Initializer", "anyOf": variants}


_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_param_pairs(
    pairs: Sequence[str], option: str = "--param", example: Optional[str] = None
) -> Dict[str, str]:
    """``('sigma=0.01', ' rnd_type = gaussian ')`` -> ``{'sigma': '0.01', 'rnd_type':
    'gaussian'}``: the one ``KEY=VALUE`` parser of ``init --param``, ``summary --param`` and
    ``summary --compare``. Values stay strings (:func:`resolve_params` coerces them, or
    :func:`parse_param_value` for a plugin).

    Args:
        pairs: the ``KEY=VALUE`` strings; spaces around keys and values are dropped.
        option: the option named in errors.
        example: a correct use for the error message (default ``OPTION sigma=0.01``).

    Raises:
        OptionError: an item without ``=``, a key that is not a Python name, or a key
            given twice.
    """
    out: Dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq or not _KEY.match(key):
            hint = example or f"{option} sigma=0.01"
            raise OptionError(f"'{pair}' is not KEY=VALUE (e.g. {hint})", option)
        if key in out:
            raise OptionError(f"'{key}' is given twice", option)
        out[key] = value.strip()
    return out


def parse_param_value(text: str) -> Any:
    """A ``--param`` value for a plugin: YAML scalar rules (``1`` int, ``0.5`` float, text)."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, str, bool)) or value is None else text


def resolve_option(
    method: str, params: Mapping[str, Any], option: str, param_option: Optional[str] = None
) -> Tuple[str, Dict[str, Any]]:
    """A catalog initializer from a command-line name and ``K=V`` parameters.

    Raises:
        OptionError: an unknown method (naming ``option``) or a bad parameter (naming
            ``param_option``, by default ``option``).
    """
    try:
        name = canonical_method(method)
    except InitializerError as e:
        raise OptionError(str(e), option) from None
    try:
        return resolve_params(name, params)
    except InitializerError as e:
        raise OptionError(str(e), param_option or option) from None
