"""What each array in a checkpoint is: weight, bias, norm, running statistic or other.

Names decide by their last part (``_weight``, ``.gamma``, ``_moving_var``, ...), as MXNet
Modules (``arg:conv0_weight``, ``aux:bn0_moving_var``), Gluon (``dense0_weight``,
``batchnorm0_running_var``) and ``save_parameters`` (``0.weight``, ``1.running_mean``)
write them. A name cannot tell a BatchNorm's ``gamma`` from a PReLU slope that MXNet's
``LeakyReLU`` also calls ``gamma``; a graph can, so a :class:`ParamUse` for a name (see
:func:`paraminspect.diagnose.graph.uses_from_symbol`) wins over the name.

Roles are respected: an ``aux:`` key is an auxiliary state (never a weight, bias or norm) and
an ``arg:`` key is a trained argument (never a running statistic); a suffix that contradicts
the role gives ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, Mapping, NamedTuple, Optional, Tuple, Union

KINDS = ("weight", "bias", "norm", "running", "other")
ROLE_PREFIXES = ("arg:", "aux:")

# Longest first, so that ``_moving_mean`` is tried before anything shorter.
SUFFIX_KINDS: Tuple[Tuple[str, str], ...] = (
    ("running_mean", "running"),
    ("running_var", "running"),
    ("moving_mean", "running"),
    ("moving_var", "running"),
    ("weight", "weight"),
    ("gamma", "norm"),
    ("alpha", "other"),  # Gluon's PReLU slope (prelu0_alpha)
    ("bias", "bias"),
    ("beta", "norm"),
)

# op type -> {input index: (kind, part)}, for MXNet operators whose inputs are parameters
_NORM_INPUTS = {1: ("norm", "gamma"), 2: ("norm", "beta")}
_BN_INPUTS = {**_NORM_INPUTS, 3: ("running", "moving_mean"), 4: ("running", "moving_var")}
_LINEAR_INPUTS = {1: ("weight", "weight"), 2: ("bias", "bias")}
OP_INPUTS: Dict[str, Dict[int, Tuple[str, str]]] = {
    "BatchNorm": _BN_INPUTS,
    "_contrib_SyncBatchNorm": _BN_INPUTS,
    "LayerNorm": _NORM_INPUTS,
    "InstanceNorm": _NORM_INPUTS,
    "GroupNorm": _NORM_INPUTS,
    "Convolution": _LINEAR_INPUTS,
    "Deconvolution": _LINEAR_INPUTS,
    "FullyConnected": _LINEAR_INPUTS,
    "Embedding": {1: ("weight", "weight")},
    "LeakyReLU": {1: ("other", "slope")},  # act_type='prelu': gamma is a slope, not a norm
}


class ParamUse(NamedTuple):
    """The op that consumes a parameter: its node name, its type, the input position and the
    op's attributes as ``(name, value)`` string pairs, as the graph stores them.

    A plain ``(op, op_type)`` tuple is accepted wherever a ParamUse is.
    """

    op: str
    op_type: str
    input_index: Optional[int] = None
    attrs: Tuple[Tuple[str, str], ...] = ()


UseLike = Union[ParamUse, Tuple[str, str], Tuple[str, str, Optional[int]]]
Uses = Mapping[str, UseLike]


@dataclass(frozen=True)
class ArrayKind:
    """What one array is.

    ``kind`` is one of :data:`KINDS`; ``part`` is its place in the layer (``weight``,
    ``gamma``, ``moving_var``, ``slope``, ...; empty when unknown); ``layer`` is the layer
    it belongs to; ``role`` is ``arg``/``aux`` for Module keys, else empty. ``ignored`` is
    true for a gamma the graph's BatchNorm never reads (``fix_gamma=True``: it uses 1).
    """

    key: str
    kind: str
    part: str
    layer: str
    role: str
    ignored: bool = False

    @property
    def is_running_var(self) -> bool:
        return self.kind == "running" and self.part.endswith("var")


def split_role(key: str) -> Tuple[str, str]:
    """``aux:bn0_moving_var`` -> ``("aux", "bn0_moving_var")``; no prefix -> ``("", key)``."""
    if key.startswith(ROLE_PREFIXES):
        return key[:3], key[4:]
    return "", key


def _suffix(bare: str) -> Tuple[str, str, str]:
    """(layer, suffix, kind) from the name's last part; no known suffix -> (bare, "", "other")."""
    for suffix, kind in SUFFIX_KINDS:
        if bare == suffix:
            return bare, suffix, kind
        for sep in ("_", "."):
            if bare.endswith(sep + suffix):
                return bare[: -len(suffix) - 1], suffix, kind
    return bare, "", "other"


def _lookup(uses: Optional[Uses], key: str, bare: str) -> Optional[ParamUse]:
    if not uses:
        return None
    found = uses.get(key, uses.get(bare))
    return None if found is None else ParamUse(*found)


def classify(key: str, uses: Optional[Uses] = None) -> ArrayKind:
    """Classify one array by its key (and the graph's use of it, when known).

    Args:
        key: the key as stored (``arg:fc1_gamma``, ``dense0_bias``, ``0.weight``).
        uses: optional name -> :class:`ParamUse`; keys may carry the role prefix or not.

    Returns:
        The array's :class:`ArrayKind`.
    """
    role, bare = split_role(key)
    layer, part, kind = _suffix(bare)
    use = _lookup(uses, key, bare)
    ignored = False
    if use is not None:
        layer = use.op
        by_input = OP_INPUTS.get(use.op_type, {})
        if use.input_index in by_input:
            kind, part = by_input[use.input_index]
        elif use.op_type == "LeakyReLU":
            kind, part = "other", "slope"
        # the symbolic BatchNorm's default is fix_gamma=True: a graph may leave it out
        fixed = dict(use.attrs).get("fix_gamma", "True").lower() in ("true", "1")
        ignored = part == "gamma" and "BatchNorm" in use.op_type and fixed
    if (role == "aux" and kind != "running") or (role == "arg" and kind == "running"):
        kind = "other"
    return ArrayKind(key=key, kind=kind, part=part, layer=layer, role=role, ignored=ignored)


def classify_all(keys: Iterable[str], uses: Optional[Uses] = None) -> Dict[str, ArrayKind]:
    """:func:`classify` for every key, in order."""
    return {key: classify(key, uses) for key in keys}


def layer_of(key: str, uses: Optional[Uses] = None) -> str:
    """The layer a key belongs to: the consuming op when known, else the name without its
    role prefix and parameter suffix (``aux:bn3_moving_var`` -> ``bn3``, ``0.weight`` -> ``0``).
    """
    return classify(key, uses).layer


def group_by_layer(keys: Iterable[str], uses: Optional[Uses] = None) -> Dict[str, Tuple[str, ...]]:
    """Group keys by :func:`layer_of`, layers and keys in first-seen order.

    Every key lands in exactly one group (a key without a known suffix is its own layer).
    """
    groups: Dict[str, list] = {}
    for key in keys:
        groups.setdefault(layer_of(key, uses), []).append(key)
    return {layer: tuple(members) for layer, members in groups.items()}
