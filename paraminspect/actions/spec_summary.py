"""``summary`` of a YAML spec: one row per layer, with what flows through it.

Shapes, parameter counts, MACs and memory come from the plan (no MXNet needed); when the
net fits in memory it is built the book's way (``initialize()``, draw X, ``net(X)``) and
every layer's output is captured by calling the layers one by one on X, which works
whether or not the net is hybridized (``Block.summary`` refuses hybridized blocks).

Conventions (also in the README):

- MACs are the multiply-accumulates of the dense layers' matrix products for the whole
  batch: ``batch * in_width * units``. Biases, activations, normalization and dropout are
  elementwise and counted as 0.
- Backward MACs of a dense layer: the weight gradient (``X^T dY``, as many MACs as the
  forward pass) plus the input gradient (``dY W``, as many again) when some earlier layer
  has trainable parameters; the first trainable layer does not need its input gradient,
  since X is not a parameter. So backward is 2x forward except for that layer (1x).
- ``saturated``: the fraction of a tanh output with ``|a| > SATURATION`` (0.99), or of a
  sigmoid output with ``a < 1 - SATURATION`` or ``a > SATURATION``; there the derivative
  is below 0.02, so almost no gradient flows back.
- ``dead``: the fraction of exact zeros in a ReLU output; ``dead_units`` the units that are
  zero for every sample of the batch.
- The forward pass runs outside ``autograd.record()``, as the book's ``net(X)``: dropout
  is the identity and batch norm uses its running statistics.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from paraminspect.actions._prologue import apply_load
from paraminspect.errors import OptionError, ResourceError
from paraminspect.init.catalog import (
    CATALOG,
    parse_param_pairs,
    resolve_option,
)
from paraminspect.model.build import Model
from paraminspect.model.memory import check_plan_memory
from paraminspect.model.params_io import LoadRequest
from paraminspect.model.plan import (
    BYTES_PER_VALUE,
    MXNET_DEFAULT_INIT,
    LayerPlan,
    NetPlan,
)
from paraminspect.model.sources import ModelRef, open_spec_source
from paraminspect.model.sources.spec import SpecSource
from paraminspect.reports.summary import (
    SATURATION,
    ActivationStats,
    CompareRun,
    LayerSummary,
    SummaryReport,
    SummaryTotals,
)
from paraminspect.spec.fields import InitSpec
from paraminspect.stats import tensor_stats

# --------------------------------------------------------------------------- option parsing


def resolve_method(
    method: str, params: Dict[str, str], option: str, param_option: Optional[str] = None
) -> InitSpec:
    """A catalog initializer from a command-line name and ``K=V`` parameters.

    Raises:
        OptionError: an unknown method (naming ``option``) or a bad parameter (naming
            ``param_option``, by default ``option``).
    """
    name, resolved = resolve_option(method, params, option, param_option)
    return InitSpec.model_validate({"method": name, **resolved})


def parse_compare(value: str) -> InitSpec:
    """``xavier`` or ``normal:sigma=1`` or ``xavier:rnd_type=gaussian,magnitude=2``."""
    method, _, rest = value.partition(":")
    pairs = [p for p in rest.split(",") if p.strip()] if rest else []
    return resolve_method(
        method.strip(),
        parse_param_pairs(pairs, "--compare", "--compare normal:sigma=1"),
        "--compare",
    )


def short_label(init: InitSpec) -> str:
    """``xavier``, ``normal(sigma=1)``: the method with only its non-default parameters."""
    method = CATALOG[init.method]
    changed = {
        p.name: init.params[p.name] for p in method.params if init.params[p.name] != p.default
    }
    if not changed:
        return init.method
    shown = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in changed.items()
    )
    return f"{init.method}({shown})"


# --------------------------------------------------------------------------- numbers


def backward_macs(plan: NetPlan) -> List[int]:
    """Backward MACs per layer (see the module docstring for the convention)."""
    out = []
    trainable_before = False
    for layer in plan.layers:
        fwd = layer.macs
        out.append(fwd * (2 if trainable_before else 1))
        if any(p.grad_req != "null" for p in layer.params):
            trainable_before = True
    return out


def activation_stats(values: np.ndarray, activation: Optional[str]) -> ActivationStats:
    """Statistics of one layer output (see the module docstring for dead and saturated)."""
    s = tensor_stats(values)
    dead = dead_units = saturated = None
    flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values.reshape(1, -1)
    if activation == "relu":
        dead = s.zeros
        dead_units = int(np.count_nonzero(~flat.any(axis=0)))
    elif activation == "tanh" and values.size:
        saturated = float(np.count_nonzero(np.abs(values) > SATURATION)) / values.size
    elif activation == "sigmoid" and values.size:
        flat_ends = (values > SATURATION) | (values < 1 - SATURATION)
        saturated = float(np.count_nonzero(flat_ends)) / values.size
    return ActivationStats(
        mean=s.mean,
        std=s.std,
        min=s.min,
        max=s.max,
        zeros=s.zeros,
        dead=dead,
        dead_units=dead_units,
        saturated=saturated,
        nan=s.nan,
        inf=s.inf,
    )


def capture_outputs(net: Any, X: Any) -> List[np.ndarray]:
    """Every layer's output, by calling the layers of the Sequential one by one on X.

    Works for hybridized children too; no forward hooks, no ``Block.summary``.
    """
    outputs = []
    h = X
    for block in net:
        h = block(h)
        outputs.append(h.asnumpy())
    return outputs


def _layer_activation(layer: LayerPlan) -> Optional[str]:
    return layer.activation if layer.type in ("dense", "activation") else None


# --------------------------------------------------------------------------- the action


def _run(
    source: SpecSource, seed: Optional[int], hybridize: bool, load: Optional[LoadRequest] = None
) -> Tuple[Model, List[Any]]:
    model = source.build(seed=seed, forward=False)
    if hybridize:
        model.net.hybridize()
    from paraminspect.model.build import run_first_forward

    run_first_forward(model)
    model.log.extend(apply_load(model, load))  # the layers' outputs are captured after it
    return model, capture_outputs(model.net, model.X)


def _rows(
    plan: NetPlan, outputs: Optional[List[np.ndarray]], bins: Optional[int] = None
) -> Tuple[Tuple[LayerSummary, ...], Tuple[ActivationStats, ...]]:
    from paraminspect.actions.view import histogram

    back = backward_macs(plan)
    rows = []
    all_stats = []
    for layer, bwd in zip(plan.layers, back):
        stats = hist = None
        out_shape = layer.out_shape
        if outputs is not None:
            values = outputs[layer.index]
            if tuple(values.shape) != tuple(out_shape):  # pragma: no cover - a plan bug
                raise AssertionError(
                    f"layer {layer.index}: MXNet gave {values.shape}, the plan {out_shape}"
                )
            stats = activation_stats(values, _layer_activation(layer))
            all_stats.append(stats)
            if bins is not None:
                hist = histogram(values, bins, of="output", label=f"{layer.name} output")
        used = layer.param_count
        rows.append(
            LayerSummary(
                index=layer.index,
                name=layer.name,
                type=layer.type,
                activation=layer.activation,
                in_shape=layer.in_shape,
                out_shape=out_shape,
                params=used,
                unique_params=0 if layer.shares_with is not None else used,
                trainable=sum(p.size for p in layer.params if p.grad_req != "null"),
                shares_with=layer.shares_with,
                macs=layer.macs,
                backward_macs=bwd,
                activation_bytes=math.prod(out_shape) * BYTES_PER_VALUE,
                stats=stats,
                hist=hist,
            )
        )
    return tuple(rows), tuple(all_stats)


def summary_totals(plan: NetPlan) -> SummaryTotals:
    """Totals from the plan: counts, bytes for the batch, and MACs."""
    unique = plan.unique_params
    frozen = sum(p.size for p in unique if p.grad_req == "null")
    trainable = plan.unique_count - frozen
    return SummaryTotals(
        total=plan.total_params,
        unique=plan.unique_count,
        trainable=trainable,
        non_trainable=frozen,
        param_bytes=plan.param_bytes,
        grad_bytes=trainable * BYTES_PER_VALUE,
        activation_bytes=plan.activation_bytes,
        forward_macs=sum(x.macs for x in plan.layers),
        backward_macs=sum(backward_macs(plan)),
    )


def spec_summary(
    spec: ModelRef,
    seed: Optional[int] = None,
    batch: Optional[int] = None,
    method: Optional[str] = None,
    params: Sequence[str] = (),
    compare: Sequence[str] = (),
    hybridize: bool = False,
    hist_bins: Optional[int] = None,
    load: Optional[LoadRequest] = None,
) -> SummaryReport:
    """Summarize ``spec`` layer by layer.

    Args:
        spec: a path or built-in name (None: ``mlp``).
        seed: ``mx.random.seed(seed)`` first; None keeps MXNet's default stream.
        batch: replaces the spec's batch size (the first input dimension).
        method: a catalog initializer used net-wide instead of the spec's ``init``
            (layers with their own ``init`` keep it, as in Gluon).
        params: ``K=V`` parameters of ``method``.
        compare: initializers (``NAME`` or ``NAME:K=V,K=V``) whose std across depth is
            shown side by side; each run starts from ``mx.random.seed(seed or 0)``.
        hybridize: call ``net.hybridize()`` before the forward pass.
        hist_bins: histogram every layer's output in this many bins (``--hist``).
        load: ``--load``: a parameter file loaded after the first forward pass, before
            the layers' outputs are captured.

    Raises:
        OptionError: bad --param, --method or --compare.
        ResourceError: ``compare`` asked for a net too large to run.
        SpecError, BuildError: as for ``show``.
    """
    if params and method is None:
        raise OptionError(
            "--param needs --method (e.g. --method normal --param sigma=1)", "--param"
        )
    init = None
    if method is not None:
        init = resolve_method(method, parse_param_pairs(params), "--method", "--param")
    runs = [parse_compare(c) for c in compare]
    source = open_spec_source(spec).with_overrides(batch, init)
    loaded, plan = source.loaded, source.plan
    notes: List[str] = []
    if init is not None and any(layer.spec.init for layer in plan.layers):
        notes.append(
            "--method replaces the net-wide initializer; layers with their own init in the "
            "spec keep it"
        )
    outputs: Optional[List[np.ndarray]] = None
    reason: Optional[str] = None
    log: List[str] = []
    try:
        check_plan_memory(plan, forward=True, what="running this net")
    except ResourceError as e:
        reason = str(e)
    if reason is None:
        model, outputs = _run(source, seed, hybridize, load)
        log.extend(model.log)
    else:
        notes.append(f"activation statistics not computed: {reason}")
        if runs:
            raise ResourceError(f"--compare cannot run: {reason}")
    rows, _ = _rows(plan, outputs, hist_bins)
    compare_seed = (seed if seed is not None else 0) if runs else None
    compared = []
    for run_init in runs:
        model, outs = _run(source.with_overrides(None, run_init), compare_seed, hybridize)
        log.extend(model.log)
        _, stats = _rows(plan, outs)
        compared.append(CompareRun(short_label(run_init), run_init.describe(), stats))
    spec_init = loaded.spec.init
    return SummaryReport(
        name=plan.name,
        source=loaded.source,
        input_shape=plan.input_shape,
        seed=seed,
        init=(
            f"loaded({Path(load.path).name})"
            if load is not None
            else spec_init.describe()
            if spec_init is not None
            else MXNET_DEFAULT_INIT
        ),
        hybridized=hybridize,
        ran=outputs is not None,
        missing_reason=reason,
        layers=rows,
        totals=summary_totals(plan),
        compare=tuple(compared),
        compare_seed=compare_seed,
        notes=tuple(notes),
        log=tuple(log),
    )
