"""What an initializer promises for a parameter of a given shape, and whether values keep it.

For each catalog initializer this module derives, from MXNet's own formulas and the
parameter's ``fan_in``/``fan_out``, the distribution its values must follow: bounds, mean,
standard deviation, exact values, orthogonality. :func:`check_values` compares an array
with that promise (Kolmogorov-Smirnov from ``scipy.stats`` where a continuous law applies).
No MXNet here: everything is numpy and scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Tuple

import numpy as np

# A check fails when an estimate is more than Z_LIMIT standard errors from its expected
# value (about 6e-7 chance of a false alarm per check) or when the KS p-value is below
# KS_ALPHA. Both are loose on purpose: a wrong initializer misses by far more.
Z_LIMIT = 5.0


KS_ALPHA = 1e-4


KS_MAX_SAMPLE = 1_000_000  # values are i.i.d., so the first million are a fair sample


BOUND_RTOL = 1e-6  # float32 rounding at the edges of an interval


ORTHO_RTOL = 1e-4  # |W·Wᵀ - scale²·I| entries, relative to scale², after float32 rounding


def fans(shape: Tuple[int, ...]) -> Tuple[Optional[int], Optional[int]]:
    """``(fan_in, fan_out)`` as MXNet's Xavier computes them; ``(None, None)`` below 2-D.

    fan_in = shape[1] * prod(shape[2:]), fan_out = shape[0] * prod(shape[2:]).
    """
    if len(shape) < 2:
        return None, None
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


@dataclass(frozen=True)
class Theory:
    """The law an initializer promises for one parameter.

    ``kind``: ``continuous`` (bounds and/or mean/std and a CDF for KS), ``exact`` (every
    value known: ``exact`` holds them), ``orthogonal`` (W·Wᵀ or Wᵀ·W = scale²·I),
    ``thresholded`` (myinit: an atom at 0 plus a uniform on the kept region), or ``none``.
    """

    kind: str
    law: str  # e.g. "U(-0.0645, 0.0645)" with the numbers filled in
    fan_in: Optional[int] = None
    fan_out: Optional[int] = None
    low: Optional[float] = None
    high: Optional[float] = None
    mean: Optional[float] = None
    std: Optional[float] = None
    fourth: Optional[float] = None  # central fourth moment, for the std's standard error
    cdf: Optional[Callable[[np.ndarray], np.ndarray]] = None
    exact: Optional[np.ndarray] = None
    scale: Optional[float] = None  # orthogonal
    zero_fraction: Optional[float] = None  # thresholded: P(value is set to 0)
    threshold: Optional[float] = None
    reason: str = ""  # kind == "none": why there is nothing to check


def _uniform(low: float, high: float, law: str, fan: Tuple[Optional[int], ...]) -> Theory:
    if high <= low:
        return _constant(np.float32(low), law, fan)
    from scipy import stats

    width = high - low
    std = width / math.sqrt(12.0)
    return Theory(
        "continuous",
        law,
        fan[0],
        fan[1],
        low=low,
        high=high,
        mean=(low + high) / 2,
        std=std,
        fourth=width**4 / 80.0,
        cdf=stats.uniform(loc=low, scale=width).cdf,
    )


def _normal(sigma: float, law: str, fan: Tuple[Optional[int], ...]) -> Theory:
    if sigma <= 0:
        return _constant(np.float32(0.0), law, fan)
    from scipy import stats

    return Theory(
        "continuous",
        law,
        fan[0],
        fan[1],
        mean=0.0,
        std=sigma,
        fourth=3 * sigma**4,
        cdf=stats.norm(loc=0.0, scale=sigma).cdf,
    )


def _constant(value: Any, law: str, fan: Tuple[Optional[int], ...]) -> Theory:
    arr = np.asarray(value, dtype=np.float32)
    return Theory("exact", law, fan[0], fan[1], exact=arr)


def xavier_scale(shape: Tuple[int, ...], factor_type: str, magnitude: float) -> float:
    """``sqrt(magnitude / factor)`` with factor = avg, in or out of the fans (MXNet's Xavier)."""
    fan_in, fan_out = fans(shape)
    if fan_in is None or fan_out is None:
        raise ValueError(f"Xavier needs at least 2 dimensions, got shape {shape}")
    factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[factor_type]
    return math.sqrt(magnitude / factor)


def _pieces(low: float, high: float, threshold: float) -> List[Tuple[float, float]]:
    """The parts of [low, high] where |u| >= threshold (myinit keeps those values)."""
    out = []
    for lo, hi in ((low, min(high, -threshold)), (max(low, threshold), high)):
        if hi > lo:
            out.append((lo, hi))
    return out


def _thresholded(low: float, high: float, t: float, fan: Tuple[Optional[int], ...]) -> Theory:
    law = f"U({low:g}, {high:g}) with |w| < {t:g} set to 0"
    if high <= low:
        return _constant(np.float32(low if abs(low) >= t else 0.0), law, fan)
    width = high - low
    pieces = _pieces(low, high, t)
    kept = sum(hi - lo for lo, hi in pieces)

    def raw(k: int) -> float:  # E[X^k], the zeros contributing nothing
        return sum((hi ** (k + 1) - lo ** (k + 1)) / (k + 1) for lo, hi in pieces) / width

    m1, m2, m3, m4 = raw(1), raw(2), raw(3), raw(4)
    var = max(m2 - m1 * m1, 0.0)
    fourth = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4

    def cdf(x: np.ndarray) -> np.ndarray:
        """CDF of the kept (non-zero) values: uniform over the pieces."""
        x = np.asarray(x, dtype=np.float64)
        below = np.zeros_like(x)
        for lo, hi in pieces:
            below += np.clip(x, lo, hi) - lo
        return below / kept

    return Theory(
        "thresholded",
        law,
        fan[0],
        fan[1],
        low=low,
        high=high,
        mean=m1,
        std=math.sqrt(var),
        fourth=fourth,
        cdf=cdf if kept > 0 else None,
        zero_fraction=1.0 - kept / width,
        threshold=t,
    )


def theory_for(method: str, params: Mapping[str, Any], shape: Tuple[int, ...]) -> Theory:
    """The promise of catalog initializer ``method`` with resolved ``params`` for ``shape``."""
    fan = fans(shape)
    p = params
    if method == "uniform":
        s = float(p["scale"])
        return _uniform(-s, s, f"U(-{s:g}, {s:g})", fan)
    if method == "normal":
        return _normal(float(p["sigma"]), f"N(0, {float(p['sigma']):g}²)", fan)
    if method == "constant":
        return _constant(p["value"], f"every value = {float(p['value']):g}", fan)
    if method == "one":
        return _constant(1.0, "every value = 1", fan)
    if method == "zero":
        return _constant(0.0, "every value = 0", fan)
    if method in ("xavier", "msraprelu"):
        if fan[0] is None:
            return Theory("none", method, reason=f"{method} needs a parameter of 2 or more dims")
        if method == "xavier":
            rnd, factor_type, magnitude = p["rnd_type"], p["factor_type"], float(p["magnitude"])
        else:
            rnd, factor_type = "gaussian", p["factor_type"]
            magnitude = 2.0 / (1.0 + float(p["slope"]) ** 2)
        scale = xavier_scale(shape, factor_type, magnitude)
        if rnd == "uniform":
            return _uniform(-scale, scale, f"U(-{scale:.6g}, {scale:.6g})", fan)
        return _normal(scale, f"N(0, {scale:.6g}²)", fan)
    if method == "orthogonal":
        if fan[0] is None:
            return Theory("none", method, reason="orthogonal needs a parameter of 2 or more dims")
        s = float(p["scale"])
        rows, cols = shape[0], math.prod(shape[1:])
        gram = "W·Wᵀ" if rows <= cols else "Wᵀ·W"
        return Theory(
            "orthogonal", f"{gram} = {s:g}²·I", fan[0], fan[1], scale=s, std=None, mean=None
        )
    if method == "lstmbias":
        exact = np.zeros(shape, dtype=np.float32)
        n = int(shape[0] / 4)
        exact[n : 2 * n] = np.float32(p["forget_bias"])
        return Theory(
            "exact",
            f"0 with rows {n}:{2 * n} = {float(p['forget_bias']):g}",
            fan[0],
            fan[1],
            exact=exact,
        )
    if method == "myinit":
        return _thresholded(float(p["low"]), float(p["high"]), float(p["threshold"]), fan)
    return Theory("none", method, fan[0], fan[1], reason=f"no theory for '{method}'")


@dataclass(frozen=True)
class CheckItem:
    """One comparison: what theory says, what the values show, and whether they agree."""

    name: str  # bounds, mean, std, exact, orthogonality, zeros, ks
    expected: str
    observed: str
    passed: bool


@dataclass(frozen=True)
class CheckResult:
    """All comparisons for one parameter. ``status``: pass, fail or skip (no theory)."""

    parameter: str
    shape: Tuple[int, ...]
    initializer: str
    law: str
    fan_in: Optional[int]
    fan_out: Optional[int]
    items: Tuple[CheckItem, ...]
    ks_statistic: Optional[float]
    ks_pvalue: Optional[float]
    status: str
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status != "fail"


def _g(x: float) -> str:
    return f"{x:.6g}"


def _z_item(name: str, observed: float, expected: float, se: float) -> CheckItem:
    limit = Z_LIMIT * se
    ok = abs(observed - expected) <= limit + 1e-12 * max(1.0, abs(expected))
    return CheckItem(name, f"{_g(expected)} ± {_g(limit)}", _g(observed), bool(ok))


def _moment_items(x: np.ndarray, th: Theory) -> List[CheckItem]:
    items = []
    n = x.size
    if th.mean is not None and th.std is not None:
        items.append(_z_item("mean", float(np.mean(x)), th.mean, th.std / math.sqrt(n)))
    if th.std is not None and th.fourth is not None and n >= 2 and th.std > 0:
        # Var(s²) ≈ (mu4 - sigma⁴)/n and s ≈ sqrt(s²): se(s) ≈ se(s²) / (2 sigma)
        se = math.sqrt(max(th.fourth - th.std**4, 0.0) / n) / (2 * th.std)
        items.append(_z_item("std", float(np.std(x)), th.std, se))
    return items


def _ks(sample: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> Tuple[float, float]:
    from scipy import stats

    res = stats.kstest(sample[:KS_MAX_SAMPLE], cdf)
    return float(res.statistic), float(res.pvalue)


def check_values(
    parameter: str, values: np.ndarray, initializer: str, theory: Theory
) -> CheckResult:
    """Compare ``values`` with ``theory``; every comparison is reported, pass or fail."""
    shape = tuple(values.shape)
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    items: List[CheckItem] = []
    ks_stat = ks_p = None
    note = ""

    def result(status: str) -> CheckResult:
        return CheckResult(
            parameter,
            shape,
            initializer,
            theory.law,
            theory.fan_in,
            theory.fan_out,
            tuple(items),
            ks_stat,
            ks_p,
            status,
            note,
        )

    if theory.kind == "none":
        note = theory.reason
        return result("skip")
    if x.size == 0:
        note = "no values (empty parameter)"
        return result("skip")
    finite = bool(np.isfinite(x).all())
    items.append(CheckItem("finite", "all finite", "yes" if finite else "nan/inf present", finite))
    if not finite:
        return result("fail")
    if theory.kind == "exact":
        assert theory.exact is not None
        expected = np.broadcast_to(theory.exact, shape).astype(np.float32)
        diff = values.astype(np.float32) != expected
        wrong = int(np.count_nonzero(diff))
        label = _g(float(theory.exact)) if theory.exact.ndim == 0 else "the pattern " + theory.law
        items.append(
            CheckItem(
                "exact",
                f"every value = {label}",
                "all equal" if not wrong else f"{wrong:,} of {x.size:,} differ",
                wrong == 0,
            )
        )
    elif theory.kind == "orthogonal":
        assert theory.scale is not None
        w = x.reshape(shape[0], -1)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        target = theory.scale**2 * np.eye(gram.shape[0])
        err = float(np.max(np.abs(gram - target)))
        limit = ORTHO_RTOL * max(theory.scale**2, 1e-12)
        items.append(
            CheckItem("orthogonality", f"max|G - s²I| <= {_g(limit)}", _g(err), err <= limit)
        )
    else:
        lo, hi = float(np.min(x)), float(np.max(x))
        if theory.low is not None and theory.high is not None:
            slack = BOUND_RTOL * max(abs(theory.low), abs(theory.high), 1e-30)
            ok = theory.low - slack <= lo and hi <= theory.high + slack
            items.append(
                CheckItem(
                    "bounds",
                    f"[{_g(theory.low)}, {_g(theory.high)}]",
                    f"[{_g(lo)}, {_g(hi)}]",
                    bool(ok),
                )
            )
        items.extend(_moment_items(x, theory))
        sample = x
        if theory.kind == "thresholded":
            assert theory.zero_fraction is not None and theory.threshold is not None
            zero = x == 0
            p0 = theory.zero_fraction
            items.append(
                _z_item(
                    "zeros", float(np.mean(zero)), p0, math.sqrt(max(p0 * (1 - p0), 0.0) / x.size)
                )
            )
            sample = x[~zero]
            if sample.size:
                t = theory.threshold
                small = float(np.min(np.abs(sample)))
                items.append(
                    CheckItem(
                        "threshold",
                        f"non-zero |w| >= {_g(t)}",
                        f"min |w| = {_g(small)}",
                        small >= t * (1 - BOUND_RTOL),
                    )
                )
        if theory.cdf is not None and sample.size:
            ks_stat, ks_p = _ks(sample, theory.cdf)
            items.append(
                CheckItem(
                    "ks", f"p >= {KS_ALPHA:g}", f"D={ks_stat:.4g}, p={ks_p:.3g}", ks_p >= KS_ALPHA
                )
            )
    return result("pass" if all(i.passed for i in items) else "fail")


def expected_counts(theory: Theory, n: int, edges: np.ndarray) -> Optional[np.ndarray]:
    """Expected number of ``n`` values drawn from ``theory`` in each bin of ``edges``.

    A continuous law gives ``n * (cdf(b) - cdf(a))`` per bin ``[a, b]``; myinit's law adds
    its atom at 0 (``n * zero_fraction``) to the bin holding 0. Laws without a density
    (``exact`` patterns, orthogonal, none) return None here: see the caller for exact ones.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if theory.kind == "continuous" and theory.cdf is not None:
        return n * np.diff(theory.cdf(edges))
    if theory.kind == "thresholded" and theory.zero_fraction is not None:
        p0 = theory.zero_fraction
        kept = np.diff(theory.cdf(edges)) if theory.cdf is not None else np.zeros(edges.size - 1)
        atom, _ = np.histogram(np.zeros(1), bins=edges)
        return n * ((1.0 - p0) * kept + p0 * atom)
    return None
