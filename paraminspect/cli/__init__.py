"""The command line: parse options, call one core function, pick a renderer. No logic here.

``base`` holds the root group, error handling and the shared options; each other module
registers a few commands on it.
"""

from __future__ import annotations

from paraminspect.cli import (  # noqa: F401  (registers commands)
    editing,
    inspecting,
    port,
    summary,
    training,
)
from paraminspect.cli.base import cli, main

__all__ = ["cli", "main"]
