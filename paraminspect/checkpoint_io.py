"""Writing parameter files without ever leaving a half-written one.

Kept to one small function so the full checkpoint module can replace it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from paraminspect.errors import CheckpointError


def save_atomic(net: Any, path: str, force: bool = False) -> str:
    """``net.save_parameters`` to a temporary file in the same folder, then ``os.replace``.

    Args:
        net: a Gluon block.
        path: where the parameters go.
        force: replace an existing file.

    Returns:
        The path written.

    Raises:
        CheckpointError: the file exists (without ``force``), the folder is missing, the path
            is a folder, or MXNet/the OS failed to write (nothing is left behind then).
    """
    target = check_target(path, force)
    folder = target.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        net.save_parameters(tmp)
        os.replace(tmp, target)
    except Exception as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CheckpointError(f"{path}: cannot write parameters: {e}") from e
    return str(target)


def check_target(path: str, force: bool = False) -> Path:
    """Refuse a save target before any work is done (same rules as :func:`save_atomic`).

    Raises:
        CheckpointError: the path is a folder, its folder is missing, or it exists (no force).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise CheckpointError(f"{path}: is a directory; give a file name such as {path}/net.params")
    if not folder.is_dir():
        raise CheckpointError(
            f"{path}: folder '{folder}' does not exist; create it first (mkdir -p {folder})"
        )
    if target.exists() and not force:
        raise CheckpointError(f"{path}: already exists; pass --force to overwrite it")
    return target
