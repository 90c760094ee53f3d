"""Problems worth a look in a checkpoint's arrays, each as a one-line :class:`Finding`.

What is checked (from one streamed pass per array, :mod:`paraminspect.diagnose.scan`). A
gamma of a ``fix_gamma=True`` BatchNorm (known from the graph's uses) is never checked:
MXNet does not read it (it uses 1), so its stored values, whatever they are, are no problem.

``nonfinite``
    NaN, +Inf or -Inf values, counted per array.
``zeros`` / ``constant``
    At least two values, all zero / all equal (:class:`ArrayStats.constant`). An all-zero
    array gets only ``zeros``: its units, channels and gammas are not listed again.
``dead_units``
    Weights (2-D or more, not Deconvolution) with whole slices along axis 0 at zero: conv
    filters of a 4-D weight, rows of a dense 2-D weight.
``low_running_var``
    Running-variance channels below ``min_running_var`` (default 1e-6). A variance far below
    BatchNorm's eps (1e-5 in Gluon, 1e-3 in MXNet's symbol API) means the channel's input
    was constant over the data: a dead channel upstream.
``tiny_gamma``
    Norm gammas with ``|gamma| < min_abs_gamma`` (default 1e-6): the channel's output is
    (almost) only its beta. Only arrays classified ``norm``/``gamma``: pass the graph's uses
    so that PReLU slopes (also called ``gamma`` by MXNet) are not taken for norms, and so
    that gammas of ``fix_gamma=True`` BatchNorms (never read) are skipped.
``duplicate``
    Arrays with identical shape, dtype and bytes (shared parameters saved twice). Groups of
    constant arrays are left out: equal ones or zeros are equal by coincidence, and each
    is already reported as constant.
``scale_outlier``
    A weight whose standard deviation is more than ``scale_factor`` (default 100) times above
    or below the median std of the *other* weights of the same rank, when there are at least
    ``min_scale_peers`` (default 4) of them. Only weights: biases, betas, gammas and running
    statistics are set by data and initial values (0 or 1), not by a shared scale. Initial
    scales differ with fan-in as ``1/sqrt(fan_in)``, so even a 9-input depthwise filter and a
    2048-input 1x1 convolution differ by only 15x: 100x is not explained by layer shape.
    Constant weights (std 0) are reported as constant instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np

from paraminspect._text import plural
from paraminspect.choices import MIN_ABS_GAMMA, MIN_RUNNING_VAR, SCALE_FACTOR
from paraminspect.diagnose.kinds import ArrayKind, Uses, classify_all
from paraminspect.diagnose.measures import ArrayStats
from paraminspect.errors import OptionError

if TYPE_CHECKING:
    from paraminspect.diagnose.scan import ChannelScan, Scanned

FINDING_KINDS = (
    "nonfinite",
    "zeros",
    "constant",
    "dead_units",
    "low_running_var",
    "tiny_gamma",
    "duplicate",
    "scale_outlier",
)


@dataclass(frozen=True)
class Thresholds:
    """The limits the checks use (see the module docstring for why these defaults).

    Raises:
        OptionError: a value out of range, naming the option it would come from.
    """

    min_running_var: float = MIN_RUNNING_VAR
    min_abs_gamma: float = MIN_ABS_GAMMA
    scale_factor: float = SCALE_FACTOR
    min_scale_peers: int = 4
    max_listed: int = 10  # unit or channel indices listed in a message and its evidence

    def __post_init__(self) -> None:
        checks = (
            ("--min-running-var", self.min_running_var, self.min_running_var >= 0),
            ("--min-abs-gamma", self.min_abs_gamma, self.min_abs_gamma >= 0),
            ("--scale-factor", self.scale_factor, self.scale_factor > 1),
            ("--min-scale-peers", self.min_scale_peers, self.min_scale_peers >= 1),
            ("--max-listed", self.max_listed, self.max_listed >= 1),
        )
        for option, value, ok in checks:
            if not ok or (isinstance(value, float) and math.isnan(value)):
                limit = {
                    "--scale-factor": "more than 1",
                    "--min-scale-peers": "at least 1",
                    "--max-listed": "at least 1",
                }.get(option, "0 or more")
                raise OptionError(f"{option} must be {limit}, not {value}", option)


@dataclass(frozen=True)
class Finding:
    """One problem: its kind (:data:`FINDING_KINDS`), the array (the first one, for a
    duplicate group), a one-line message naming the array, and JSON-ready evidence."""

    kind: str
    array: str
    message: str
    evidence: Dict[str, Any] = field(default_factory=dict)


def _g(x: float) -> str:
    return f"{x:.2g}"


def _listed(indices: Sequence[int], total: int) -> str:
    shown = ", ".join(str(int(i)) for i in indices)
    more = total - len(indices)
    return shown + (f", ... ({more} more)" if more > 0 else "")


def _channel_finding(
    kind: str, key: str, found: ChannelScan, what: str, threshold: float
) -> Finding:
    n, total = found.count, found.of
    shown_values = ", ".join(_g(v) for v in found.values)
    more = f", ... ({n - len(found.indices)} more)" if n > len(found.indices) else ""
    word = "channel" if n == 1 else "channels"
    message = (
        f"{key}: {n} of {plural(total, 'channel')} {'has' if n == 1 else 'have'} {what} "
        f"({word} {', '.join(str(i) for i in found.indices)}: {shown_values}{more})"
    )
    evidence = {
        "count": n,
        "of": total,
        "channels": list(found.indices),
        "values": list(found.values),
        "threshold": threshold,
    }
    return Finding(kind, key, message, evidence)


def _array_findings(key: str, sc: Scanned, ak: ArrayKind, th: Thresholds) -> List[Finding]:
    st = sc.stats
    out: List[Finding] = []
    if ak.ignored:  # a fix_gamma=True gamma: MXNet never reads it (it uses 1)
        return out
    if st.nonfinite:
        parts = [
            f"{count:,} {label}"
            for count, label in ((st.nan, "NaN"), (st.posinf, "+Inf"), (st.neginf, "-Inf"))
            if count
        ]
        out.append(
            Finding(
                "nonfinite",
                key,
                f"{key}: {', '.join(parts)} among {plural(st.size, 'value')}",
                {"nan": st.nan, "posinf": st.posinf, "neginf": st.neginf, "size": st.size},
            )
        )
    if st.zeros:
        hint = " (BatchNorm statistics never updated?)" if ak.kind == "running" else ""
        out.append(
            Finding(
                "zeros",
                key,
                f"{key}: all {st.size:,} values are 0{hint}",
                {"size": st.size, "value": 0.0},
            )
        )
        return out  # nothing per unit or channel to add
    if st.constant:
        value = float(sc.moments.first or 0.0)
        never = ak.kind == "running" and ak.is_running_var and value == 1.0
        hint = " (BatchNorm statistics never updated?)" if never else ""
        out.append(
            Finding(
                "constant",
                key,
                f"{key}: all {st.size:,} values are {value:g}{hint}",
                {"size": st.size, "value": value},
            )
        )
    if sc.dead_units is not None:
        out.append(_dead_units(key, len(st.shape), sc.dead_units))
    if sc.channels is not None and ak.is_running_var:
        what = f"running variance below {th.min_running_var:g}"
        out.append(_channel_finding("low_running_var", key, sc.channels, what, th.min_running_var))
    elif sc.channels is not None:
        what = f"|gamma| below {th.min_abs_gamma:g}"
        out.append(_channel_finding("tiny_gamma", key, sc.channels, what, th.min_abs_gamma))
    return out


def _dead_units(key: str, ndim: int, dead: ChannelScan) -> Finding:
    noun = "filter" if ndim >= 3 else "row"
    n, total = dead.count, dead.of
    message = (
        f"{key}: {n} of {plural(total, noun)} {'is' if n == 1 else 'are'} all zero "
        f"({noun}{'' if n == 1 else 's'} {_listed(dead.indices, n)})"
    )
    evidence = {
        "count": n,
        "of": total,
        "axis": 0,
        "unit": noun,
        "units": list(dead.indices),
    }
    return Finding("dead_units", key, message, evidence)


def _duplicate_findings(
    groups: Sequence[Tuple[str, ...]], stats: Mapping[str, ArrayStats], ignored: Set[str]
) -> List[Finding]:
    out = []
    for group in (tuple(k for k in g if k not in ignored) for g in groups):
        if len(group) < 2:
            continue
        first = stats[group[0]]
        if first.constant:
            continue
        message = (
            f"{', '.join(group)}: {len(group)} identical arrays "
            f"(shape {first.shape}, {first.dtype}, {first.nbytes:,} bytes each)"
        )
        evidence = {"arrays": list(group), "shape": list(first.shape), "dtype": first.dtype}
        out.append(Finding("duplicate", group[0], message, evidence))
    return out


def _median_of_others(sorted_values: np.ndarray) -> np.ndarray:
    """For each position i of a sorted array, the median of the array without element i."""
    n = sorted_values.size
    m = n - 1  # at least 1; positions used below are at most n - 2, so p + 1 is in range
    i = np.arange(n)

    def at(p: int) -> np.ndarray:  # element p of the array with element i removed
        return np.where(p < i, sorted_values[p], sorted_values[p + 1])

    if m % 2:
        return at(m // 2)
    return (at(m // 2 - 1) + at(m // 2)) / 2


def _scale_findings(
    stats: Mapping[str, ArrayStats], kinds: Mapping[str, ArrayKind], th: Thresholds
) -> List[Finding]:
    by_rank: Dict[int, List[ArrayStats]] = {}
    for key, st in stats.items():
        if kinds[key].kind == "weight" and st.std > 0 and math.isfinite(st.std):
            by_rank.setdefault(len(st.shape), []).append(st)
    out = []
    for rank, members in by_rank.items():
        if len(members) - 1 < th.min_scale_peers:
            continue
        stds = np.array([st.std for st in members])
        order = np.argsort(stds, kind="stable")
        medians = np.empty_like(stds)
        medians[order] = _median_of_others(stds[order])
        ratios = stds / medians
        for st, median, ratio in zip(members, medians, ratios):
            if th.scale_factor >= ratio >= 1 / th.scale_factor:
                continue
            how = f"{ratio:,.0f}x the" if ratio > 1 else f"1/{1 / ratio:,.0f} of the"
            message = (
                f"{st.key}: std {_g(st.std)} is {how} median std {_g(float(median))} of "
                f"the {len(members) - 1} other {rank}-D weights"
            )
            evidence = {
                "std": st.std,
                "median_std": float(median),
                "ratio": float(ratio),
                "peers": len(members) - 1,
                "rank": rank,
                "factor": th.scale_factor,
            }
            out.append(Finding("scale_outlier", st.key, message, evidence))
    return out


def find_problems(
    arrays: Mapping[str, np.ndarray],
    thresholds: Optional[Thresholds] = None,
    uses: Optional[Uses] = None,
) -> Tuple[Finding, ...]:
    """Every finding (see the module docstring) of arrays in memory: :func:`scan_findings`
    over one pass of :func:`paraminspect.diagnose.scan.scan_reader`.

    Args:
        arrays: the checkpoint's arrays by key.
        thresholds: limits; :class:`Thresholds` defaults when None.
        uses: optional name -> op use from the graph (wins over names for kinds).

    Returns:
        The findings; empty for a healthy checkpoint.
    """
    from paraminspect.diagnose.scan import scan_reader
    from paraminspect.weights.base import MemoryReader

    th = thresholds or Thresholds()
    kinds = classify_all(arrays, uses)
    scans, groups = scan_reader(MemoryReader(dict(arrays)), kinds, th)
    return scan_findings(scans, groups, kinds, th)


def scan_findings(
    scans: Mapping[str, Scanned],
    groups: Sequence[Tuple[str, ...]],
    kinds: Mapping[str, ArrayKind],
    thresholds: Thresholds,
) -> Tuple[Finding, ...]:
    """The findings of scanned arrays, in key order, then duplicates and scale outliers."""
    out: List[Finding] = []
    for key, sc in scans.items():
        out.extend(_array_findings(key, sc, kinds[key], thresholds))
    stats = {k: sc.stats for k, sc in scans.items()}
    ignored = {k for k, ak in kinds.items() if ak.ignored}
    out.extend(_duplicate_findings(groups, stats, ignored))
    out.extend(_scale_findings(stats, kinds, thresholds))
    return tuple(out)


def by_kind(findings: Sequence[Finding]) -> Dict[str, Tuple[Finding, ...]]:
    """Findings grouped by kind, in :data:`FINDING_KINDS` order (kinds with none left out)."""
    return {
        kind: tuple(f for f in findings if f.kind == kind)
        for kind in FINDING_KINDS
        if any(f.kind == kind for f in findings)
    }
