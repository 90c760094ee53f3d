"""The Python API: the CLI's actions and reports for notebooks and scripts.

Every function takes a MODEL as the CLI does (a spec path, a built-in name such as
``"mlp"``, what :func:`load` returns) or a live Gluon Block with its inputs, and returns
the frozen report the CLI renders (``rich.print(report)``, ``report.to_dict()``, or a
notebook cell's value). Mistakes raise the same :class:`~paraminspect.errors.ParamInspectError`
subclasses, with the same one-line messages, as the CLI; nothing here calls ``sys.exit``
or imports click.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

from paraminspect._text import did_you_mean
from paraminspect.choices import (
    DEFAULT_BINS,
    LOSSES,
    MIN_ABS_GAMMA,
    MIN_RUNNING_VAR,
    SCALE_FACTOR,
)
from paraminspect.errors import OptionError

Layers = Union[None, int, str, Sequence[Union[int, str]]]
Loss = Union[str, Callable[[Any], Any]]


def _layers(layer: Layers) -> tuple:
    if layer is None:
        return ()
    if isinstance(layer, (int, str)):
        return (str(layer),)
    return tuple(str(x) for x in layer)


def _source(model: Any, inputs: Sequence[Any], what: str) -> Any:
    """A Source for ``model``: a live Block opened with its inputs (as ``net(*inputs)`` takes
    them), anything else opened as the CLI opens a MODEL argument."""
    from paraminspect.model.sources import is_block, open_source

    if getattr(model, "kind", None) == "block" and inputs:  # pi.load(net): new inputs
        model = model.block
    if is_block(model):
        from paraminspect.model.sources.block_args import named_inputs

        return open_source(model, named_inputs(model, inputs, what))
    if model is not None and not isinstance(model, str) and not hasattr(model, "build"):
        raise OptionError(
            f"{what} takes a Gluon Block, a MODEL name or path (e.g. 'mlp'), or what "
            f"pi.load() returns; got {type(model).__name__}"
        )
    if inputs:
        raise OptionError(
            f"{what}: inputs go with a live Block; a spec draws its own (see its input:)"
        )
    return open_source(model)


def load(source: Any, inputs: Optional[Sequence[Any]] = None) -> Any:
    """The model a CLI MODEL argument names, to pass to the other functions.

    Args:
        source: a spec path or built-in name (``"mlp"``, ``"shared"``, ``"chapter4_2"``), or
            a live Gluon Block.
        inputs: for a Block, its inputs: NDArrays, numpy arrays or shapes to draw from.

    Returns:
        The opened source (specs are validated and planned; nothing is built yet).

    Raises:
        SpecError: a spec is missing or invalid.
        OptionError: not a Block or a MODEL; wrong inputs for the Block.
    """
    return _source(source, tuple(inputs or ()), "pi.load")


def _view(**kwargs: Any) -> Any:
    from paraminspect.actions.view import ViewOptions

    kwargs["layers"] = _layers(kwargs.pop("layer"))
    return ViewOptions(**kwargs)


def show(
    model: Any = None,
    *inputs: Any,
    layer: Layers = None,
    select: Optional[str] = None,
    values: bool = False,
    grad: bool = False,
    slice: Optional[str] = None,
    stats: bool = False,
    hist: bool = False,
    bins: int = DEFAULT_BINS,
    seed: Optional[int] = None,
    before_forward: bool = False,
    shapes_only: bool = False,
    check: bool = False,
) -> Any:
    """The parameter table, as ``paraminspect show``.

    Args:
        model: a MODEL (None: ``mlp``) or a live Block; ``inputs`` follow a Block.
        layer: layer index, name or path (or several): their parameters only.
        select: a regex the parameter names must match.
        values, grad, stats, hist: what to show of each parameter (``--values`` ...).
        slice: a numpy slice of the values shown (``"0"``, ``"0,:3"``).
        check: every parameter's values against its initializer's theory (``--check``).

    Returns:
        A :class:`~paraminspect.reports.params.ParamReport`; with ``check``, the
        :class:`~paraminspect.reports.edit.EditReport` ``show --check`` renders.

    Raises:
        OptionError: a bad option value, a wrong input, not a Block.
        SpecError, BuildError: as for the CLI.
    """
    view = _view(
        layer=layer,
        select=select,
        values=values,
        grad=grad,
        slice=slice,
        stats=stats,
        hist=hist,
        bins=bins,
    )
    source = _source(model, inputs, "pi.show")
    if check:
        from paraminspect.actions.init import show_check

        for flag, on in (("before_forward", before_forward), ("shapes_only", shapes_only)):
            if on:
                raise OptionError(f"check needs values: drop {flag}", "--check")
        return show_check(source, view, seed=seed)
    from paraminspect.actions.show import show as run_show

    return run_show(source, view, seed=seed, before_forward=before_forward, shapes_only=shapes_only)


def summary(
    model: Any = None,
    *inputs: Any,
    depth: Optional[int] = None,
    hist: bool = False,
    compare: Sequence[str] = (),
    shapes_only: bool = False,
    batch: Optional[int] = None,
    method: Optional[str] = None,
    params: Sequence[str] = (),
    hybridize: bool = False,
    bins: int = DEFAULT_BINS,
    seed: Optional[int] = None,
) -> Any:
    """The per-layer summary, as ``paraminspect summary``.

    Args:
        model: a MODEL (None: ``mlp``) or a live Block (nested, hybridized or not);
            ``inputs`` follow a Block.
        depth: nested blocks: the first ``depth`` levels of the tree (torchinfo's depth).
        shapes_only: shapes, counts and MACs by shape inference, nothing run.
        hist, compare, batch, method, params, hybridize: a spec's options, as the CLI's.

    Returns:
        A :class:`~paraminspect.reports.summary.SummaryReport`.

    Raises:
        OptionError: a bad option value, or one that does not apply to this kind of model.
    """
    from paraminspect.actions.summary import summary as run_summary

    return run_summary(
        _source(model, inputs, "pi.summary"),
        seed=seed,
        batch=batch,
        method=method,
        params=tuple(params),
        compare=tuple(compare or ()),
        hybridize=hybridize,
        hist_bins=bins if hist else None,
        shapes_only=shapes_only,
        depth=depth,
    )


def _check_loss_name(loss: Loss) -> None:
    if isinstance(loss, str) and loss not in LOSSES:
        raise OptionError(
            f"unknown loss '{loss}'{did_you_mean(loss, LOSSES)} "
            f"(choose from {', '.join(LOSSES)}, or pass a function of the outputs)",
            "--loss",
        )
    if not isinstance(loss, str) and not callable(loss):
        raise OptionError(
            f"loss must be one of {', '.join(LOSSES)} or a function of the outputs, "
            f"got {type(loss).__name__}",
            "--loss",
        )


def grad(
    model: Any = None,
    *inputs: Any,
    loss: Loss = "sum",
    layer: Layers = None,
    select: Optional[str] = None,
    values: bool = False,
    slice: Optional[str] = None,
    stats: bool = False,
    seed: Optional[int] = None,
) -> Any:
    """Forward under ``autograd.record()``, the loss, ``backward()``: as ``paraminspect grad``.

    The gradients stay in the parameters' buffers afterwards, as ``autograd.backward`` leaves
    them (``net[0].weight.grad()`` reads them).

    Args:
        model: a MODEL (None: ``mlp``) or a live Block; ``inputs`` follow a Block.
        loss: ``sum``, ``l2`` or ``softmax-ce`` (targets drawn as the CLI draws them), or a
            function taking the network's outputs and returning the loss NDArray.
        values: print the gradients themselves (``--grad``).

    Returns:
        A :class:`~paraminspect.reports.grad.GradReport`.

    Raises:
        OptionError: an unknown loss, a bad option value, wrong inputs, not a Block.
        BuildError: MXNet refused the forward or backward pass.
    """
    _check_loss_name(loss)
    view = _view(layer=layer, select=select, grad=values, slice=slice, stats=stats, values=False)
    source = _source(model, inputs, "pi.grad")
    from paraminspect.actions.grad import grad as run_grad

    return run_grad(source, view, seed=seed, loss=loss)


def inspect(
    path: str,
    select: Optional[str] = None,
    values: bool = False,
    slice: Optional[str] = None,
    stats: bool = False,
    hist: bool = False,
    bins: int = DEFAULT_BINS,
    min_running_var: float = MIN_RUNNING_VAR,
    min_abs_gamma: float = MIN_ABS_GAMMA,
    scale_factor: float = SCALE_FACTOR,
) -> Any:
    """Every array of a parameter file, as ``paraminspect inspect`` (no code is run).

    Args:
        min_running_var, min_abs_gamma, scale_factor: the findings' thresholds, as
            ``--min-running-var``, ``--min-abs-gamma`` and ``--scale-factor``.

    Returns:
        An :class:`~paraminspect.reports.checkpoint.InspectReport`.

    Raises:
        CheckpointError: the file cannot be read.
        OptionError: a bad ``select``, ``slice`` or threshold.
    """
    from paraminspect.actions.inspect_file import inspect_file

    return inspect_file(
        path,
        select,
        values,
        slice,
        stats,
        hist=hist,
        bins=bins,
        min_running_var=min_running_var,
        min_abs_gamma=min_abs_gamma,
        scale_factor=scale_factor,
    )


def _side(value: Any, label: str) -> Any:
    """``(DiffSide, arrays, log)`` of a path, a Block or a dict of arrays."""
    import numpy as np

    from paraminspect.model.sources import is_block
    from paraminspect.reports.checkpoint import DiffSide

    if isinstance(value, str):
        return None
    if is_block(value):
        from paraminspect.model.params_io import structural_params

        params = structural_params(value)
        for p in params.values():
            if p.shape is None or 0 in tuple(p.shape) or getattr(p, "_data", None) is None:
                raise OptionError(
                    f"pi.diff {label}: {p.name} has no values yet (deferred initialization); "
                    "run the net once first"
                )
        arrays = {k: p.data().asnumpy() for k, p in params.items()}
        return DiffSide(f"{type(value).__name__} '{value.name}'", "block", len(arrays)), arrays, []
    if isinstance(value, dict):
        arrays = {
            str(k): (v.asnumpy() if hasattr(v, "asnumpy") else np.asarray(v))
            for k, v in value.items()
        }
        return DiffSide(f"dict ({label})", "dict", len(arrays)), arrays, []
    raise OptionError(
        f"pi.diff {label} must be a path, a Gluon Block or a dict of arrays, "
        f"got {type(value).__name__}"
    )


def diff(
    a: Any,
    b: Any,
    select: Optional[str] = None,
    seed: Optional[int] = None,
    strict: bool = False,
) -> Any:
    """Two parameter sets compared key by key, as ``paraminspect diff``.

    Args:
        a, b: each a parameter file or spec (as the CLI takes them), a Gluon Block (its
            ``save_parameters`` keys) or a dict of arrays.

    Returns:
        A :class:`~paraminspect.reports.checkpoint.DiffReport`.

    Raises:
        CheckpointError: a path cannot be read or found.
        OptionError: a bad ``select``; a side of another type.
    """
    from paraminspect.actions.diff import compare_sides, open_side

    side_a = _side(a, "a") or open_side(a, seed)
    side_b = _side(b, "b") or open_side(b, seed)
    return compare_sides(side_a, side_b, select, strict)


def watch(net: Any, every: int = 1, **kwargs: Any) -> Any:
    """A watcher for your own ``gluon.Trainer`` loop: call ``.step()`` after
    ``trainer.step``, or use it as a context manager; ``.report()`` is the report
    ``paraminspect train`` renders. See :class:`paraminspect.actions.watch.Watch`."""
    from paraminspect.actions.watch import Watch

    return Watch(net, every=every, **kwargs)


def _load_request(load: Optional[str]) -> Any:
    if load is None:
        return None
    from paraminspect.model.params_io import LoadRequest

    return LoadRequest(load, False, False)


def export(
    model: Any, out: str, inputs: Optional[Any] = None, load: Optional[str] = None, **kw: Any
) -> Any:
    """Export to ONNX and check the file in onnxruntime, as ``paraminspect export``.

    Args:
        model: a MODEL name or path, or a live Block (hybridizable) with ``inputs``.
        out: the ``.onnx`` path.
        inputs: ``{name: array or shape}`` (a Block needs them; a graph may).
        load: a parameter file to load first.
        **kw: ``opset``, ``dynamic_batch``, ``force``, ``keep_failed``, ``seed``, ``rtol``,
            ``atol`` as the CLI's options.

    Returns:
        An :class:`~paraminspect.reports.port.ExportReport` (``.matches``, ``.kept``).
    """
    from paraminspect.actions.port.export import export as run_export

    return run_export(model, out, inputs=inputs, load=_load_request(load), **kw)


def compare(
    model: Any, other: str, inputs: Optional[Any] = None, load: Optional[str] = None, **kw: Any
) -> Any:
    """A model against an ONNX file, parameter by parameter and node by node, as
    ``paraminspect compare``; ``**kw``: ``maps`` (``--map`` rules, ``["OLD=NEW"]``),
    ``rtol``, ``atol``, ``seed``. Returns a
    :class:`~paraminspect.reports.port.CompareReport` (``.equal``)."""
    from paraminspect.actions.port.compare import compare as run_compare

    return run_compare(model, other, inputs, load=_load_request(load), **kw)
