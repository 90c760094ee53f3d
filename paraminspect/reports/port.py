"""What ``export`` and ``compare`` return (plain frozen data; no MXNet, onnx or rich)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from paraminspect.reports._rich import RichReport
from paraminspect.stats import TensorStats


@dataclass(frozen=True)
class TensorCheck:
    """One MXNet tensor against its ONNX counterpart, under the match rule
    max|a - b| <= rtol * max|mxnet| + atol."""

    name: str  # the MXNet name (an output such as fc1_output, or a parameter)
    onnx_name: Optional[str]
    shape: Tuple[int, ...]  # MXNet's
    onnx_shape: Tuple[int, ...]
    max_abs: Optional[float]  # None: the shapes differ
    rel_l2: Optional[float]  # ||a - b|| / ||a||
    scale: float  # max|mxnet|
    limit: float  # rtol * scale + atol

    @property
    def matches(self) -> bool:
        return self.max_abs is not None and self.max_abs <= self.limit


@dataclass(frozen=True)
class PortInput:
    """An input both runtimes were fed."""

    name: str
    shape: Tuple[int, ...]
    dtype: str
    source: str  # 'drawn' or the .npy path


@dataclass(frozen=True, eq=False)
class ExportReport(RichReport):
    """What ``paraminspect export MODEL OUT.onnx`` did and measured."""

    model: str
    kind: str
    path: str
    opset: int
    dynamic_batch: bool
    rtol: float
    atol: float
    inputs: Tuple[PortInput, ...]
    outputs: Tuple[TensorCheck, ...]  # per output, on the inputs (and a second batch size)
    batches: Tuple[int, ...]  # the batch size of each row of ``outputs``
    kept: bool  # the file is on disk
    size: int  # its bytes (0 when not kept)
    dropped: Tuple[str, ...] = ()  # loss heads left out, each described
    fixes: Tuple[str, ...] = ()  # what was mended over MXNet's exporter
    log: Tuple[str, ...] = ()

    @property
    def matches(self) -> bool:
        return all(c.matches for c in self.outputs)

    @property
    def failure(self) -> Optional[str]:
        if self.matches:
            return None
        worst = max(
            self.outputs, key=lambda c: float("inf") if c.max_abs is None else c.max_abs - c.limit
        )
        what = "shape differs" if worst.max_abs is None else f"max|a-b| {worst.max_abs:.3g}"
        kept = f"kept at {self.path} (--keep-failed)" if self.kept else "not kept"
        return (
            f"the ONNX file does not match MXNet ({worst.name}: {what}, allowed "
            f"{worst.limit:.3g}); {kept}"
        )


@dataclass(frozen=True)
class NodeCheck:
    """One MXNet node output against the ONNX tensor of the same name (None: no such)."""

    node: str  # the MXNet node name
    op: str
    output: str  # the MXNet output name (conv0_output)
    check: Optional[TensorCheck]
    reads: Tuple[str, ...]  # the parameters the node reads
    onnx_tensor: Optional[str] = None  # its ONNX tensor (set even when it was not computed)


@dataclass(frozen=True)
class ParamPair:
    """A parameter on either side: matched by name or by shape, or on one side only."""

    name: Optional[str]  # MXNet's, without arg:/aux:
    onnx_name: Optional[str]
    matched_by: str  # 'name', 'map', 'shape', 'mxnet only', 'onnx only'
    shape: Optional[Tuple[int, ...]]
    onnx_shape: Optional[Tuple[int, ...]]
    check: Optional[TensorCheck]  # None: on one side only

    @property
    def differs(self) -> bool:
        return self.check is not None and not self.check.matches


@dataclass(frozen=True)
class Divergence:
    """The first place the port differs: the node (or None), the parameter it reads that
    differs (or None), and the statistics of both sides' values there."""

    node: Optional[str]
    parameter: Optional[str]
    mxnet: TensorStats
    onnx: TensorStats


@dataclass(frozen=True, eq=False)
class CompareReport(RichReport):
    """What ``paraminspect compare MODEL OTHER.onnx`` found."""

    model: str
    kind: str
    onnx_path: str
    rtol: float
    atol: float
    inputs: Tuple[PortInput, ...]
    parameters: Tuple[ParamPair, ...]
    nodes: Tuple[NodeCheck, ...]
    first_divergence: Optional[Divergence]
    onnx_error: Optional[str] = None  # onnxruntime refused or failed on the whole file
    log: Tuple[str, ...] = ()

    @property
    def equal(self) -> bool:
        return (
            self.onnx_error is None
            and not any(p.differs for p in self.parameters)
            and all(n.check is None or n.check.matches for n in self.nodes)
        )

    @property
    def failure(self) -> Optional[str]:
        return None if self.equal else ""
