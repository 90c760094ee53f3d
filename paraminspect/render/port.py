"""Renderers of ``export`` and ``compare``: a port's tensors against MXNet's.

The columns a table exists for are the tensor's name and its difference (``max|a-b|``
and whether it is within the allowed one); shapes and the rest go first at a narrow width.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rich.console import Console
from rich.text import Text

from paraminspect._text import plural
from paraminspect.render._common import json_number, new_table, number, phrase_lines, shape_text


def _num(x: Optional[float]) -> str:
    if x is None:
        return "-"
    return "inf" if x == float("inf") else number(x, 3)


def _check_json(c: Any) -> Dict[str, Any]:
    return {
        "onnx_name": c.onnx_name,
        "shape": list(c.shape),
        "onnx_shape": list(c.onnx_shape),
        "max_abs": json_number(c.max_abs),
        "rel_l2": json_number(c.rel_l2),
        "max_mxnet": json_number(c.scale),
        "allowed": json_number(c.limit),
        "match": c.matches,
    }


def _rule_and_inputs_json(report: Any) -> Dict[str, Any]:
    """What export and compare both held the sides to, and what both ran on."""
    inputs = [
        {"name": i.name, "shape": list(i.shape), "dtype": i.dtype, "source": i.source}
        for i in report.inputs
    ]
    return {"rtol": report.rtol, "atol": report.atol, "inputs": inputs}


def export_json(report: Any) -> Dict[str, Any]:
    """The JSON of ``paraminspect export`` (see docs/port.md)."""
    outputs = [
        {"name": c.name, "batch": b, **_check_json(c)}
        for c, b in zip(report.outputs, report.batches)
    ]
    return {
        "command": "export",
        "model": {"label": report.model, "kind": report.kind},
        "path": report.path,
        "kept": report.kept,
        "bytes": report.size,
        "opset": report.opset,
        "dynamic_batch": report.dynamic_batch,
        **_rule_and_inputs_json(report),
        "outputs": outputs,
        "matches": report.matches,
        "dropped_heads": list(report.dropped),
        "fixes": list(report.fixes),
        "log": list(report.log),
    }


def _lines(console: Console, text: str, style: str = "") -> None:
    for line in phrase_lines(text, console.width):
        console.print(Text(line, style=style), soft_wrap=True)


def _bullets(console: Console, lines: Any) -> None:
    """``  - line`` items; a long one wraps under its own first word."""
    for item in lines:
        for i, line in enumerate(phrase_lines(item, max(20, console.width - 4))):
            console.print(Text(("  - " if i == 0 else "    ") + line), soft_wrap=True)


def _rule_text(report: Any) -> str:
    return f"max|a-b| <= {report.rtol:g} * max|mxnet| + {report.atol:g}"


def _print_inputs(console: Console, report: Any) -> None:
    for i in report.inputs:
        _lines(console, f"input {i.name} {shape_text(i.shape)} {i.dtype}, {i.source}")


def _checked(report: Any) -> str:
    """``1 output`` or, with a second batch size, ``1 output at batch sizes 1 and 2``."""
    sizes = sorted(set(report.batches))
    outputs = len(report.outputs) // max(1, len(sizes))
    said = plural(outputs, "output")
    if len(sizes) > 1:
        said += f" at batch sizes {', '.join(map(str, sizes[:-1]))} and {sizes[-1]}"
    return said


def print_export(console: Console, report: Any) -> None:
    """The table view of an ``ExportReport``."""
    where = f"{report.path} ({report.size:,} bytes)" if report.kept else report.path
    _lines(
        console,
        f"export {report.model} ({report.kind}) to {where}: ONNX opset {report.opset}"
        + (", dynamic batch axis N" if report.dynamic_batch else ""),
    )
    _print_inputs(console, report)
    table = new_table(
        f"outputs in onnxruntime against MXNet ({_rule_text(report)})",
        # the output and its difference are what the table is for; long names fold. With
        # --dynamic-batch each output has a row per batch size, so the batch column stays too.
        keep=("output", "max|a-b|", "match") + (("batch",) if report.dynamic_batch else ()),
        drop_first=("shape", "max|mxnet|", "onnx tensor", "allowed"),
        names=("output", "onnx tensor"),
    )
    table.add_column("output", no_wrap=True)
    if report.dynamic_batch:
        table.add_column("batch", justify="right", no_wrap=True)
    table.add_column("onnx tensor", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    for header in ("max|a-b|", "max|mxnet|", "allowed"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("match", no_wrap=True)
    for c, batch in zip(report.outputs, report.batches):
        row = [c.name]
        if report.dynamic_batch:
            row.append(str(batch))
        row += [c.onnx_name or "-", shape_text(c.shape), _num(c.max_abs), _num(c.scale)]
        row += [_num(c.limit), "yes" if c.matches else "NO"]
        table.add_row(*row)
    console.print()
    console.print(table)  # a table ends with a blank line
    for title, lines in (
        ("fixed over MXNet's exporter", report.fixes),
        ("loss heads left out", report.dropped),
    ):
        if lines:
            _lines(console, f"{title}:")
            _bullets(console, lines)
            console.print()
    if report.matches:
        _lines(
            console,
            f"the ONNX file matches MXNet on {_checked(report)}; written to {report.path}",
            style="bold",
        )
    else:
        kept = "kept anyway (--keep-failed)" if report.kept else "not written"
        _lines(console, f"the ONNX file does not match MXNet: {kept}", style="bold")


def _stats_json(stats: Any) -> Dict[str, Any]:
    return {k: json_number(v) for k, v in stats.as_dict().items()}


def compare_json(report: Any) -> Dict[str, Any]:
    """The JSON of ``paraminspect compare`` (see docs/port.md)."""
    params = []
    for p in report.parameters:
        c = p.check
        params.append(
            {
                "name": p.name,
                "onnx_name": p.onnx_name,
                "matched_by": p.matched_by,
                "shape": None if p.shape is None else list(p.shape),
                "onnx_shape": None if p.onnx_shape is None else list(p.onnx_shape),
                "max_abs": None if c is None else json_number(c.max_abs),
                "rel_l2": None if c is None else json_number(c.rel_l2),
                "equal": None if c is None else c.matches,
            }
        )
    nodes = []
    for n in report.nodes:
        entry: Dict[str, Any] = {"node": n.node, "op": n.op, "output": n.output}
        if n.check is None:
            entry.update(
                {"onnx_name": n.onnx_tensor, "max_abs": None, "rel_l2": None, "match": None}
            )
        else:
            entry.update(_check_json(n.check))
        entry["reads"] = list(n.reads)
        nodes.append(entry)
    first = report.first_divergence
    return {
        "command": "compare",
        "model": {"label": report.model, "kind": report.kind},
        "onnx": report.onnx_path,
        **_rule_and_inputs_json(report),
        "equal": report.equal,
        "parameters": params,
        "nodes": nodes,
        "first_divergence": None
        if first is None
        else {
            "node": first.node,
            "parameter": first.parameter,
            "mxnet": _stats_json(first.mxnet),
            "onnx": _stats_json(first.onnx),
        },
        "onnx_error": report.onnx_error,
        "log": list(report.log),
    }


def _param_summary(report: Any) -> str:
    by: Dict[str, int] = {}
    for p in report.parameters:
        by[p.matched_by] = by.get(p.matched_by, 0) + 1
    paired = [p for p in report.parameters if p.check is not None]
    differ = sum(1 for p in paired if p.differs)
    parts = [f"{n} matched by {k}" for k, n in by.items() if k in ("name", "map", "shape")]
    parts += [f"{n} {k}" for k, n in by.items() if k not in ("name", "map", "shape")]
    return f"parameters: {', '.join(parts) or 'none'}; " + (
        f"{plural(differ, 'pair')} {'differs' if differ == 1 else 'differ'}"
        if differ
        else "every pair equal"
    )


def _node_label(n: Any) -> str:
    """``conv0`` for a node's one output, ``split0[2]`` for one of several."""
    if n.output == f"{n.node}_output":
        return n.node
    tail = n.output[len(n.node) + len("_output") :] if n.output.startswith(n.node) else ""
    return f"{n.node}[{tail}]" if tail.isdigit() else n.output


def print_compare(console: Console, report: Any) -> None:
    """The table view of a ``CompareReport``."""
    _lines(console, f"compare {report.model} ({report.kind}) with {report.onnx_path}")
    _print_inputs(console, report)
    console.print()
    _lines(console, _param_summary(report))
    listed = [p for p in report.parameters if p.check is None or p.differs]
    if listed:
        renamed = any(p.onnx_name != p.name for p in listed)
        table = new_table(
            "",
            keep=("parameter", "max|a-b|"),
            drop_first=("onnx name", "shape", "rel_l2"),
            names=("parameter", "onnx name"),
        )
        table.add_column("parameter", no_wrap=True)
        if renamed:
            table.add_column("onnx name", no_wrap=True)
        table.add_column("shape", no_wrap=True)
        for header in ("max|a-b|", "rel_l2"):
            table.add_column(header, justify="right", no_wrap=True)
        for p in listed:
            shape = p.shape if p.shape is not None else p.onnx_shape
            diff = p.matched_by if p.check is None else _num(p.check.max_abs)
            rel = "" if p.check is None else _num(p.check.rel_l2)
            row = [p.name or "-"]
            row += [p.onnx_name or "-"] if renamed else []
            table.add_row(*row, shape_text(shape or ()), diff, rel)
        console.print(table)  # a table ends with a blank line
    else:
        console.print()
    table = new_table(
        f"node outputs in graph order ({_rule_text(report)})",
        keep=("node", "max|a-b|", "match"),
        drop_first=("op", "shape", "max|mxnet|", "allowed"),
        names=("node", "op"),
    )
    table.add_column("node", no_wrap=True)
    table.add_column("op", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    for header in ("max|a-b|", "max|mxnet|", "allowed"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("match", no_wrap=True)
    unmatched: List[str] = []
    uncomputed: List[str] = []
    for n in report.nodes:
        c = n.check
        if c is None:
            (unmatched if n.onnx_tensor is None else uncomputed).append(_node_label(n))
            continue
        table.add_row(
            _node_label(n),
            n.op,
            shape_text(c.shape),
            _num(c.max_abs),
            _num(c.scale),
            _num(c.limit),
            "yes" if c.matches else "NO",
        )
    console.print(table)
    if unmatched:
        _lines(
            console,
            f"no ONNX tensor for {plural(len(unmatched), 'MXNet node')}: " + ", ".join(unmatched),
        )
        console.print()
    if report.onnx_error is not None:
        _lines(console, report.onnx_error)
        if uncomputed:
            _lines(
                console,
                "not computed before it failed, so not compared: "
                f"{plural(len(uncomputed), 'node')} ({', '.join(uncomputed[:3])}"
                f"{', ...' if len(uncomputed) > 3 else ''})",
            )
        console.print()
    first = report.first_divergence
    if first is None and report.onnx_error is not None:
        _lines(console, "differ: the file does not run in onnxruntime", style="bold")
        return
    if first is None:
        _lines(console, "equal: every parameter and every matched node output agree", style="bold")
        return
    where = []
    if first.node is not None:
        where.append(f"node {first.node}")
    if first.parameter is not None:
        where.append(f"parameter {first.parameter}")
    _lines(console, f"differ: first divergence at {', reading '.join(where)}", style="bold")
    for side, stats in (("mxnet", first.mxnet), ("onnx", first.onnx)):
        _lines(
            console,
            f"  {side}: mean {number(stats.mean)}, std {number(stats.std)}, "
            f"min {number(stats.min)}, max {number(stats.max)}",
        )
