"""The report of ``init --list``: the initializer catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Tuple

from paraminspect.reports._rich import RichReport


@dataclass(frozen=True)
class CatalogReport(RichReport):
    """Every initializer the tool knows, in catalog order."""

    methods: Tuple[Any, ...]  # paraminspect.init.catalog.InitMethod
