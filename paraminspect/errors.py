"""The one error hierarchy of paraminspect.

The core raises these; ``cli.py`` turns :class:`OptionError` into a usage error (exit 2)
and every other :class:`ParamInspectError` into a one-line ``Error:`` message (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


class ParamInspectError(Exception):
    """Base class: a problem the user can fix, reported as one line without a traceback."""


@dataclass(frozen=True)
class SpecProblem:
    """One problem of a spec: its line (None if unknown), key path (``layers[0]``) and text."""

    line: Optional[int]
    path: str
    message: str


class SpecError(ParamInspectError):
    """A spec file is missing, malformed or invalid (``problems``: each one, for JSON)."""

    def __init__(self, message: str, problems: Sequence[SpecProblem] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems) or (SpecProblem(None, "", message),)


class OptionError(ParamInspectError):
    """A command-line option has a value that cannot be used (bad regex, slice, layer...)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class BuildError(ParamInspectError):
    """MXNet refused to build, initialize or run the network described by a spec."""


class InitializerError(ParamInspectError):
    """An initializer name, parameter or plugin is unknown or invalid."""


class CheckpointError(ParamInspectError):
    """A parameter file cannot be read, written or matched to a network."""


class UserCodeError(BuildError):
    """The user's own code (a factory, a plugin, a loss function) raised or called sys.exit."""


class ResourceError(ParamInspectError):
    """A request would need more memory (or other resources) than the machine has."""


class CheckFailed(ParamInspectError):
    """A requested check ran and found a problem (exit code 1, report still printed)."""


class OutputError(ParamInspectError):
    """An output file (--save, -o, --plot) cannot be written where the command was asked to."""


class NotApplicableError(OptionError):
    """An option that does not apply to this kind of model (the CLI's usage error, exit 2)."""
