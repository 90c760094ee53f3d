"""Writing files so that a failure never leaves a half-written one behind.

The one implementation of atomic writes: parameter files (``--save``), the JSON schema
(``schema -o``) and plots (``train --plot``) all go through :func:`atomic_write`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Union

from paraminspect._text import quote
from paraminspect.errors import OutputError

PathLike = Union[str, Path]


def check_target(path: PathLike, force: bool = False) -> Path:
    """Refuse an output path before any work is done (the rules :func:`atomic_write` applies).

    Raises:
        OutputError: the folder is missing, not a folder or not writable, ``path`` is a
            folder, or it exists and ``force`` is False.
    """
    p = Path(path)
    parent = p.parent
    if not parent.exists():
        raise OutputError(
            f"cannot write {quote(path)}: folder '{parent}' does not exist; create it first "
            f"(mkdir -p {parent})"
        )
    if not parent.is_dir():
        raise OutputError(f"cannot write {quote(path)}: '{parent}' is not a folder")
    if p.is_dir():
        raise OutputError(f"cannot write {quote(path)}: it is a folder; give a file name inside it")
    if p.exists() and not force:
        raise OutputError(f"{quote(path)} already exists; use --force to overwrite it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {quote(path)}: folder '{parent}' is not writable")
    return p


def atomic_write(path: PathLike, write: Callable[[str], None], force: bool = False) -> int:
    """Write a file so that readers see the old file or the complete new one, never a part.

    ``write(tmp)`` writes the content to a temporary file in the same folder; it is then
    flushed to disk (fsync), given the permissions a plain ``open()`` would give it, and
    renamed over ``path`` (``os.replace``, atomic on POSIX); the folder is fsync'd so the
    rename itself survives a crash. If anything fails, the temporary file is removed and
    ``path`` is untouched.

    Returns:
        The size of the written file in bytes.

    Raises:
        OutputError: see :func:`check_target`; also when writing failed.
    """
    target = check_target(path, force)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:  # read-only file system, quota, permissions root does not bypass
        raise OutputError(
            f"cannot write {quote(path)}: cannot create a file in '{target.parent}' "
            f"({e.strerror or e})"
        ) from e
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
            size = os.fstat(f.fileno()).st_size
        # mkstemp makes the file 0600; give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OutputError) or not isinstance(e, Exception):
            raise
        detail = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise OutputError(f"could not write {quote(path)} ({detail}); nothing was changed") from e
    try:  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some file systems cannot fsync a folder
        pass
    return size


def write_text_atomic(path: PathLike, text: str, force: bool = True) -> int:
    """Atomically write ``text`` (UTF-8) to ``path``; see :func:`atomic_write`."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write, force=force)


def special_file_kind(path: PathLike) -> Optional[str]:
    """What ``path`` is when it exists but is not a regular file or folder, else None.

    Reading a FIFO blocks until something writes to it, and a device such as /dev/zero
    never ends: both must be refused before they are opened.
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"  # pragma: no cover


def refuse_inside_package(path: PathLike) -> None:
    """Refuse to write into the installed package (its configs, through a clone's symlink).

    Raises:
        OutputError: ``path`` resolves to a place inside the ``paraminspect`` package.
    """
    package = Path(__file__).resolve().parent
    target = Path(path).resolve()
    if target == package or package in target.parents:
        raise OutputError(
            f"refusing to write {quote(str(path))}: it is inside the installed paraminspect "
            f"package ({package}); write it elsewhere (e.g. -o spec.schema.json)"
        )


def save_onnx(path: PathLike, model: Any, force: bool = False) -> int:
    """Write an ONNX ModelProto atomically: ``onnx.save_model`` is handed the temporary
    path (see :func:`atomic_write`). onnx is imported only here, when a model is saved.

    Returns:
        The size of the written file in bytes.
    """

    def write(tmp: str) -> None:
        import onnx

        onnx.save_model(model, tmp)

    return atomic_write(path, write, force=force)
