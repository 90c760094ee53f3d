"""Checkpoint triage (issue 16): one call that classifies, measures, summarizes and diagnoses.

This is the entry point the CLI and API call; it measures every array once and hands the
numbers to the overview and the checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

from paraminspect.diagnose.findings import Finding, Thresholds, scan_findings
from paraminspect.diagnose.kinds import ArrayKind, Uses, classify_all
from paraminspect.diagnose.measures import ArrayStats
from paraminspect.diagnose.overview import Overview, make_overview
from paraminspect.diagnose.scan import Progress, Scanned, scan_reader
from paraminspect.weights.base import MemoryReader, WeightReader


@dataclass(frozen=True)
class Triage:
    """Everything triage found: per-array numbers and kinds (in file order), the overview,
    the findings, the thresholds they were found with, each array's full pass (``scans``,
    with the statistics ``--stats`` prints) and the groups of identical arrays."""

    rows: Tuple[ArrayStats, ...]
    kinds: Dict[str, ArrayKind]
    overview: Overview
    findings: Tuple[Finding, ...]
    thresholds: Thresholds
    scans: Dict[str, Scanned] = field(default_factory=dict)
    duplicates: Tuple[Tuple[str, ...], ...] = ()

    @property
    def healthy(self) -> bool:
        return not self.findings


def triage(
    arrays: Mapping[str, np.ndarray],
    thresholds: Optional[Thresholds] = None,
    uses: Optional[Uses] = None,
    largest: int = 5,
) -> Triage:
    """Triage a checkpoint's arrays (in memory; see :func:`triage_reader`).

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
    return triage_reader(MemoryReader(dict(arrays)), thresholds, uses, largest)


def triage_reader(
    reader: WeightReader,
    thresholds: Optional[Thresholds] = None,
    uses: Optional[Uses] = None,
    largest: int = 5,
    progress: Optional[Progress] = None,
) -> Triage:
    """Triage every array of an opened weight file in one streamed pass per array.

    Args:
        reader: from :func:`paraminspect.weights.open_weights` (or a memory reader).
        progress: called with the bytes of each chunk read.
    """
    th = thresholds or Thresholds()
    kinds = classify_all([e.key for e in reader.entries], uses)
    scans, groups = scan_reader(reader, kinds, th, progress)
    stats = {k: sc.stats for k, sc in scans.items()}
    return Triage(
        rows=tuple(stats.values()),
        kinds=kinds,
        overview=make_overview(stats, kinds, largest),
        findings=scan_findings(scans, groups, kinds, th),
        thresholds=th,
        scans=scans,
        duplicates=groups,
    )
