"""The losses ``grad`` and ``train`` can use, and the synthetic targets ``grad`` draws.

Definitions (documented in README, "paraminspect grad"), for outputs ``y`` of shape
``(batch, ...)``:

- ``sum``: ``y.sum()``, the sum of every output (no targets, no extra random draws);
- ``l2``: the mean over samples of Gluon's ``L2Loss``, ``0.5 * mean((y - t) ** 2)`` over
  each sample's outputs;
- ``softmax-ce``: the mean over samples of Gluon's ``SoftmaxCrossEntropyLoss``,
  ``-log softmax(y)[label]`` (needs 2-D outputs with at least 2 classes).

MXNet is imported inside the functions.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple

from paraminspect.choices import LOSSES
from paraminspect.errors import OptionError

if TYPE_CHECKING:  # a spec's plan (pydantic); graphs use this module without one
    from paraminspect.model.plan import NetPlan


def output_shape(plan: NetPlan) -> Tuple[int, ...]:
    """The shape of ``net(X)`` for the spec's input batch."""
    return tuple(plan.layers[-1].out_shape)


def check_loss(plan: NetPlan, loss: str, option: str = "--loss") -> None:
    """Refuse a loss the network's output cannot feed.

    Raises:
        OptionError: unknown loss, or softmax-ce on outputs that are not ``(batch, classes)``
            with at least 2 classes.
    """
    if loss not in LOSSES:
        raise OptionError(f"unknown loss '{loss}' (choose from {', '.join(LOSSES)})", option)
    if loss == "softmax-ce":
        shape = output_shape(plan)
        if len(shape) != 2 or shape[1] < 2:
            raise OptionError(
                f"softmax-ce needs outputs of shape (batch, classes) with at least 2 classes, "
                f"but this net's output is {shape}; end the spec with a dense layer of "
                "2 or more units, or use --loss l2",
                option,
            )


def draw_targets(loss: str, out_shape: Tuple[int, ...]) -> Optional[Any]:
    """Synthetic targets for one batch, drawn from MXNet's stream (after X and the weights).

    ``l2``: ``nd.random.normal(shape=out_shape)``; ``softmax-ce``: class labels
    ``nd.random.randint(0, classes, shape=(batch,))`` as float32; ``sum``: none.
    """
    from mxnet import nd

    if loss == "l2":
        return nd.random.normal(shape=out_shape)
    if loss == "softmax-ce":
        return nd.random.randint(0, out_shape[1], shape=(out_shape[0],)).astype("float32")
    return None


def target_note(loss: str, out_shape: Tuple[int, ...]) -> str:
    """How the targets of :func:`draw_targets` were made, for the report."""
    if loss == "l2":
        return (
            f"targets T ~ N(0, 1) of shape {out_shape}, drawn after X and the weights; "
            "loss = mean over samples of 0.5 * mean((y - T)^2)"
        )
    if loss == "softmax-ce":
        return (
            f"labels drawn uniformly from 0..{out_shape[1] - 1} for each of the "
            f"{out_shape[0]} samples, after X and the weights; "
            "loss = mean over samples of -log softmax(y)[label]"
        )
    return "loss = sum of every output of net(X) (no targets)"


@functools.lru_cache(maxsize=None)
def _loss_block(loss: str) -> Any:
    """One Gluon loss block per name, made once: ``train`` calls it at every step, and
    making a Block costs about as much as a small step's loss itself."""
    from mxnet import gluon

    if loss == "l2":
        return gluon.loss.L2Loss(prefix="l2loss_")
    return gluon.loss.SoftmaxCrossEntropyLoss(prefix="softmaxceloss_")


def loss_value(loss: str, y: Any, targets: Optional[Any]) -> Any:
    """The scalar loss as an NDArray (call inside ``autograd.record()`` to differentiate)."""
    if loss == "sum":
        return y.sum()
    return _loss_block(loss)(y, targets).mean()


def check_net_loss(loss: str, shapes: Sequence[Tuple[int, ...]]) -> None:
    """Refuse a loss the outputs cannot feed (softmax-ce needs (batch, classes>=2)).

    Raises:
        OptionError: an unknown loss, or softmax-ce on an output of another shape.
    """
    if loss not in LOSSES:
        raise OptionError(f"unknown loss '{loss}' (choose from {', '.join(LOSSES)})", "--loss")
    if loss == "softmax-ce":
        for shape in shapes:
            if len(shape) != 2 or shape[1] < 2:
                raise OptionError(
                    "softmax-ce needs outputs of shape (batch, classes) with at least 2 "
                    f"classes, but an output is {shape}; use --loss l2 or --loss sum",
                    "--loss",
                )


def net_target_note(loss: str, shapes: Sequence[Tuple[int, ...]]) -> str:
    """How the targets of :func:`draw_targets` were made, for one output or several."""
    if len(shapes) == 1:
        return target_note(loss, tuple(shapes[0]))
    shown = ", ".join(str(s) for s in shapes)
    if loss == "sum":
        return "loss = sum of every output of net(X) (no targets)"
    if loss == "l2":
        return (
            f"targets T ~ N(0, 1) of shape {shown}, drawn after X and the weights; loss = "
            "mean over samples of 0.5 * mean((y - T)^2), summed over the outputs"
        )
    return (
        f"labels drawn uniformly for each sample of outputs {shown}, after X and the "
        "weights; loss = mean over samples of -log softmax(y)[label], summed over the outputs"
    )
