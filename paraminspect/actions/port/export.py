"""``paraminspect export MODEL OUT.onnx``: convert, then prove the file in onnxruntime.

The file is checked before it is kept: onnxruntime runs it on the inputs (given or drawn)
and every output is held against MXNet's under the match rule; one that does not match
means the file is not written (``keep_failed`` writes it anyway) and the report fails.
With ``dynamic_batch`` the check runs again on a batch one larger, drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import numpy as np

from paraminspect._text import quote
from paraminspect.actions.port.deps import require_onnx
from paraminspect.choices import DEFAULT_ATOL, DEFAULT_OPSET, DEFAULT_RTOL
from paraminspect.errors import OutputError
from paraminspect.reports.port import ExportReport, PortInput, TensorCheck


def port_fields(model: Any, frozen: Any, rtol: float, atol: float) -> Dict[str, Any]:
    """What an export and a compare report both say of the MXNet side: the MODEL as given
    (a live Block by its label), its kind, the match rule, the inputs both sides ran on
    (as the report shows them) and the notes of the build."""

    def source(d: Any) -> str:
        if d.name in frozen.given:
            return "given as an array"
        if d.dist == "file":
            return str(d.path)
        return "drawn from N(0, 1)" if d.dist == "normal" else "drawn from U(0, 1)"

    return {
        "model": model if isinstance(model, str) else frozen.label,
        "kind": frozen.kind,
        "rtol": rtol,
        "atol": atol,
        "inputs": tuple(
            PortInput(d.name, tuple(d.shape), d.dtype, source(d)) for d in frozen.inputs
        ),
        "log": tuple(frozen.notes),
    }


def check_outputs(
    frozen: Any,
    model: Any,
    rtol: float,
    atol: float,
    arrays: Optional[Dict[str, np.ndarray]] = None,
) -> List[TensorCheck]:
    """Every prediction output of MXNet against the ONNX model's, on ``arrays``."""
    from paraminspect.actions.port.runtime import mxnet_values, onnx_values
    from paraminspect.actions.port.tensors import check_tensor, onnx_tensor_for, output_names

    if arrays is not None:
        frozen = _with_arrays(frozen, arrays)
    outputs = frozen.symbol.list_outputs()
    mine = mxnet_values(frozen, outputs)
    theirs = onnx_values(model, frozen.arrays)
    known = output_names(model)
    checks = []
    for name in outputs:
        tensor = onnx_tensor_for(name, set(theirs), known)
        value = theirs.get(tensor) if tensor is not None else None
        if value is None:
            value = np.full((0,), np.nan)
        checks.append(check_tensor(name, tensor, mine[name], value, rtol, atol))
    return checks


def _with_arrays(frozen: Any, arrays: Dict[str, np.ndarray]) -> Any:
    import dataclasses

    return dataclasses.replace(frozen, arrays=arrays)


def _larger_batch(frozen: Any) -> Dict[str, np.ndarray]:
    """A batch one larger than the given inputs, drawn from U(0, 1) (a ``.npy`` sample
    has no second batch size to read)."""
    import mxnet as mx

    out = {}
    for d in frozen.inputs:
        shape = (d.shape[0] + 1, *d.shape[1:])
        out[d.name] = mx.nd.random.uniform(shape=shape, dtype=d.dtype).asnumpy()
    return out


def _refuse_input_as_output(out: str, model: Any, load: Any) -> None:
    target = Path(out).resolve()
    inputs = [model if isinstance(model, str) else None, getattr(load, "path", None)]
    for given in inputs:
        if given and Path(given).exists() and Path(given).resolve() == target:
            raise OutputError(
                f"{quote(out)} is an input of this command; write the ONNX file elsewhere"
            )


def export(
    model: Any,
    out: str,
    inputs: Optional[Mapping[str, Any]] = None,
    load: Any = None,
    opset: int = DEFAULT_OPSET,
    dynamic_batch: bool = False,
    force: bool = False,
    keep_failed: bool = False,
    seed: Optional[int] = None,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> ExportReport:
    """Export ``model`` to ONNX at ``out``, run the file in onnxruntime and check it.

    Args:
        model: any MODEL (spec, ``PATH-symbol.json``, ``zoo:NAME``, ``FILE.py:FUNC``) or a
            live Block (``inputs`` then maps names to shapes or arrays).
        out: the ``.onnx`` path; refused if it exists unless ``force``.
        inputs: ``--input``: name -> InputDesc (shape or ``.npy``).
        load: ``--load``: a LoadRequest for the weights.
        opset: 12 or 13.
        dynamic_batch: the first axis of inputs and outputs is named ``N``.
        keep_failed: write the file even when it does not match MXNet.

    Raises:
        MissingExtraError: onnx/onnxruntime are not installed.
        OutputError: ``out`` cannot be written (exists, no folder, is an input).
        OptionError: a bad opset or inputs.
        BuildError: the model cannot be hybridized or converted, or onnxruntime refuses it.
    """
    require_onnx("export")
    from paraminspect.actions.port.convert import check_opset
    from paraminspect.fileio import check_target, save_onnx

    check_opset(opset)
    check_target(out, force)
    _refuse_input_as_output(out, model, load)
    from paraminspect.actions.port.convert import to_onnx
    from paraminspect.actions.port.frozen import freeze

    frozen = freeze(model, inputs, load, seed)
    converted = to_onnx(frozen, opset, dynamic_batch)
    checks = check_outputs(frozen, converted.model, rtol, atol)
    batches = [frozen.inputs[0].shape[0] if frozen.inputs else 0] * len(checks)
    if dynamic_batch and frozen.inputs:
        more = check_outputs(frozen, converted.model, rtol, atol, _larger_batch(frozen))
        batches += [frozen.inputs[0].shape[0] + 1] * len(more)
        checks += more
    matches = all(c.matches for c in checks)
    size = 0
    if matches or keep_failed:
        size = save_onnx(out, converted.model, force=force)
    return ExportReport(
        **port_fields(model, frozen, rtol, atol),
        path=out,
        opset=opset,
        dynamic_batch=dynamic_batch,
        outputs=tuple(checks),
        batches=tuple(batches),
        kept=bool(size),
        size=size,
        dropped=tuple(d.describe() for d in frozen.dropped),
        fixes=tuple(converted.fixes),
    )
