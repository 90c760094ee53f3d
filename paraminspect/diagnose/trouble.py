"""Name the trouble a training run gets into, step by step: divergence, exploding,
vanishing or NaN gradients, dead ReLU layers.

:class:`TroubleDetector` is fed one step at a time (the loss, each layer's gradient norm,
optionally each ReLU layer's dead fraction) and returns the events that *start* at that
step; each kind is reported once per subject (the loss, or a layer), at its first step.

Divergence. The loss is smoothed, ``m_1 = loss_1``, ``m_s = s * m_{s-1} + (1 - s) * loss_s``
with ``s = smoothing`` (0.9: about the last ten steps), and the run diverges at the first
step where the loss is non-finite, or where ``m_s > diverge_factor * min(m_1..m_{s-1})``
*and* ``m_s > m_1`` (worse than where it started). Both guards come from measurement
(36 healthy runs of Dense(64, relu)-Dense(64, relu)-Dense(10), batches of 32, SGD at lr
0.1-1 and Adam at 0.01, on digits and synthetic data, 3 seeds; 27 runs at lr 5, 20, 50):
the raw rule ``loss_s > 10 * min(loss)`` fired on 5 of the 36 healthy runs, because a
well-fit net's batch losses reach 1e-4 (even -1e-6 in float32 cross-entropy) and one
ordinary batch is then "1,000x the best". The smoothed rule with factor 3 fired on one of
them (a real burst to 5x the starting loss, which recovered) and caught 25 of the 27
high-lr runs by step 8; the other two settle at chance level without the loss rising
above its start. Factor 10 caught only 21 and was no better on the healthy runs.

Precedence, when several things go wrong at once (the common case at a too-high lr):

1. ``nan``: a non-finite loss is ``nan`` (subject ``loss``) and ``diverge`` together; a
   layer whose gradient norm is non-finite is ``nan``, never ``explode`` or ``vanish``.
2. ``explode``: a finite norm above ``explode_above``. Reported even after a divergence:
   which layers blew up is part of the diagnosis.
3. ``dead``: a layer whose dead fraction is 1.0 (every ReLU outputs 0 for the whole batch).
4. ``vanish``: a finite norm below ``vanish_below``, only when nothing above explains it.
   It is not reported while any layer is dead (a dead layer passes no gradient down, and
   its successor's weights see only zeros), nor once the loss has diverged (tiny gradients
   after a blow-up come from dead or saturated units, not from depth or initialization).
   So a run whose loss explodes and whose ReLUs then die reads "diverge, dead", not
   "vanishing gradients". Such vanish events are kept in :attr:`TroubleDetector.explained`
   with their reason. The last dead fraction given for each layer is kept, so a caller
   that measures dead units only at some steps still explains the steps between.

numpy-free even: only ``math``. The thresholds' defaults match ``train``'s warnings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Collection, Dict, Iterable, List, Mapping, Optional, Tuple

from paraminspect._text import did_you_mean
from paraminspect.choices import DEFAULT_STOP_ON, DIVERGE_FACTOR, TROUBLE_KINDS
from paraminspect.choices import EXPLODE_NORM as EXPLODE_ABOVE
from paraminspect.choices import LOSS_SMOOTHING as SMOOTHING
from paraminspect.choices import VANISH_NORM as VANISH_BELOW
from paraminspect.errors import OptionError

__all__ = [
    "DEFAULT_STOP_ON",
    "DIVERGE_FACTOR",
    "EXPLODE_ABOVE",
    "SMOOTHING",
    "TROUBLE_KINDS",
    "VANISH_BELOW",
    "Event",
    "TroubleDetector",
    "parse_stop_on",
    "should_stop",
]
LOSS = "loss"  # the subject of loss events


@dataclass(frozen=True)
class Event:
    """One kind of trouble starting at one step, for the loss or one layer."""

    step: int
    kind: str  # one of TROUBLE_KINDS
    subject: str  # "loss" or a layer name
    value: float  # the loss, the gradient norm, or the dead fraction
    message: str  # what a person would say: "layer dense1: every ReLU is dead (...)"

    def __str__(self) -> str:
        return f"step {self.step}: {self.message}"


def _finite_number(value: float, option: str, example: str) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise OptionError(f"{value} is not a finite number >= 0; use e.g. {example}", option)


class TroubleDetector:
    """Feed it every step with :meth:`observe`; it returns the trouble that starts there.

    Args:
        diverge_factor: the smoothed loss diverges above this many times its best
            (and above its start); more than 1.
        explode_above: a layer's gradient norm above this is exploding.
        vanish_below: a layer's gradient norm below this is vanishing.
        smoothing: the loss's moving-average weight on the past, in [0, 1); 0 compares
            raw losses.

    Raises:
        OptionError: a factor not above 1, a negative or non-finite threshold,
            ``vanish_below >= explode_above``, a smoothing outside [0, 1).
    """

    def __init__(
        self,
        diverge_factor: float = DIVERGE_FACTOR,
        explode_above: float = EXPLODE_ABOVE,
        vanish_below: float = VANISH_BELOW,
        smoothing: float = SMOOTHING,
    ) -> None:
        if not (math.isfinite(diverge_factor) and diverge_factor > 1):
            raise OptionError(
                f"{diverge_factor} is not a factor above 1; use e.g. {DIVERGE_FACTOR:g}",
                "--diverge-factor",
            )
        _finite_number(explode_above, "--explode-above", "1e3")
        _finite_number(vanish_below, "--vanish-below", "1e-7")
        if vanish_below >= explode_above:
            raise OptionError(
                f"{vanish_below:g} is not below --explode-above {explode_above:g}; "
                "a gradient cannot both vanish and explode",
                "--vanish-below",
            )
        if not (0 <= smoothing < 1):
            raise OptionError(f"{smoothing} is not in [0, 1); use e.g. {SMOOTHING}", "--smoothing")
        self.diverge_factor = float(diverge_factor)
        self.explode_above = float(explode_above)
        self.vanish_below = float(vanish_below)
        self.smoothing = float(smoothing)
        self.events: List[Event] = []  # everything reported so far, in order
        self.explained: List[Event] = []  # vanish events not reported, and why
        self._seen: set = set()  # (kind, subject) already reported or explained
        self._first: Optional[float] = None  # m_1
        self._smoothed: Optional[float] = None  # m_{s-1}
        self._best: Optional[Tuple[float, int]] = None  # (min m, its step) before this step
        self._diverged_at: Optional[int] = None
        self._dead: Dict[str, float] = {}  # the last dead fraction given for each layer
        self._last_step: Optional[int] = None

    @property
    def dead_layers(self) -> Tuple[str, ...]:
        """The layers whose last dead fraction given was 1.0 (every ReLU dead)."""
        return tuple(name for name, f in self._dead.items() if f >= 1.0)

    @property
    def diverged_at(self) -> Optional[int]:
        """The step the loss diverged at, or None."""
        return self._diverged_at

    def observe(
        self,
        step: int,
        loss: Optional[float],
        grad_norms: Mapping[str, float],
        dead_fraction: Optional[Mapping[str, float]] = None,
        lr: Optional[float] = None,
    ) -> List[Event]:
        """Take one step's numbers; return the events that start at this step.

        Args:
            step: the optimizer step (1-based), increasing from call to call.
            loss: this step's (batch) loss; None when it was not read (a watched loop
                reads it only at records): the loss checks then wait for the next value.
            grad_norms: layer name -> ``||g||`` over the layer's trained parameters.
            dead_fraction: ReLU layer name -> fraction of its units that output 0 for
                every sample (None: not measured at this step; the last values hold).
            lr: the learning rate, named in the divergence hint.

        Returns:
            New events, in the order of :data:`TROUBLE_KINDS`, layers in the order given.

        Raises:
            ValueError: ``step`` did not increase.
        """
        if self._last_step is not None and step <= self._last_step:
            raise ValueError(f"step {step} after step {self._last_step}: steps must increase")
        self._last_step = step
        if dead_fraction is not None:
            self._dead.update(dead_fraction)
        hint = f"lr {lr:g} too high?" if lr is not None else "learning rate too high?"
        found: List[Event] = []
        if loss is not None:
            loss = float(loss)
            if not math.isfinite(loss):
                self._diverge(found, step, loss, f"loss became {loss} ({hint})")
                self._add(found, Event(step, "nan", LOSS, loss, f"loss is {loss}"))
            else:
                self._smooth_and_check(found, step, loss, hint)
        for name, norm in grad_norms.items():
            norm = float(norm)
            if not math.isfinite(norm):
                self._add(
                    found,
                    Event(
                        step,
                        "nan",
                        name,
                        norm,
                        f"layer {name}: gradient norm is {norm} (NaN or Inf in its gradients)",
                    ),
                )
            elif norm > self.explode_above:
                self._add(
                    found,
                    Event(
                        step,
                        "explode",
                        name,
                        norm,
                        f"layer {name}: gradient norm "
                        f"{norm:.3g} is above {self.explode_above:g}, exploding ({hint})",
                    ),
                )
        dead_layers = [name for name, f in self._dead.items() if f >= 1.0]
        after = self._after_divergence()
        for name in dead_layers:
            if dead_fraction is not None and name in dead_fraction:
                self._add(
                    found,
                    Event(
                        step,
                        "dead",
                        name,
                        self._dead[name],
                        f"layer {name}: every ReLU is dead (all outputs 0){after}",
                    ),
                )
        for name, norm in grad_norms.items():
            norm = float(norm)
            if not (math.isfinite(norm) and norm < self.vanish_below):
                continue
            event = Event(
                step,
                "vanish",
                name,
                norm,
                f"layer {name}: gradient norm {norm:.3g} is below {self.vanish_below:g}, vanishing",
            )
            if dead_layers or self._diverged_at is not None:
                why = (
                    f"dead ReLUs in {', '.join(dead_layers)}"
                    if dead_layers
                    else f"the loss diverged at step {self._diverged_at}"
                )
                self._explain(event, why)
            else:
                self._add(found, event)
        self.events.extend(found)
        return found

    def _smooth_and_check(self, found: List[Event], step: int, loss: float, hint: str) -> None:
        if self._first is None or self._smoothed is None:
            self._first = self._smoothed = loss
            self._best = (loss, step)
            return
        m = self.smoothing * self._smoothed + (1 - self.smoothing) * loss
        self._smoothed = m
        assert self._best is not None
        best, best_step = self._best
        if m > self.diverge_factor * best and m > self._first:
            smoothed = "" if self.smoothing == 0 else ", smoothed"
            if best > 0:
                message = (
                    f"loss rose {m / best:.3g}x since step {best_step} "
                    f"({best:.3g} -> {m:.3g}{smoothed}; {hint})"
                )
            else:
                message = (
                    f"loss rose from {best:.3g} at step {best_step} to {m:.3g}{smoothed}, "
                    f"above its first value {self._first:.3g} ({hint})"
                )
            self._diverge(found, step, loss, message)
        if m < best:
            self._best = (m, step)

    def _diverge(self, found: List[Event], step: int, loss: float, message: str) -> None:
        if self._diverged_at is None:
            self._diverged_at = step
        self._add(found, Event(step, "diverge", LOSS, loss, message))

    def _after_divergence(self) -> str:
        if self._diverged_at is None:
            return ""
        return f", after the loss diverged at step {self._diverged_at}"

    def _add(self, found: List[Event], event: Event) -> None:
        key = (event.kind, event.subject)
        if key not in self._seen:
            self._seen.add(key)
            found.append(event)

    def _explain(self, event: Event, why: str) -> None:
        key = (event.kind, event.subject)
        if key not in self._seen:
            self._seen.add(key)
            self.explained.append(
                Event(
                    event.step,
                    event.kind,
                    event.subject,
                    event.value,
                    f"{event.message} (not reported: explained by {why})",
                )
            )


def parse_stop_on(text: str, option: str = "--stop-on") -> Tuple[str, ...]:
    """``"diverge,nan"`` -> the kinds to stop on, in :data:`TROUBLE_KINDS` order.

    ``none`` stops on nothing; names are case-insensitive, spaces around commas ignored.

    Raises:
        OptionError: an empty list, an empty or unknown name (with the closest one).
    """
    names = [part.strip().lower() for part in text.split(",")]
    allowed = f"choose from {', '.join(TROUBLE_KINDS)}, or none"
    if names == ["none"]:
        return ()
    if not any(names):
        raise OptionError(f"no trouble named; {allowed} (e.g. {DEFAULT_STOP_ON})", option)
    for name in names:
        if not name:
            raise OptionError(f"'{text}' has an empty name between commas; {allowed}", option)
        if name == "none":
            raise OptionError(
                f"'{text}' mixes none with trouble names; give one or the other", option
            )
        if name not in TROUBLE_KINDS:
            hint = did_you_mean(name, (*TROUBLE_KINDS, "none"))
            raise OptionError(f"unknown trouble '{name}'{hint}; {allowed}", option)
    return tuple(kind for kind in TROUBLE_KINDS if kind in names)


def should_stop(events: Iterable[Event], stop_on: Collection[str]) -> Optional[Event]:
    """The first event whose kind is in ``stop_on`` (the reason to stop), or None."""
    for event in events:
        if event.kind in stop_on:
            return event
    return None
