"""``paraminspect check``: validate a spec and summarise its plan, nothing else.

Kept apart from :mod:`paraminspect.actions.show` so that ``check`` imports only what
validation needs (pydantic, yaml, the plan): no numpy, no rich, no MXNet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from paraminspect._text import human_bytes
from paraminspect.errors import SpecProblem
from paraminspect.model.plan import NetPlan
from paraminspect.reports._rich import RichReport


@dataclass(frozen=True)
class CheckReport(RichReport):
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


@dataclass(frozen=True)
class InvalidSpecReport:
    """The outcome of ``paraminspect check`` on a spec that does not validate: every problem.

    ``failure`` is the error message (every problem with its line), so the exit code is 1.
    """

    source: str
    problems: Tuple[SpecProblem, ...]
    failure: str
