"""What every net command does around its work: refuse bad --load/--save early, load, save."""

from __future__ import annotations

from typing import Any, List, Optional

from paraminspect.fileio import check_target
from paraminspect.model.params_file import check_file
from paraminspect.model.params_io import (
    LoadRequest,
    SaveRequest,
    load_params,
    save_params,
)


def preflight(load: Optional[LoadRequest], save: Optional[SaveRequest]) -> None:
    """Refuse a ``--save`` target or a ``--load`` file before anything expensive runs.

    Checks what can be known up front: the save folder exists and is writable, the target
    is not a folder and does not exist (unless ``--force``); the file to load exists and its
    structure (headers, never the values) is an MXNet parameter file. Keys and shapes are
    matched later, against the built net.

    Raises:
        OutputError: the save target is refused (see :func:`paraminspect.fileio.check_target`).
        CheckpointError: the load file is missing, empty, truncated or not a parameter file.
    """
    if save is not None:
        check_target(save.path, save.force, "--save")
    if load is not None:
        check_file(load.path)


def apply_load(model: Any, request: Optional[LoadRequest]) -> List[str]:
    """Load ``request.path`` into ``model`` (if asked); returns lines for the log."""
    if request is None or getattr(model.source, "param_file", None) == request.path:
        return []  # an exported graph's source loaded its weights itself
    result = load_params(model, request.path, request.allow_missing, request.ignore_extra)
    return [result.message]


def apply_save(model: Any, request: Optional[SaveRequest]) -> List[str]:
    """Save ``model``'s parameters to ``request.path`` (if asked); returns lines for the log."""
    if request is None:
        return []
    return [save_params(model, request.path, request.force).message]
