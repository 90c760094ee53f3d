"""Read a spec (file or built-in) and validate it into a :class:`LoadedSpec`.

Only ``yaml.safe_load``-level constructs are accepted: a spec can never cause code to run.
Planning (names, sharing) happens once, in :mod:`paraminspect.model.sources.spec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml
from pydantic import ValidationError

from paraminspect._text import did_you_mean
from paraminspect.choices import DEFAULT_SPEC
from paraminspect.errors import SpecError
from paraminspect.fileio import special_file_kind
from paraminspect.spec.locate import kind_of, located, spec_error
from paraminspect.spec.messages import _pydantic_error, yaml_error
from paraminspect.spec.models import Spec
from paraminspect.spec.steps import step_problems

MAX_SPEC_BYTES = 1 << 20  # 1 MiB: a spec is a few dozen lines


MAX_YAML_NODES = 100_000  # after alias expansion: refuses "billion laughs" documents


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec together with where it came from (for messages and reports)."""

    spec: Spec
    source: str  # the path, or "builtin:NAME"
    lines: Dict[Tuple[Union[str, int], ...], int]

    @property
    def name(self) -> str:
        if self.spec.name:
            return self.spec.name
        return Path(self.source.replace("builtin:", "")).stem

    def line_of(self, path: Tuple[Union[str, int], ...]) -> Optional[int]:
        """The line of the longest prefix of ``path`` that the YAML document has."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return self.lines[path[:n]]
        return None

    def error(self, path: Tuple[Union[str, int], ...], message: str) -> SpecError:
        """A :class:`SpecError` naming file, line and key path."""
        return SpecError(located(self.source, self.line_of(path), path, message))


def builtin_names() -> List[str]:
    """Names of the specs shipped inside the package (``mlp``, ``shared``, ...)."""
    folder = resources.files("paraminspect") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


WEIGHT_SUFFIXES = (".params", ".npz", ".safetensors")
NDARRAY_MAGIC = (0x112).to_bytes(8, "little")  # mx.nd.save's first 8 bytes


def _is_weight_file(path: Path) -> bool:
    """A weight file (by its name, or mx.nd.save's magic number) given where a spec goes."""
    if path.suffix.lower() in WEIGHT_SUFFIXES:
        return True
    try:
        with path.open("rb") as f:
            return f.read(8) == NDARRAY_MAGIC
    except OSError:
        return False


def read_spec_text(source: Optional[str]) -> Tuple[str, str]:
    """Return ``(text, label)`` for a path or a built-in name (default: ``mlp``).

    Raises:
        SpecError: no such file or built-in, a directory, too large, or not UTF-8 text.
    """
    source = DEFAULT_SPEC if source is None else source
    if source == "-":
        return _read_stdin(), "<stdin>"
    path = Path(source)
    if not path.exists():
        if source in builtin_names():
            res = resources.files("paraminspect") / "configs" / f"{source}.yaml"
            return res.read_text(encoding="utf-8"), f"builtin:{source}"
        raise SpecError(
            f"spec '{source}' not found: no such file and no built-in spec of that name"
            f"{did_you_mean(source, builtin_names())} (built-ins: {', '.join(builtin_names())})"
        )
    if path.is_dir():
        raise SpecError(f"{source}: is a directory; give a spec file such as {source}/mlp.yaml")
    kind = special_file_kind(path)
    if kind is not None:
        raise SpecError(
            f"{source}: is {kind}, not a spec file; to pipe a spec in, give - and use "
            f"standard input (paraminspect check - < my_spec.yaml)"
        )
    if _is_weight_file(path):
        raise SpecError(
            f"{source}: this is a parameter file: paraminspect inspect {source} shows its "
            "arrays (a graph takes it with --load)"
        )
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(
                f"{source}: {size:,} bytes is too large for a spec (limit {MAX_SPEC_BYTES:,})"
            )
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError(f"{source}: cannot read: {e.strerror}") from None
    if b"\x00" in raw:
        raise SpecError(f"{source}: is a binary file, not a YAML spec")
    try:
        return raw.decode("utf-8"), source
    except UnicodeDecodeError:
        raise SpecError(f"{source}: is not UTF-8 text; save the spec as UTF-8") from None


def _read_stdin() -> str:
    """The spec piped in as ``-`` (at most :data:`MAX_SPEC_BYTES`, UTF-8)."""
    import sys

    raw = sys.stdin.buffer.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"<stdin>: more than {MAX_SPEC_BYTES:,} bytes is too large for a spec")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("<stdin>: is not UTF-8 text; pipe in a UTF-8 spec") from None


def load_spec(source: Optional[str] = None) -> LoadedSpec:
    """Read, parse and fully validate a spec, sharing links included (MXNet is not imported).

    Args:
        source: a file path or a built-in name; ``None`` means the built-in ``mlp``.

    Returns:
        The validated spec with its source label and YAML line marks.

    Raises:
        SpecError: with ``file:line: key.path: problem`` in the message.
    """
    text, label = read_spec_text(source)
    return parse_spec(text, label)


def parse_spec(text: str, label: str = "<spec>") -> LoadedSpec:
    """Validate spec text (see :func:`load_spec`)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise yaml_error(label, e) from None
    if node is None:
        raise SpecError(f"{label}: the spec is empty; it needs at least 'input' and 'layers'")
    lines: Dict[Tuple[Union[str, int], ...], int] = {}
    _walk(node, (), lines, [0], label)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:  # pragma: no cover - compose already parsed it
        raise yaml_error(label, e) from None
    if not isinstance(data, dict):
        raise SpecError(
            f"{label}:{node.start_mark.line + 1}: the spec must be a mapping with keys "
            f"'input' and 'layers', got {kind_of(data)}"
        )
    # Every problem at once: the steps' own checks, then pydantic's over the rest (bad steps
    # are left out of that pass, or pydantic would report them again in its own words).
    bad_steps = step_problems(data, lines)
    try:
        spec = Spec.model_validate(
            {k: v for k, v in data.items() if k != "steps"} if bad_steps else data
        )
    except ValidationError as e:
        raise _pydantic_error(label, lines, e, bad_steps) from None
    if bad_steps:
        raise spec_error(label, bad_steps)
    loaded = LoadedSpec(spec=spec, source=label, lines=lines)
    return loaded


def _walk(
    node: yaml.Node,
    path: Tuple[Union[str, int], ...],
    lines: Dict[Tuple[Union[str, int], ...], int],
    count: List[int],
    label: str,
) -> None:
    count[0] += 1
    if count[0] > MAX_YAML_NODES:
        raise SpecError(
            f"{label}: the document expands to more than {MAX_YAML_NODES:,} YAML nodes "
            "(an alias bomb?); write the spec out plainly"
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: Dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in seen:
                raise SpecError(
                    located(
                        label,
                        key_node.start_mark.line + 1,
                        path,
                        f"duplicate key '{key}' (first at line {seen[key]}); keep one",
                    )
                )
            seen[key] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, count, label)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, count, label)
