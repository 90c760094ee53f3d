"""Checkpoint triage (issue 16): one call that classifies, measures, summarizes and diagnoses.

This is the entry point the CLI and API call; it measures every array once and hands the
numbers to the overview and the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from paraminspect.diagnose.findings import Finding, Thresholds, find_problems
from paraminspect.diagnose.kinds import ArrayKind, Uses, classify_all
from paraminspect.diagnose.measures import ArrayStats, measure_all
from paraminspect.diagnose.overview import Overview, make_overview


@dataclass(frozen=True)
class Triage:
    """Everything triage found: per-array numbers and kinds (in file order), the overview,
    the findings, and the thresholds they were found with."""

    rows: Tuple[ArrayStats, ...]
    kinds: Dict[str, ArrayKind]
    overview: Overview
    findings: Tuple[Finding, ...]
    thresholds: Thresholds

    @property
    def healthy(self) -> bool:
        return not self.findings


def triage(
    arrays: Mapping[str, np.ndarray],
    thresholds: Optional[Thresholds] = None,
    uses: Optional[Uses] = None,
    largest: int = 5,
) -> Triage:
    """Triage a checkpoint's arrays.

    Args:
        arrays: key -> array, keys as stored (``arg:fc1_gamma``, ``dense0_weight``, ...).
        thresholds: limits for the checks (defaults when None).
        uses: optional name -> op use from the graph (see ``diagnose.graph``).
        largest: how many of the largest arrays the overview keeps.

    Returns:
        The :class:`Triage`.

    Raises:
        OptionError: bad thresholds (raised when :class:`Thresholds` is built).
    """
    th = thresholds or Thresholds()
    stats = measure_all(arrays)
    kinds = classify_all(arrays, uses)
    return Triage(
        rows=tuple(stats.values()),
        kinds=kinds,
        overview=make_overview(stats, kinds, largest),
        findings=find_problems(arrays, th, stats=stats, kinds=kinds),
        thresholds=th,
    )
