"""Frozen data that ``init``, ``set``, ``run`` and ``show --check`` return (no MXNet, no rich)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from paraminspect.init.theory import CheckResult
from paraminspect.reports._rich import RichReport
from paraminspect.reports.params import ParamReport, ParamRow, WrapsParamReport


@dataclass(frozen=True, eq=False)
class TraceEntry:
    """The shown parameters right after one stage (the build, a spec step, the command)."""

    label: str
    parameters: Tuple[ParamRow, ...]


@dataclass(frozen=True, eq=False)
class EditReport(WrapsParamReport, RichReport):
    """A :class:`ParamReport` of the final state plus what was done, checked and saved."""

    report: ParamReport
    action: Optional[str] = None  # e.g. "init xavier(...) on select 'dense0_weight'"
    trace: Tuple[TraceEntry, ...] = ()
    checks: Optional[Tuple[CheckResult, ...]] = None
    saved: Optional[str] = None

    @property
    def failed(self) -> Tuple[CheckResult, ...]:
        return tuple(c for c in self.checks or () if c.status == "fail")

    @property
    def base_report(self) -> ParamReport:
        return self.report

    @property
    def failure(self) -> Optional[str]:
        """Why the command fails (exit 1) after printing the report: a --check failed."""
        if not self.failed:
            return None
        names = ", ".join(r.parameter for r in self.failed)
        return (
            f"{len(self.failed)} of {len(self.checks or ())} parameters do not match their "
            f"initializer's theory: {names}"
        )
