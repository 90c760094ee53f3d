"""Writing files so that a failure never leaves a half-written one behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Union

from paraminspect.errors import ParamInspectError


def write_atomic(
    path: Union[str, Path], write: Callable[[str], None], force: bool = True, what: str = "file"
) -> Path:
    """Call ``write(tmp_path)`` for a temporary file next to ``path``, then rename it over.

    The temporary file is in the same folder (so the rename is atomic) and is removed when
    ``write`` fails, so ``path`` holds either its old content or the complete new one.

    Raises:
        ParamInspectError: the folder does not exist or is not writable, ``path`` is a
            folder, or it exists and ``force`` is false.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ParamInspectError(f"{target}: is a directory; give a file name")
    if not folder.is_dir():
        raise ParamInspectError(f"{target}: folder {folder} does not exist; create it first")
    if target.exists() and not force:
        raise ParamInspectError(f"{target}: already exists; add --force to overwrite it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ParamInspectError(f"{target}: cannot write in {folder}: {e.strerror}") from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def write_text_atomic(path: Union[str, Path], text: str, force: bool = True) -> Path:
    """Atomically write ``text`` (UTF-8) to ``path``; see :func:`write_atomic`."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return write_atomic(path, write, force=force)
