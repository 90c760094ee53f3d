"""``summary``: one row per layer of any MODEL, the one action the CLI and the API call.

A YAML spec is summarized from its plan (:mod:`paraminspect.actions.spec_summary`: its
initializers, ``--batch``, ``--method``, ``--compare``, ``--hybridize``, ``--hist``); every
other source from its Layout (:mod:`paraminspect.actions.net_summary`: ``--shapes-only``,
``--depth``, ``--input``, ``--mode``). An option of the other kind is refused here, with
what to do instead, before anything is opened or built.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from paraminspect.actions._prologue import preflight
from paraminspect.actions.net_summary import net_summary
from paraminspect.actions.spec_summary import spec_summary
from paraminspect.errors import NotApplicableError, OptionError
from paraminspect.model.params_io import LoadRequest
from paraminspect.model.sources import ModelRef, open_source, parse_model_ref
from paraminspect.reports.summary import SummaryReport


def _is_spec(ref: ModelRef) -> bool:
    if ref is None:
        return True
    if isinstance(ref, str):
        return parse_model_ref(ref) == "spec"
    return getattr(ref, "kind", None) == "spec"


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
        batch, method, params, compare, hybridize, hist_bins: a spec's options (see
            :func:`~paraminspect.actions.spec_summary.spec_summary`).
        shapes_only, depth, inputs, mode: other sources' options (see
            :func:`~paraminspect.actions.net_summary.net_summary`).
        load: ``--load``: the weights to summarize (for an exported graph, instead of the
            params file beside it), as ``show`` and ``grad`` load them.

    Raises:
        NotApplicableError: an option of the other kind of model.
        OptionError, ResourceError, SpecError, BuildError: as the two summaries raise them.
    """
    _check_load(load, shapes_only, method, compare)
    if not _is_spec(spec):
        label = spec if isinstance(spec, str) else getattr(spec, "label", "this model")
        for flag, on in (
            ("--batch", batch),
            ("--method", method),
            ("--compare", compare),
            ("--hybridize", hybridize),
            ("--hist", hist_bins is not None),
        ):
            if on:
                raise NotApplicableError(
                    f"{flag} applies to YAML specs; for {label} give the batch in --input",
                    flag,
                )
        source = open_source(spec, inputs, load, mode)
        return net_summary(source, seed, shapes_only, depth, load=load)
    if shapes_only or depth is not None or inputs or mode:
        raise NotApplicableError(
            "--shapes-only, --depth, --input and --mode apply to exported graphs, zoo: and "
            "FILE.py:FUNC models; a YAML spec's summary is always computed from its plan"
        )
    return spec_summary(
        spec,
        seed=seed,
        batch=batch,
        method=method,
        params=params,
        compare=compare,
        hybridize=hybridize,
        hist_bins=hist_bins,
        load=load,
    )
