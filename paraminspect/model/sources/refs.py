"""The forms of the MODEL argument, told apart without importing MXNet or any source."""

from __future__ import annotations

import re
from typing import Literal

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
