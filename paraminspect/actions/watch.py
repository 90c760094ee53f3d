"""``pi.watch``: what ``train`` records, for the user's own ``gluon.Trainer`` loop.

After every ``trainer.step`` the loop calls :meth:`Watch.step`; it reads each layer's
gradient norm (``train``'s :class:`~paraminspect.actions.train.norms.StepNorms`, one dot product
per parameter over MXNet's buffer) and every ``every`` steps builds the same
:class:`~paraminspect.reports.train.TrainRecord` as ``train`` (:func:`make_record`: weight
and gradient statistics, update ratios, exploding/vanishing/NaN warnings). Dead ReLU
units are read from the outputs of the net's ReLU layers in the loop's own forward pass
(forward hooks that keep a reference, no copy); a hybridized parent runs its children
inside one cached graph, where hooks do not fire, so there the column stays empty.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from paraminspect.choices import EXPLODE_NORM, VANISH_NORM
from paraminspect.errors import OptionError
from paraminspect.reports.train import SharedStep, TrainRecord, TrainReport, TrainSettings

WINDOW_READ = 64  # batch losses kept unread between records before they are averaged


class Watch:
    """Records a user's training loop; use ``with pi.watch(net) as w:`` or call ``.close()``.

    Args:
        net: the Gluon Block being trained (initialized; it may still be deferred).
        every: build a full record every this many steps (per-step norms are always kept).
        log: write each record as one JSON line to this path (``train --log``'s format).
        explode, vanish: the gradient-norm warning thresholds (``train``'s defaults).
        lr, optimizer, batch_size: what the loop uses, for the report's settings.
    """

    def __init__(
        self,
        net: Any,
        every: int = 1,
        log: Optional[str] = None,
        explode: float = EXPLODE_NORM,
        vanish: float = VANISH_NORM,
        lr: float = float("nan"),
        optimizer: str = "?",
        batch_size: int = 0,
    ) -> None:
        from paraminspect.model.sources import is_block

        if not is_block(net):
            raise OptionError(f"pi.watch takes a Gluon Block, got {type(net).__name__}")
        if not isinstance(every, int) or every < 1:
            raise OptionError(f"every must be a positive integer, got {every!r}", "--every")
        self.net, self.every = net, every
        self.explode, self.vanish = explode, vanish
        self.lr, self.optimizer, self.batch_size = lr, optimizer, batch_size
        self.steps = 0
        self.history: List[TrainRecord] = []
        self._model: Any = None
        self._norms: Any = None
        self._window: List[Any] = []  # the loss NDArrays since the last record (not read yet)
        self._loss_sum, self._loss_count = 0.0, 0
        self._initial: Optional[float] = None
        self._before: Optional[Dict[str, np.ndarray]] = None
        self._between: Dict[Tuple[str, Any], str] = {}
        self._outputs: Dict[int, Any] = {}
        self._hooks: List[Any] = []
        self._start: Optional[float] = None
        self._log = None
        self._log_warned = False
        if log is not None:
            from paraminspect.render.jsonl import JsonlLog

            self._log = JsonlLog(log)
        self._hybridized = False
        self._hook_relu_layers()
        params = net.collect_params().values()
        if every == 1 and all(p.shape and 0 not in p.shape and p._data for p in params):
            # the weights before the first step, for its update ratios
            self._before = {
                n: p.data().asnumpy().astype(np.float64) for n, p in net.collect_params().items()
            }

    # ---------------------------------------------------------------- the loop's calls

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(failed=exc[0] is not None)

    def close(self, failed: bool = False) -> None:
        """Detach the hooks and close the JSON-lines log."""
        for h in self._hooks:
            h.detach()
        self._hooks = []
        if self._log is not None:
            self._log.close(failed=failed)
            self._log = None

    def _hook_relu_layers(self) -> None:
        """Keep each ReLU layer's latest output (a reference) from the loop's forward pass;
        the layers are numbered as the net's Layout numbers them (as ``pi.show`` does)."""
        from mxnet.ndarray import NDArray

        from paraminspect.actions.train.layers import relu_indices
        from paraminspect.model.sources.block import describe_block, walk_blocks

        layout = describe_block(self.net, {})  # no inputs: nothing is run or allocated
        relus = set(relu_indices(layout))  # the ReLU layers train measures, Activation too
        for layer, node in zip(layout.layers, walk_blocks(self.net)):
            if layer.index in relus:

                def keep(block: Any, args: Any, out: Any, index: int = layer.index) -> None:
                    if isinstance(out, NDArray):  # not the Symbol of a hybridize trace
                        self._outputs[index] = out

                self._hooks.append(node.block.register_forward_hook(keep))

    def _start_watching(self) -> None:
        """At the first step: the net has run, so shapes are final and the plan is read."""
        from paraminspect.actions.train.layers import layer_names
        from paraminspect.actions.train.norms import StepNorms
        from paraminspect.diagnose.trouble import TroubleDetector
        from paraminspect.model.model import Model
        from paraminspect.model.sources.net import RunningBlockSource

        source = RunningBlockSource.of(self.net)
        self._model = Model(source=source, net=self.net, forward_done=True)
        self._model.init = {n: "trained" for n in self.net.collect_params()}
        self._norms = StepNorms(self._model)
        self._names = layer_names(self._model)
        self._detector = TroubleDetector(explode_above=self.explode, vanish_below=self.vanish)
        self._hybridized = bool(getattr(self.net, "_active", False))
        self._start = time.perf_counter()

    def step(self, loss: Any = None) -> Optional[TrainRecord]:
        """Call after ``trainer.step``; ``loss`` is the batch loss (NDArray or float).

        Returns:
            The record built at this step, or None between records.
        """
        _check_loss_arg(loss)
        if self._model is None:
            self._start_watching()
        self.steps += 1
        step = self.steps
        self._norms.add()
        if loss is not None and self._initial is None:
            # the first batch loss was computed before any update: the loss before training
            self._initial = float(loss.mean().asscalar()) if hasattr(loss, "mean") else float(loss)
        if loss is not None:
            self._window.append(loss)  # read (and averaged) only at the next record
            if len(self._window) >= WINDOW_READ:  # a long gap between records: bound memory
                self._read_window()
        if step % self.every:
            norms = {self._names[i]: self._norms.values[i][-1] for i, _ in self._norms.layers}
            for event in self._detector.observe(step, None, norms):
                self._between.setdefault((event.kind, event.subject), str(event))
            if (step + 1) % self.every == 0:
                self._before = self._weights()  # the next step is recorded: keep w before it
            return None
        record = self._record(step)
        if self.every == 1 or (step + 1) % self.every == 0:
            self._before = self._weights()
        return record

    # ---------------------------------------------------------------- records

    def _weights(self) -> Dict[str, np.ndarray]:
        return {n: p.data().asnumpy().astype(np.float64) for n, p in self._model.params.items()}

    def _read_window(self) -> None:
        for v in self._window:
            self._loss_sum += float(v.mean().asscalar()) if hasattr(v, "asscalar") else float(v)
        self._loss_count += len(self._window)
        self._window = []

    def _loss(self) -> float:
        """The mean batch loss since the last record."""
        self._read_window()
        mean = self._loss_sum / self._loss_count if self._loss_count else math.nan
        self._loss_sum, self._loss_count = 0.0, 0
        return mean

    def _dead(self) -> Dict[int, float]:
        out = {}
        for index, h in self._outputs.items():
            a = h.asnumpy().reshape(h.shape[0], -1)
            out[index] = float(np.mean(np.all(a == 0, axis=0)))
        self._outputs = {}
        return out

    def _shared(self) -> Tuple[SharedStep, ...]:
        from paraminspect.stats import ndarray_l2

        params = self._model.params
        return tuple(
            # one Parameter object for every user (params=): identical by construction
            SharedStep(name, layers, True, 0.0, ndarray_l2(params[name].grad()))
            for name, layers in self._model.plan.users.items()
            if len(layers) > 1
        )

    def _record(self, step: int) -> TrainRecord:
        from paraminspect.actions.train.records import make_record

        loss = self._loss()
        record = make_record(
            self._model,
            1,
            step,
            loss,
            loss,
            self._before,
            None,
            self.explode,
            self.vanish,
            dead=self._dead(),
            shared=self._shared(),
        )
        if self._between:
            record = replace(record, warnings=tuple(self._between.values()) + record.warnings)
            self._between = {}
        self.history.append(record)
        if self._log is not None and not self._log.write(record) and not self._log_warned:
            import warnings

            warnings.warn(f"pi.watch log: {self._log.error}", stacklevel=2)
            self._log_warned = True
        return record

    def report(self) -> TrainReport:
        """The report ``paraminspect train`` renders: sparklines, tables, the JSON."""
        from paraminspect.actions.view import model_info

        if self._model is None:
            raise OptionError("pi.watch: no step was recorded yet; call .step() in the loop")
        seconds = time.perf_counter() - (self._start or time.perf_counter())
        settings = TrainSettings(
            samples=0,
            batch_size=self.batch_size,
            epochs=1,
            lr=self.lr,
            optimizer=self.optimizer,
            loss="user's loss",
            every=self.every,
            seed=None,
            hybridized=self._hybridized,
            shared_focus=False,
            data="the user's own training loop",
            explode=self.explode,
            vanish=self.vanish,
        )
        notes = [
            "data: the user's own loop; the loss before training is the first batch's, "
            "after it the mean batch loss since the last record"
        ]
        if self._hybridized:
            notes.append("the net is hybridized: dead ReLU units are not measured")
        return TrainReport(
            model=model_info(self._model, None),
            settings=settings,
            initial_loss=self._initial if self._initial is not None else math.nan,
            history=tuple(self.history),
            steps=self.steps,
            seconds=seconds,
            step_grad_l2=self._norms.result(),
            notes=tuple(notes),
        )


def _check_loss_arg(loss: Any) -> None:
    """``step(loss)`` takes the batch loss: an NDArray, a numpy array or a real number.

    Raises:
        OptionError: anything else (a string, a list, None-like objects of other types).
    """
    import numbers

    if loss is None or hasattr(loss, "asscalar") or isinstance(loss, np.ndarray):
        return
    if isinstance(loss, numbers.Real) and not isinstance(loss, bool):
        return
    raise OptionError(
        f"pi.watch step(loss): loss must be the batch loss (an NDArray or a number), got "
        f"{type(loss).__name__} {loss!r:.40}",
        "loss",
    )
