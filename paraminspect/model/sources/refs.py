"""The forms of the MODEL argument, told apart without importing MXNet or any source."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import List, Literal, Optional, Tuple

ModelKind = Literal["symbol", "zoo", "factory", "spec"]

_FACTORY = re.compile(r"^(?P<file>.+\.py):(?P<func>[A-Za-z_]\w*)$")


def parse_model_ref(text: str) -> ModelKind:
    """Which form a MODEL string is.

    ``zoo:NAME[,k=v...]`` -> 'zoo'; ``FILE.py:FUNC`` (or a bare ``FILE.py``) -> 'factory';
    a name ending in ``.json`` (an exported ``-symbol.json``) -> 'symbol'; anything else ->
    'spec' (YAML).
    """
    if text.startswith("zoo:"):
        return "zoo"
    if _FACTORY.match(text) or re.search(r"\.py(:|$)", text):
        return "factory"  # a malformed FILE.py:FUNC is told how to write it there
    if text.lower().endswith(".json"):
        return "symbol"
    return "spec"


def split_factory_ref(text: str) -> tuple[str, str]:
    """``models/net.py:build`` -> ``('models/net.py', 'build')``.

    Raises:
        SpecError: not of the form FILE.py:FUNC.
    """
    m = _FACTORY.match(text)
    if not m:
        from paraminspect.errors import SpecError

        raise SpecError(
            f"bad factory reference '{text}': write FILE.py:FUNC (e.g. models/net.py:build)"
        )
    return m.group("file"), m.group("func")


def model_files(text: Optional[str]) -> List[Tuple[str, str]]:
    """The files a MODEL argument reads, as (role, path), without opening them: the spec,
    the factory's ``.py``, or the graph and every ``PATH-NNNN.params`` beside it.

    An output must be none of them (see :func:`paraminspect.fileio.check_output`).
    """
    if text is None or text.startswith("zoo:"):
        return []
    kind = parse_model_ref(text)
    if kind == "factory":
        return [("the factory's file", text if text.endswith(".py") else text.rsplit(":", 1)[0])]
    if kind == "spec":
        return [("the spec", text)]
    found = [("the graph", text)]
    stem = Path(text[: -len("-symbol.json")] if text.endswith("-symbol.json") else text[:-5])
    with contextlib.suppress(OSError):
        pattern = re.compile(re.escape(stem.name) + r"-\d{4}\.params$")
        found += [
            ("the graph's weights", str(p))
            for p in sorted((stem.parent or Path(".")).iterdir())
            if pattern.match(p.name)
        ]
    return found
