"""``paraminspect check``: validate a spec and summarise its plan, nothing else.

Kept apart from :mod:`paraminspect.actions.show` so that ``check`` imports only what
validation needs (pydantic, yaml, the plan): no numpy, no rich, no MXNet.
"""

from __future__ import annotations

from typing import Optional

from paraminspect.choices import DEFAULT_SPEC
from paraminspect.errors import SpecError
from paraminspect.model.sources.spec import open_spec
from paraminspect.reports.check import CheckReport, InvalidSpecReport


def check(spec: Optional[str]) -> CheckReport:
    """Validate a spec without importing MXNet (or numpy).

    Raises:
        SpecError: every problem, with file, line and key path (``problems``).
    """
    source = open_spec(spec)
    return CheckReport(source.label, source.plan)


def invalid_spec(spec: Optional[str], error: SpecError) -> InvalidSpecReport:
    """The report of a spec that did not validate (``check --format json`` prints it)."""
    return InvalidSpecReport(spec or DEFAULT_SPEC, error.problems, str(error))
