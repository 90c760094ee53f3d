"""``paraminspect check``: validate a spec and summarise its plan, nothing else.

Kept apart from :mod:`paraminspect.actions.show` so that ``check`` imports only what
validation needs (pydantic, yaml, the plan): no numpy, no rich, no MXNet.
"""

from __future__ import annotations

from typing import Optional

from paraminspect.model.sources.spec import open_spec
from paraminspect.reports.check import CheckReport


def check(spec: Optional[str]) -> CheckReport:
    """Validate a spec without importing MXNet (or numpy).

    Raises:
        SpecError: the first problem, with file, line and key path.
    """
    source = open_spec(spec)
    return CheckReport(source.label, source.plan)
