"""The static description of a network, the same for every source, with no MXNet.

A source (a YAML spec, an exported graph, a model-zoo name, a factory, a live Block)
describes its network as a :class:`Layout`: its inputs, its layers (a node list for
graphs, a flattened tree for nested blocks) and its unique parameters, each with every
layer that reads it. ``show --shapes-only``, ``summary``, the memory estimate, selections
and the sharing map read this, so they work the same on every source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

Shape = Tuple[int, ...]

DTYPE_BYTES = {
    "float16": 2,
    "float32": 4,
    "float64": 8,
    "uint8": 1,
    "int8": 1,
    "int32": 4,
    "int64": 8,
}


@dataclass(frozen=True)
class InputDesc:
    """One input of the network."""

    name: str  # 'data' for graphs and Blocks; specs call it 'data' too
    shape: Shape  # () when the source does not know it and the user gave none
    dtype: str = "float32"
    dist: str = "uniform"  # how it is drawn: 'uniform' | 'normal'; 'file' for a .npy sample
    path: Optional[str] = None  # the .npy file when dist == 'file'
    # a loss head's class labels: drawn as integers in [low, high) (SoftmaxOutput, CTC)
    classes: Optional[Tuple[int, int]] = None


@dataclass(frozen=True)
class ParamDesc:
    """One unique parameter tensor, as ``collect_params()`` names it."""

    name: str
    shape: Shape  # 0 stands for a dimension not known before the first forward pass
    dtype: str
    grad_req: str  # 'write' | 'add' | 'null' (auxiliary states such as running_var)
    init: str  # how its values came about: an initializer description, or 'loaded'
    users: Tuple[int, ...]  # indices into Layout.layers of every layer that reads it

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * DTYPE_BYTES.get(self.dtype, 4)

    @property
    def trainable(self) -> bool:
        return self.grad_req != "null"


@dataclass(frozen=True)
class LayerDesc:
    """One layer: a child block at any depth, or an op node of a graph."""

    index: int
    name: str  # Gluon block name without its trailing '_' (dense0), or the graph node name
    path: str  # '3' for a spec layer, 'features.3.body.0' for nested blocks, node name for graphs
    type: str  # 'dense', 'batchnorm', ... for specs; the Block class or the graph op otherwise
    depth: int  # 0 for top-level layers and graph nodes; +1 for each level of nesting
    out_shape: Optional[Shape]  # None when unknown (no input shape)
    params: Tuple[str, ...]  # names of the parameters it reads (shared ones included)
    macs: int = 0  # multiply-accumulates of one forward pass over the batch
    activation: Optional[str] = None
    in_shape: Optional[Shape] = None  # the first input's shape, when known
    output_index: int = 0  # which output of a graph op with several (a row for each)

    @property
    def label(self) -> str:
        """How every command names it: :func:`layer_label` of its path and name."""
        return layer_label(self.path, self.name)


class Labelled:
    """A row about one layer (in a report) that carries its ``path`` and ``name``: the
    label every command shows is :func:`layer_label` of them."""

    path: str
    name: str

    @property
    def label(self) -> str:
        return layer_label(self.path, self.name)


def layer_label(path: str, name: str) -> str:
    """A layer's label: its Gluon path (``3`` is ``net[3]``, ``features.4.0.body.1``), with
    its block name in parentheses where that differs (``0 (dense0)``); a graph node's path
    is its name. A root Block holding parameters of its own has no path: its name."""
    if not path or path == name:
        return name or path
    return f"{path} ({name})" if name else path


@dataclass(frozen=True)
class LossHead:
    """One output of an exported graph that is a loss op (see model/heads.py)."""

    output: int  # index among the graph's heads
    node: str  # the head node's name
    op: str  # its op ('MakeLoss')
    inner: Optional[str]  # for MakeLoss/BlockGrad over a loss op: that op ('_contrib_CTCLoss')
    labels: Tuple[str, ...]  # the label variables it reads
    attrs: Tuple[Tuple[str, str], ...] = ()  # the loss op's attributes (grad_scale, ...)

    @property
    def what(self) -> str:
        """``SoftmaxOutput 'softmax'``, ``MakeLoss of _contrib_CTCLoss 'ctcloss'``."""
        inner = f" of {self.inner}" if self.inner else ""
        return f"{self.op}{inner} '{self.node}'"


@dataclass(frozen=True)
class Layout:
    """The network, statically: inputs, layers and unique parameters."""

    name: str
    inputs: Tuple[InputDesc, ...]
    layers: Tuple[LayerDesc, ...]
    params: Tuple[ParamDesc, ...]  # each tensor once, in collect_params order
    loss_heads: Tuple[LossHead, ...] = ()  # outputs that are the graph's own loss ops
    # (gamma, BatchNorm node) of fix_gamma=True BatchNorms: the stored gamma is not used
    fixed_gammas: Tuple[Tuple[str, str], ...] = ()

    def param(self, name: str) -> ParamDesc:
        return next(p for p in self.params if p.name == name)

    @property
    def users(self) -> Dict[str, Tuple[int, ...]]:
        """Parameter name -> indices of every layer that reads it."""
        return {p.name: p.users for p in self.params}

    @property
    def total_params(self) -> int:
        """Each use counted, as Block.summary's 'Total params'."""
        return sum(p.size * max(len(p.users), 1) for p in self.params)

    @property
    def unique_count(self) -> int:
        return sum(p.size for p in self.params)

    @property
    def trainable_count(self) -> int:
        return sum(p.size for p in self.params if p.trainable)

    @property
    def param_bytes(self) -> int:
        return sum(p.nbytes for p in self.params)
