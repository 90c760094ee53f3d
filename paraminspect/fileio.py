"""Writing files so that a failure never leaves a half-written one behind, and a run never
touches a file it did not create.

The one module that writes, renames or removes paths. Whole-file outputs (``--save``,
``schema -o``, ``export``'s OUT, ``train --plot``) go through :func:`atomic_write`; the
``--log`` file that grows as a run goes is a :class:`LineLog`. Every output is first
checked by :func:`check_output`: not one of the command's input files, a regular file or
absent, in a writable folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Tuple, Union

from paraminspect._text import plural, quote
from paraminspect.errors import OutputError

PathLike = Union[str, Path]
# (role, path) of a command's input files, e.g. ("--load", "w.params")
Inputs = Iterable[Tuple[str, PathLike]]


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether two paths name one file (hard links and symlinks included); False if either
    is missing."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def special_file_kind(path: PathLike) -> Optional[str]:
    """What ``path`` is when it exists but is not a regular file or folder, else None.

    Reading a FIFO blocks until something writes to it, and a device such as /dev/zero
    never ends: both must be refused before they are opened.
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
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


def check_output(
    path: PathLike,
    option: str,
    inputs: Inputs = (),
    force: bool = False,
    replace: bool = False,
) -> Path:
    """Refuse an output path before any work is done.

    Args:
        path: the output file.
        option: how the user named it (``--save``, ``-o``, ...), for the messages.
        inputs: the command's input files as (role, path): the output may be none of them.
        force: an existing file may be replaced (``--force``).
        replace: an existing regular file is replaced without ``--force`` (``--plot``,
            ``--log``).

    Raises:
        OutputError: ``path`` is an input, a folder or a special file; it exists and
            neither ``force`` nor ``replace`` allows replacing it; its folder is missing,
            not a folder or not writable.
    """
    p = Path(path)
    q = quote(str(path))
    refuse_inside_package(p)
    for role, inp in inputs:
        if same_file(p, inp):
            what = role if str(inp) == str(path) else f"{role} {quote(str(inp))}"
            raise OutputError(
                f"{option} {q} is the same file as {what}; refusing to overwrite an input "
                "(write the output to another file)"
            )
    kind = special_file_kind(p)
    if kind is not None:
        raise OutputError(f"{option} {q} is {kind}, not a regular file; give a file name to write")
    if p.is_dir():
        raise OutputError(f"{option} {q} is a folder; give a file name inside it")
    if p.is_symlink() and not p.exists():
        raise OutputError(f"{option} {q} is a symbolic link to a missing file; remove it first")
    parent = p.parent
    if not parent.exists():
        raise OutputError(
            f"cannot write {q}: folder '{parent}' does not exist; create it first "
            f"(mkdir -p {parent})"
        )
    if not parent.is_dir():
        raise OutputError(f"cannot write {q}: '{parent}' is not a folder")
    if p.exists() and not (force or replace):
        raise OutputError(f"{q} already exists; use --force to overwrite it")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {q}: folder '{parent}' is not writable")
    return p


def check_target(path: PathLike, force: bool = False, option: str = "the output") -> Path:
    """:func:`check_output` for a target with no inputs to compare against (the CLI has
    compared it with them already)."""
    return check_output(path, option, force=force)


def _make_temp(target: Path, path: PathLike) -> Tuple[int, str]:
    """A new file beside ``target`` (same file system, so a rename is atomic), mode as a
    plain ``open()`` would give it."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:  # read-only file system, quota, permissions root does not bypass
        raise OutputError(
            f"cannot write {quote(str(path))}: cannot create a file in '{target.parent}' "
            f"({e.strerror or e})"
        ) from e
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes the file 0600
    return fd, tmp


def _sync_folder(folder: Path) -> None:
    try:  # make a rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some file systems cannot fsync a folder
        pass


def _place_new(tmp: str, target: Path, path: PathLike) -> None:
    """Give ``tmp`` the name ``target`` only if nothing has it: of several runs racing for
    one name, exactly one wins (``link`` fails on an existing name; ``O_EXCL`` where the
    file system has no hard links)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputError(
            f"{quote(str(path))} already exists (written while this run was working?); "
            "use --force to overwrite it"
        ) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        try:  # no hard links here: claim the name first, then fill it by a rename
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            raise OutputError(
                f"{quote(str(path))} already exists; use --force to overwrite it"
            ) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def atomic_write(
    path: PathLike,
    write: Callable[[str], None],
    force: bool = False,
    option: str = "--save",
    inputs: Inputs = (),
    replace: bool = False,
) -> int:
    """Write a file so that readers see the old file or the complete new one, never a part.

    ``write(tmp)`` writes the content to a temporary file in the same folder (third-party
    writers, ``save_parameters`` and ``savefig``, are handed this path); it is then flushed
    to disk (fsync) and renamed over ``path`` with ``force`` or ``replace`` (atomic on
    POSIX), or linked to ``path`` without (an atomic create: an existing file, even one
    made meanwhile, is never replaced). If anything fails, the temporary file is removed
    and ``path`` is untouched.

    Returns:
        The size of the written file in bytes.

    Raises:
        OutputError: see :func:`check_output`; also when writing failed.
    """
    target = check_output(path, option, inputs, force, replace)
    fd, tmp = _make_temp(target, path)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
            size = os.fstat(f.fileno()).st_size
        if force or replace:
            os.replace(tmp, target)
        else:
            _place_new(tmp, target, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OutputError) or not isinstance(e, Exception):
            raise
        detail = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        if isinstance(e, OSError) and e.strerror:
            detail = e.strerror
        raise OutputError(
            f"could not write {quote(str(path))} ({detail}); nothing was changed"
        ) from e
    _sync_folder(target.parent)
    return size


def write_text_atomic(
    path: PathLike, text: str, force: bool = False, option: str = "-o", inputs: Inputs = ()
) -> int:
    """Atomically write ``text`` (UTF-8) to ``path``; see :func:`atomic_write`."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write, force=force, option=option, inputs=inputs)


def save_ndarrays(
    arrays: Mapping[str, Any], path: PathLike, force: bool = False, inputs: Inputs = ()
) -> int:
    """``mx.nd.save`` of ``arrays`` (the format ``save_parameters`` writes) into a temporary
    file, placed as :func:`atomic_write` does."""

    def write(tmp: str) -> None:
        import mxnet as mx

        mx.nd.save(tmp, dict(arrays))

    return atomic_write(path, write, force=force, option="--save", inputs=inputs)


def save_figure(fig: Any, path: PathLike, image_format: str, inputs: Inputs = ()) -> int:
    """matplotlib's ``fig.savefig`` into a temporary file (whose ``.tmp`` name says no
    format, so it is given), replacing ``path`` as ``--plot`` always has."""

    def write(tmp: str) -> None:
        fig.savefig(tmp, format=image_format)

    return atomic_write(path, write, option="--plot", inputs=inputs, replace=True)


class LineLog:
    """A text file written line by line as a run goes (``train --log``), that survives a
    killed run and never destroys what it did not create.

    The lines go to a new file beside the target; once the first whole line is on disk,
    that file is renamed over the target (so an earlier log stays as it was when a run
    fails before its first record). Each line is one ``write`` and is synced; a line that
    could not be written whole (a full disk) is cut off again, logging stops and
    :attr:`error` says why, so every line in the file stays whole.
    """

    def __init__(self, path: PathLike, option: str = "--log", inputs: Inputs = ()) -> None:
        self.path = str(path)
        self.option = option
        self.target = check_output(path, option, inputs, replace=True)
        self._inputs = tuple(inputs)
        self._fd, self._tmp = _make_temp(self.target, path)
        self.lines = 0
        self._size = 0
        self._placed = False
        self.error: Optional[str] = None

    def write_line(self, text: str) -> bool:
        """Append ``text`` and a newline; False (and :attr:`error` set) if it could not be."""
        if self.error is not None or self._fd < 0:
            return False
        data = (text + "\n").encode("utf-8")
        try:
            done = 0
            while done < len(data):
                done += os.write(self._fd, data[done:])
            os.fsync(self._fd)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)  # no half line left behind
            self.error = (
                f"could not write line {self.lines + 1} of {quote(self.path)} "
                f"({e.strerror or e}); stopped logging after {plural(self.lines, 'whole line')}"
            )
            return False
        self._size += len(data)
        self.lines += 1
        if not self._placed:
            self._place()
        return self.error is None

    def _place(self) -> None:
        try:  # the target may have changed while the run worked: check it again
            check_output(self.target, self.option, self._inputs, replace=True)
            os.replace(self._tmp, self.target)
        except (OSError, OutputError) as e:
            detail = str(e) if isinstance(e, OutputError) else (e.strerror or str(e))
            self.error = f"could not put the log in place ({detail}); stopped logging"
            return
        self._placed = True
        _sync_folder(self.target.parent)

    def close(self) -> None:
        """Close the file; one that never got a line is removed (this run made it)."""
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if not self._placed:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)


def scratch_file() -> Any:
    """An anonymous temporary file (removed by the system when closed; it has no name a user
    could see), for capturing what a C library writes to a file descriptor."""
    return tempfile.TemporaryFile(mode="w+b")


def point_at_devnull(fd: int) -> None:
    """Make file descriptor ``fd`` write to /dev/null (a stdout whose reader is gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


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

    return atomic_write(path, write, force=force, option="OUT")
