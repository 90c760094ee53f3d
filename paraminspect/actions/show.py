"""``paraminspect show`` and ``check``: build the net as the book does and report on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from paraminspect.actions.checkpoint import apply_load, apply_save
from paraminspect.build import build_model, human_bytes
from paraminspect.checkpoint import LoadRequest, SaveRequest
from paraminspect.plan import NetPlan, make_plan
from paraminspect.report import ParamReport
from paraminspect.spec import load_spec
from paraminspect.view import ViewOptions, collect_report


def show(
    spec: Optional[str],
    view: ViewOptions,
    seed: Optional[int] = None,
    before_forward: bool = False,
    load: Optional[LoadRequest] = None,
    save: Optional[SaveRequest] = None,
) -> ParamReport:
    """Build ``spec``, initialize it, draw X, run one forward pass, and report parameters.

    Args:
        spec: a path or built-in name (None: ``mlp``).
        view: which parameters and what of them to show.
        seed: ``mx.random.seed(seed)`` first; None keeps MXNet's default stream.
        before_forward: stop after ``initialize()`` (the book's exercise 2).
        load: load this parameter file into the net after building it (``--load``).
        save: write the parameters shown to this file (``--save``), atomically.
    """
    loaded = load_spec(spec)
    view.index()  # a bad --slice fails before MXNet is imported
    model = build_model(loaded, seed=seed, forward=not before_forward)
    model.log.extend(apply_load(model, load))
    model.log.extend(apply_save(model, save))
    return collect_report(model, view, command="show", seed=seed)


@dataclass(frozen=True)
class CheckReport:
    """The outcome of ``paraminspect check``: the spec is valid, and what it describes."""

    source: str
    plan: NetPlan

    @property
    def summary(self) -> str:
        p = self.plan
        shared = sum(1 for layer in p.layers if layer.shares_with is not None)
        return (
            f"ok: {self.source}: {len(p.layers)} layers, {p.total_params:,} parameters "
            f"({p.unique_count:,} unique, {human_bytes(p.param_bytes)})"
            + (f", {shared} sharing layer{'s' if shared > 1 else ''}" if shared else "")
        )


def check(spec: Optional[str]) -> CheckReport:
    """Validate a spec without importing MXNet.

    Raises:
        SpecError: the first problem, with file, line and key path.
    """
    loaded = load_spec(spec)
    return CheckReport(loaded.source, make_plan(loaded))
