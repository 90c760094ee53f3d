"""Feed a built network: draw or read its inputs and run the first forward pass.

Inputs with a shape are drawn as a spec's are, ``nd.random.uniform(shape=...)`` (or
``nd.random.normal``); a ``.npy`` sample is read with ``allow_pickle=False`` and checked.
The pass runs under autograd's ``train_mode`` or ``predict_mode`` when ``--mode`` asks for
one (BatchNorm then uses batch statistics, Dropout drops); without it, Gluon's default
(predict mode outside ``autograd.record``). :func:`mode_note` says which ran.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Tuple

from paraminspect._text import quote
from paraminspect.errors import BuildError
from paraminspect.model.inputs import format_shape, load_npy
from paraminspect.model.layout import InputDesc

if TYPE_CHECKING:
    from paraminspect.model.model import Model


def draw_inputs(
    inputs: Tuple[InputDesc, ...], given: Optional[Mapping[str, Any]] = None
) -> Tuple[Any, ...]:
    """One NDArray per input: ``given[name]`` (an array from Python), else drawn for a
    shape, or read for a ``.npy`` sample."""
    import mxnet as mx

    arrays = []
    for d in inputs:
        if given is not None and d.name in given:
            arrays.append(mx.nd.array(given[d.name], dtype=d.dtype))
        elif d.dist == "file":
            arrays.append(mx.nd.array(load_npy(d, expected=d.shape), dtype=d.dtype))
        elif d.classes is not None:
            low, high = d.classes
            arrays.append(mx.nd.random.randint(low, high, shape=d.shape).astype(d.dtype))
        elif d.dist == "normal":
            arrays.append(mx.nd.random.normal(shape=d.shape, dtype=d.dtype))
        else:
            arrays.append(mx.nd.random.uniform(shape=d.shape, dtype=d.dtype))
    return tuple(arrays)


@contextlib.contextmanager
def autograd_mode(mode: Optional[str]) -> Iterator[None]:
    """``autograd.train_mode()`` / ``predict_mode()`` for ``'train'`` / ``'predict'``."""
    if mode is None:
        yield
        return
    from mxnet import autograd

    with autograd.train_mode() if mode == "train" else autograd.predict_mode():
        yield


def mode_note(mode: Optional[str], recording: bool = False) -> str:
    """Which autograd mode the passes ran in, for the report."""
    if mode is None:
        default = "train" if recording else "predict"
        return (
            f"forward passes ran in {default} mode (Gluon's default "
            f"{'inside' if recording else 'outside'} autograd.record; choose with --mode)"
        )
    return f"forward passes ran in {mode} mode (--mode {mode})"


def call_net(model: Model, *args: Any) -> Any:
    """``net(*X)`` (``model.X`` unless arrays are given), as one NDArray or a tuple."""
    xs = args or (model.X if isinstance(model.X, tuple) else (model.X,))
    return model.net(*xs)


def first_forward(model: Model, mode: Optional[str] = None) -> Any:
    """Draw ``model.X`` for the source's inputs and run one forward pass; returns the output.

    ``model.X`` is the one input's NDArray, or a tuple with several inputs.

    Raises:
        BuildError: the pass failed (its reason in one line).
    """
    import mxnet as mx

    inputs = model.layout.inputs
    if model.X is None:  # a Block source drew its inputs before its weights
        xs = draw_inputs(inputs, getattr(model.source, "arrays", None))
        model.X = xs[0] if len(xs) == 1 else xs
    try:
        with autograd_mode(mode):
            out = call_net(model)
        for y in out if isinstance(out, (list, tuple)) else (out,):
            y.wait_to_read()
    except Exception as e:
        from paraminspect.model.graph import mxnet_reason

        shown = " ".join(f"--input {d.name}={format_shape(d.shape)}" for d in inputs)
        reason = (
            mxnet_reason(e) if isinstance(e, mx.base.MXNetError) else f"{type(e).__name__}: {e}"
        )
        raise BuildError(
            f"the forward pass of {quote(model.source.label)} with {shown} failed: {reason}"
        ) from e
    model.forward_done = True
    return out


def run_first_pass(model: Model) -> Any:
    """The first forward pass of a model built with ``forward=False``, as its source's
    ``build(forward=True)`` runs it: a spec's the book's way (X from its ``input:``), any
    other source's in its ``--mode``, saying which mode ran."""
    if model.source.kind == "spec":
        from paraminspect.model.build import run_first_forward

        return run_first_forward(model)
    mode = getattr(model.source, "mode", None)
    out = first_forward(model, mode)
    model.log.append(mode_note(mode))
    return out
