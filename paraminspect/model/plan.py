"""The static plan of a spec: Gluon names, shapes, sharing and sizes, without MXNet.

Everything here follows from the spec alone, so ``check``, memory estimates and tables of
models too large to allocate need no MXNet. :mod:`paraminspect.build` uses the same plan
to give every Gluon block its prefix, so the names here are the names MXNet uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Dict, List, Optional, Tuple

from paraminspect.model.layout import InputDesc, LayerDesc, Layout, ParamDesc
from paraminspect.spec.fields import PARAMS_BY_TYPE, InitSpec
from paraminspect.spec.load import LoadedSpec
from paraminspect.spec.models import LayerSpec

BYTES_PER_VALUE = 4  # float32, the only dtype a spec builds


MXNET_DEFAULT_INIT = "uniform(scale=0.07)"  # what Block.initialize() uses for weights


# The Gluon block each spec layer type builds: a Layout names layers by their class for
# every source, so a spec's rows read as the same net's rows written in Python.
GLUON_CLASS = {
    "dense": "Dense",
    "batchnorm": "BatchNorm",
    "layernorm": "LayerNorm",
    "dropout": "Dropout",
    "activation": "Activation",
}


# Per-parameter initializers the Gluon layers set themselves (they win over a net-wide init).
LAYER_DEFAULT_INIT = {
    "bias": "zero",
    "gamma": "one",
    "beta": "zero",
    "running_mean": "zero",
    "running_var": "one",
}


@dataclass(frozen=True)
class ParamPlan:
    """One parameter tensor as MXNet will name and shape it."""

    name: str  # e.g. dense0_weight
    short: str  # e.g. weight
    shape: Tuple[int, ...]  # the shape after the first forward pass
    deferred_shape: Tuple[int, ...]  # the shape before it (0 for unknown input width)
    grad_req: str
    init: str  # the effective initializer, described
    owner: int  # index of the layer that created it

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class LayerPlan:
    """One layer: its Gluon name, what flows in and out, and the parameters it uses."""

    index: int
    name: str  # Gluon name without the trailing '_' (dense0, hidden, ...)
    type: str
    activation: Optional[str]
    in_shape: Tuple[int, ...]
    out_shape: Tuple[int, ...]
    params: Tuple[ParamPlan, ...]  # used by this layer, shared ones included
    shares_with: Optional[int]  # index of the layer whose parameters it uses
    spec: LayerSpec

    @property
    def prefix(self) -> str:
        return f"{self.name}_"

    @property
    def param_count(self) -> int:
        return sum(p.size for p in self.params)

    @property
    def macs(self) -> int:
        """Forward MACs for the batch: ``batch * in_width * units`` for dense, else 0."""
        if self.type != "dense":
            return 0
        return self.in_shape[0] * math.prod(self.in_shape[1:]) * self.out_shape[1]


@dataclass(frozen=True)
class NetPlan:
    """The whole network as the spec describes it."""

    name: str
    input_shape: Tuple[int, ...]
    layers: Tuple[LayerPlan, ...]
    input_dist: str = "uniform"

    @cached_property
    def layout(self) -> Layout:
        """The source-independent description: what every source gives every action."""
        users = self.users
        params = tuple(
            ParamDesc(p.name, p.shape, "float32", p.grad_req, p.init, users[p.name])
            for p in self.unique_params
        )
        layers = tuple(
            LayerDesc(
                index=lp.index,
                name=lp.name,
                path=str(lp.index),
                type=GLUON_CLASS.get(lp.type, lp.type),
                depth=0,
                out_shape=lp.out_shape,
                params=tuple(p.name for p in lp.params),
                macs=lp.macs,
                activation=lp.activation,
                in_shape=lp.in_shape,
            )
            for lp in self.layers
        )
        inputs = (InputDesc("data", self.input_shape, dist=self.input_dist),)
        return Layout(self.name, inputs, layers, params)

    @property
    def unique_params(self) -> Tuple[ParamPlan, ...]:
        """Each tensor once, in Gluon's ``collect_params`` order."""
        seen: Dict[str, ParamPlan] = {}
        for layer in self.layers:
            for p in layer.params:
                seen.setdefault(p.name, p)
        return tuple(seen.values())

    @property
    def users(self) -> Dict[str, Tuple[int, ...]]:
        """Parameter name -> indices of every layer that uses it."""
        out: Dict[str, List[int]] = {}
        for layer in self.layers:
            for p in layer.params:
                out.setdefault(p.name, []).append(layer.index)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def total_params(self) -> int:
        """Each use counted (Block.summary's 'Total params')."""
        return sum(layer.param_count for layer in self.layers)

    @property
    def unique_count(self) -> int:
        return sum(p.size for p in self.unique_params)

    @property
    def param_bytes(self) -> int:
        return self.unique_count * BYTES_PER_VALUE

    @property
    def activation_bytes(self) -> int:
        """Input plus every layer's output for one batch (a forward pass keeps them all)."""
        values = math.prod(self.input_shape) + sum(math.prod(x.out_shape) for x in self.layers)
        return values * BYTES_PER_VALUE

    def estimate_bytes(self, forward: bool = True, backward: bool = False) -> int:
        """Rough peak memory: parameters, their gradient buffers and the activations."""
        total = 2 * self.param_bytes  # Gluon allocates a gradient buffer for every parameter
        if forward:
            total += self.activation_bytes * (2 if backward else 1)
        return total


class _PlanError(Exception):
    def __init__(self, path: Tuple[object, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def make_plan(loaded: LoadedSpec) -> NetPlan:
    """Work out names, shapes and sharing for a validated spec.

    Raises:
        SpecError: duplicate or clashing names, or a ``share`` that cannot work (unknown,
            later or same layer, not dense, different units or input width).
    """
    try:
        return _plan(loaded)
    except _PlanError as e:
        raise loaded.error(e.path, str(e)) from None  # type: ignore[arg-type]


def _auto_names(layers: List[LayerSpec]) -> List[str]:
    # Gluon counts unnamed blocks per class: dense0, dense1, batchnorm0, ...
    counters: Dict[str, int] = {}
    names = []
    for layer in layers:
        if layer.name is not None:
            names.append(layer.name)
            continue
        n = counters.get(layer.type, 0)
        counters[layer.type] = n + 1
        names.append(f"{layer.type}{n}")
    return names


def _plan(loaded: LoadedSpec) -> NetPlan:
    spec = loaded.spec
    names = _auto_names(spec.layers)
    first_seen: Dict[str, int] = {}
    for i, name in enumerate(names):
        if name in first_seen:
            j = first_seen[name]
            explicit = spec.layers[i].name is not None
            unnamed = j if explicit else i
            why = (
                ""
                if explicit and spec.layers[j].name
                else (
                    f" ('{name}' is also the automatic name of an unnamed "
                    f"{spec.layers[unnamed].type} layer)"
                )
            )
            raise _PlanError(
                ("layers", i, "name") if explicit else ("layers", j, "name"),
                f"duplicate layer name '{name}' (layers {j} and {i}); give each layer its own "
                f"name{why}",
            )
        first_seen[name] = i
    net_init = spec.init.describe() if spec.init is not None else MXNET_DEFAULT_INIT
    shape: Tuple[int, ...] = tuple(spec.input.shape)
    layers: List[LayerPlan] = []
    for i, (layer, name) in enumerate(zip(spec.layers, names)):
        in_shape = shape
        width = math.prod(in_shape[1:])
        shares_with: Optional[int] = None
        if layer.type == "dense":
            assert layer.units is not None
            out_shape: Tuple[int, ...] = (in_shape[0], layer.units)
            if layer.share is not None:
                shares_with = _check_share(i, layer, spec.layers, names, layers, width)
                params = layers[shares_with].params
            else:
                params = _own_params(i, name, layer, width, net_init)
        elif layer.type in ("batchnorm", "layernorm"):
            out_shape = in_shape
            channels = in_shape[1] if layer.type == "batchnorm" else in_shape[-1]
            params = _own_params(i, name, layer, channels, net_init)
        else:
            out_shape = in_shape
            params = ()
        layers.append(
            LayerPlan(
                i,
                name,
                layer.type,
                layer.activation,
                in_shape,
                out_shape,
                params,
                shares_with,
                layer,
            )
        )
        shape = out_shape
    all_names: Dict[str, int] = {}
    for lp in layers:
        for p in lp.params:
            if p.owner == lp.index and p.name in all_names:
                raise _PlanError(
                    ("layers", lp.index, "name"),
                    f"parameter name '{p.name}' is also made by layer "
                    f"{all_names[p.name]}; rename one of the layers",
                )
            all_names.setdefault(p.name, lp.index)
    return NetPlan(loaded.name, tuple(spec.input.shape), tuple(layers), spec.input.dist)


def _own_params(
    index: int, name: str, layer: LayerSpec, width: int, net_init: str
) -> Tuple[ParamPlan, ...]:
    inits: Dict[str, InitSpec] = dict(layer.init or {})
    out = []
    for short in PARAMS_BY_TYPE[layer.type]:
        if layer.type == "dense":
            assert layer.units is not None
            if short == "bias" and not layer.use_bias:
                continue
            shape: Tuple[int, ...] = (layer.units, width) if short == "weight" else (layer.units,)
            deferred = (layer.units, 0) if short == "weight" else shape
        else:
            shape, deferred = (width,), (0,) if layer.type == "batchnorm" else (width,)
        grad_req = "null" if short.startswith("running_") else "write"
        if short in inits:
            init = inits[short].describe()
        else:
            init = LAYER_DEFAULT_INIT.get(short, net_init)
        out.append(ParamPlan(f"{name}_{short}", short, shape, deferred, grad_req, init, index))
    return tuple(out)


def _check_share(
    i: int,
    layer: LayerSpec,
    specs: List[LayerSpec],
    names: List[str],
    done: List[LayerPlan],
    width: int,
) -> int:
    path = ("layers", i, "share")
    target = layer.share
    if isinstance(target, bool):
        raise _PlanError(path, "share must name an earlier dense layer (its name or index)")
    if isinstance(target, int):
        j = target
        if not 0 <= j < len(specs):
            raise _PlanError(path, f"there is no layer {j} (layers are 0 to {len(specs) - 1})")
    else:
        if target not in names:
            from paraminspect._text import did_you_mean

            raise _PlanError(
                path,
                f"no layer is named '{target}'"
                f"{did_you_mean(str(target), names)} (names: {', '.join(names)})",
            )
        j = names.index(target)
    if j == i:
        raise _PlanError(path, "a layer cannot share parameters with itself; name an earlier layer")
    if j > i:
        raise _PlanError(
            path,
            f"layer {j} ('{names[j]}') comes later; a layer can only "
            "share the parameters of an earlier dense layer",
        )
    other = done[j]
    if other.type != "dense":
        raise _PlanError(
            path,
            f"layer {j} ('{names[j]}') is a {other.type} layer; only dense layers can be shared",
        )
    if other.shares_with is not None:
        j = other.shares_with  # sharing with a sharer means sharing with its source
        other = done[j]
    if layer.use_bias != other.spec.use_bias:
        raise _PlanError(
            path,
            f"layer {j} ('{names[j]}') has use_bias="
            f"{str(other.spec.use_bias).lower()}; set the same use_bias on both",
        )
    if layer.units != other.spec.units:
        raise _PlanError(
            path,
            f"layer {j} ('{names[j]}') has {other.spec.units} units, "
            f"this layer {layer.units}; shared layers need the same units",
        )
    other_width = math.prod(other.in_shape[1:])
    if width != other_width:
        raise _PlanError(
            path,
            f"layer {j} ('{names[j]}') takes inputs of width "
            f"{other_width}, this layer {width}; its weight "
            f"({other.spec.units}, {other_width}) cannot be used here",
        )
    if layer.init:
        raise _PlanError(
            ("layers", i, "init"),
            "a sharing layer uses the other layer's "
            "parameters and initializers; set init on that layer instead",
        )
    return j
