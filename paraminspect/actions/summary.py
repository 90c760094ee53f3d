"""``summary``: one row per layer of any MODEL, the one action the CLI and the API call.

Every source takes the same path: the rows, totals and MACs come from the source's Layout
(:mod:`paraminspect.actions.layer_stats`, which also gives the conventions), and when the
net fits in memory it is built, its first forward pass run (the book's order for a spec:
``initialize()``, draw X, ``net(X)``), and every layer's output measured on X. What only a
YAML spec has stays with it: ``--batch`` and ``--method`` re-plan the spec, ``--compare``
re-runs it under other net-wide initializers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from paraminspect.actions._prologue import apply_load, preflight
from paraminspect.actions.layer_stats import (
    capture_outputs,
    net_rows,
    net_totals,
    output_stats,
    unmeasured_notes,
)
from paraminspect.errors import NotApplicableError, OptionError, ResourceError
from paraminspect.init.catalog import CATALOG, parse_param_pairs, resolve_option
from paraminspect.model.layout import LayerDesc
from paraminspect.model.model import Model
from paraminspect.model.params_io import LoadRequest
from paraminspect.model.source import Source
from paraminspect.model.sources import ModelRef, open_source
from paraminspect.reports.params import Histogram
from paraminspect.reports.summary import ActivationStats, CompareRun, SummaryReport
from paraminspect.spec.fields import InitSpec

# --------------------------------------------------------------------------- spec options


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


def _spec_options(
    source: Source,
    batch: Optional[int],
    method: Optional[str],
    params: Sequence[str],
    compare: Sequence[str],
) -> Tuple[Source, List[InitSpec], List[str]]:
    """The source re-planned for ``--batch``/``--method``, the ``--compare`` runs, notes.

    Raises:
        NotApplicableError: one of them on a model that is not a YAML spec.
        OptionError: a bad --param, --method or --compare.
    """
    from paraminspect.model.sources.spec import SpecSource

    if params and method is None:
        raise OptionError(
            "--param needs --method (e.g. --method normal --param sigma=1)", "--param"
        )
    if not isinstance(source, SpecSource):
        fix = {
            "--batch": "give the batch in --input",
            "--method": "initialize the Block yourself before passing it",
            "--compare": "run summary once per initializer",
        }
        for flag, on in (("--batch", batch), ("--method", method), ("--compare", compare)):
            if on:
                raise NotApplicableError(
                    f"{flag} applies to YAML specs; for {source.label} {fix[flag]}", flag
                )
        return source, [], []
    init = None
    if method is not None:
        init = resolve_method(method, parse_param_pairs(params), "--method", "--param")
    runs = [parse_compare(c) for c in compare]
    source = source.with_overrides(batch, init)
    notes = []
    if init is not None and any(layer.spec.init for layer in source.plan.layers):
        notes.append(
            "--method replaces the net-wide initializer; layers with their own init in the "
            "spec keep it"
        )
    return source, runs, notes


# --------------------------------------------------------------------------- the run

Measured = Tuple[ActivationStats, Optional[Histogram]]


def _measure(bins: Optional[int]) -> Any:
    from paraminspect.actions.view import histogram

    def measure(values: np.ndarray, layer: LayerDesc) -> Measured:
        hist = None
        if bins is not None:
            hist = histogram(values, bins, of="output", label=f"{layer.label} output")
        return output_stats(values, layer), hist

    return measure


def _run(
    source: Source,
    seed: Optional[int],
    hybridize: bool,
    bins: Optional[int],
    load: Optional[LoadRequest] = None,
) -> Tuple[Model, Dict[int, Measured]]:
    """Build, run the first forward pass (hybridized if asked), load ``--load`` (if any),
    measure every layer."""
    from paraminspect.model.forward import run_first_pass

    model = source.build(seed=seed, forward=False)
    if hybridize:
        model.net.hybridize()
    run_first_pass(model)
    model.log.extend(apply_load(model, load))  # the layers are measured after it
    return model, capture_outputs(model, _measure(bins))


def _check_load(
    load: Optional[LoadRequest], shapes_only: bool, method: Optional[str], compare: Sequence[str]
) -> None:
    """Refuse ``--load`` where it cannot apply, and a broken file before anything is built."""
    if load is None:
        return
    if shapes_only:
        raise OptionError(
            "--shapes-only allocates nothing, so there are no parameters to load; drop "
            "--load or --shapes-only",
            "--shapes-only",
        )
    for flag, on in (("--method", method), ("--compare", compare)):
        if on:
            raise OptionError(
                f"{flag} initializes the weights that --load replaces; drop one of them", flag
            )
    preflight(load, None)


def _net_init(source: Source) -> str:
    """The net-wide initializer the header names: a spec's own, else the one every weight
    shares (biases and normalization take their layers' defaults), if there is one."""
    from paraminspect.model.sources.spec import SpecSource

    if isinstance(source, SpecSource):
        init = source.loaded.spec.init
        if init is not None:
            return init.describe()
    own = {"zero", "one"}
    inits = sorted({p.init for p in source.layout.params if p.init not in own})
    if not inits:
        inits = sorted({p.init for p in source.layout.params})
    return inits[0] if len(inits) == 1 else "per parameter (see show)"


def summary(
    spec: ModelRef,
    seed: Optional[int] = None,
    batch: Optional[int] = None,
    method: Optional[str] = None,
    params: Sequence[str] = (),
    compare: Sequence[str] = (),
    hybridize: bool = False,
    hist_bins: Optional[int] = None,
    shapes_only: bool = False,
    depth: Optional[int] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    mode: Optional[str] = None,
    load: Optional[LoadRequest] = None,
) -> SummaryReport:
    """Summarize any MODEL layer by layer.

    Args:
        spec: a MODEL argument (None: ``mlp``) or a source.
        seed: ``mx.random.seed(seed)`` first; None keeps MXNet's default stream.
        batch: a spec's batch size instead of its own (the first input dimension).
        method, params: a catalog initializer and its ``K=V`` parameters, used net-wide
            instead of a spec's ``init`` (layers with their own ``init`` keep it).
        compare: initializers (``NAME`` or ``NAME:K=V,K=V``) whose std across depth is
            shown side by side; each run starts from ``mx.random.seed(seed or 0)``.
        hybridize: call ``net.hybridize()`` before the forward pass.
        hist_bins: histogram every layer's output in this many bins (``--hist``).
        shapes_only: the table from the Layout alone; nothing is allocated.
        depth: keep the first ``depth`` levels of nested blocks.
        inputs, mode: ``--input`` and ``--mode`` (not for a spec: its input is its own).
        load: ``--load``: the weights to summarize, loaded as ``show`` and ``grad`` load
            them (an exported graph's instead of the params file beside it).

    Raises:
        NotApplicableError: a spec-only option on another model.
        OptionError: a bad --depth, --param, --method or --compare.
        ResourceError: ``compare`` asked for a net too large to run.
        SpecError, BuildError: the model cannot be opened or built.
    """
    if depth is not None and depth < 1:
        raise OptionError("--depth must be at least 1", "--depth")
    _check_load(load, shapes_only, method, compare)
    source = open_source(spec, inputs, load, mode)
    source, runs, notes = _spec_options(source, batch, method, params, compare)
    if shapes_only and (runs or hist_bins is not None):
        raise OptionError(
            "--shapes-only runs nothing, so there are no outputs to compare or histogram; "
            "drop --compare/--hist or --shapes-only",
            "--shapes-only",
        )
    log: List[str] = []
    measured: Optional[Dict[int, Measured]] = None
    reason: Optional[str] = "--shapes-only asks for the table alone" if shapes_only else None
    if not shapes_only:
        try:
            model, measured = _run(source, seed, hybridize, hist_bins, load)
        except ResourceError as e:
            if runs:
                raise ResourceError(f"--compare cannot run: {e}") from e
            reason = str(e)
            notes.append(f"activation statistics not computed: {reason}")
        else:
            log.extend(model.log)
    layout = source.layout  # after the build: shapes measured there
    if measured is None:  # no build said what reading the model said: the notes do
        notes[:0] = layout.notes
    stats = None if measured is None else {i: m[0] for i, m in measured.items()}
    hists = None if measured is None else {i: m[1] for i, m in measured.items() if m[1]}
    if stats is not None:
        notes.extend(unmeasured_notes(layout, stats))
    if any(x.macs == 0 for x in layout.layers):
        notes.append(
            "MACs count Convolution, Deconvolution, FullyConnected, the fused RNN op and "
            "bilinear UpSampling (Conv, Dense and rnn layers) only; other ops show 0"
        )
    compare_seed = (seed if seed is not None else 0) if runs else None
    compared = []
    for run_init in runs:
        assert hasattr(source, "with_overrides")
        other, outs = _run(source.with_overrides(None, run_init), compare_seed, hybridize, None)
        log.extend(other.log)
        ordered = tuple(outs[x.index][0] for x in layout.layers if x.index in outs)
        compared.append(CompareRun(short_label(run_init), run_init.describe(), ordered))
    return SummaryReport(
        name=layout.name,
        source=source.label,
        input_shape=layout.inputs[0].shape if layout.inputs else (),
        seed=seed,
        init=_net_init(source) if load is None else f"loaded({Path(load.path).name})",
        hybridized=hybridize,
        ran=stats is not None,
        missing_reason=reason,
        layers=net_rows(layout, stats, depth, hists),
        totals=net_totals(layout),
        compare=tuple(compared),
        compare_seed=compare_seed,
        notes=tuple(notes),
        log=tuple(log),
        kind=source.kind,
    )
