"""The root command, its error handling, and the options shared by every command.

Heavy imports (MXNet, pydantic, rich) happen inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import contextlib
import re
import sys
import traceback
from typing import Any, Iterator, List, Optional

import click

from paraminspect import __version__

_DATA_OUT: List[Any] = []  # the real stdout while a command runs (see PICommand.invoke)


def data_stream() -> Any:
    """Where a command's data goes: the stdout it was started with. While it runs,
    ``sys.stdout`` is stderr, so a line MXNet or the user's code prints ("infer_type error.
    Arguments: ...") never lands in the report or its JSON."""
    return _DATA_OUT[-1] if _DATA_OUT else sys.stdout


class PICommand(click.Command):
    """Turns the tool's own errors into one-line messages (exit 1) or usage errors (exit 2);
    prints from anything but the renderers go to stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        _DATA_OUT.append(sys.stdout)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return self._invoke(ctx)
        finally:
            _DATA_OUT.pop()

    def _invoke(self, ctx: click.Context) -> Any:
        from paraminspect.cli.options import guard_outputs
        from paraminspect.errors import NotApplicableError, OptionError, ParamInspectError

        debug = bool(ctx.find_root().params.get("debug"))
        try:
            guard_outputs(ctx.params)  # before any work: never touch what it did not create
            return super().invoke(ctx)
        except NotApplicableError as e:
            if debug:
                traceback.print_exc()
            raise click.UsageError(fit_error(str(e)), ctx=ctx) from e
        except OptionError as e:
            if debug:
                traceback.print_exc()
            hint = f"'{e.option}'" if e.option else None
            prefix = f"Invalid value for {hint}: " if hint else "Invalid value: "
            raise click.BadParameter(fit_error(str(e), prefix), ctx=ctx, param_hint=hint) from e
        except ParamInspectError as e:
            if debug:
                traceback.print_exc()
            raise click.ClickException(fit_error(str(e))) from e
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            # `paraminspect models | head -1`: the reader has all it wanted; end quietly,
            # with the status a shell gives a process that SIGPIPE ended
            silence_stdout()
            raise click.exceptions.Exit(SIGPIPE_STATUS) from None
        except Exception as e:
            if debug:
                raise
            raise click.ClickException(
                f"internal error: {type(e).__name__}: {e} (this is a bug in paraminspect; "
                "re-run with --debug for the traceback and report it)"
            ) from e


SIGPIPE_STATUS = 141  # 128 + SIGPIPE, as a shell reports `cmd | head`


def silence_stdout() -> None:
    """Point stdout at /dev/null after its reader went away, so the flushes still to come
    (click's, Python's at exit) neither fail nor print "Exception ignored"."""
    from paraminspect.fileio import point_at_devnull

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's buffer)
        return
    point_at_devnull(fd)


def tolerate_unencodable_output() -> None:
    """A stdout or stderr that cannot encode a character (PYTHONIOENCODING=ascii, a
    latin-1 terminal) prints a replacement (the Δ of ||Δw|| as ?) instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (getattr(stream, "errors", None) or "strict") == "strict":
            with contextlib.suppress(OSError, ValueError):  # a stream that refuses
                reconfigure(errors="replace")


def fit_error(message: str, prefix: str = "") -> str:
    """``message`` broken at phrase ends so that click's ``Error: {prefix}{message}`` fits
    the terminal, when stderr is one (a pipe or a log file gets it on one line)."""
    if not sys.stderr.isatty():
        return message
    import os

    from paraminspect._text import phrase_lines

    lead = "Error: " + prefix
    width = stderr_width(os.environ)
    return "\n".join(phrase_lines(lead + message, max(20, width)))[len(lead) :]


def stderr_width(environ: Any) -> int:
    """The width of the terminal stderr is: ``COLUMNS`` when set, else the terminal's own
    (not stdout's, which may be a pipe: ``paraminspect show --nope | less``), else 80."""
    import os

    columns = _columns(environ)
    if columns:
        return columns
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or PIPE_WIDTH
    except (AttributeError, OSError, ValueError):
        return PIPE_WIDTH


def fit_usage(e: click.UsageError) -> click.UsageError:
    """``e`` (click's own parse error: an unknown option, a missing argument, a bad choice)
    with its ``Error: ...`` line broken at phrase ends to fit the terminal, as the tool's own
    errors are; still a usage error (exit 2, the usage line and the --help hint above it)."""
    message = e.format_message()
    if not sys.stderr.isatty():
        return e  # a pipe or a log file gets it on one line
    fitted = fit_error(message)
    if fitted == message:
        return e
    if ". (" in message:  # click's "(Did you mean ...?)": the problem, then the fix below it
        fitted = fit_error(message.replace(". (", ".\n(", 1))
    return click.UsageError(fitted, ctx=e.ctx)  # exit 2, as every UsageError


class PIGroup(click.Group):
    """The root group; every command in it handles errors as :class:`PICommand` does, and
    click's own parse errors fit the terminal."""

    command_class = PICommand

    def make_context(
        self,
        info_name: Optional[str],
        args: List[str],
        parent: Optional[click.Context] = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as e:  # `paraminspect --nope`
            raise fit_usage(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:  # a command's own options and arguments, or its name
            raise fit_usage(e) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list with each summary whole (click cuts them with ``...`` to one
        line): a command's ``short_help``, else its help's first sentence, wrapped."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class LazyConsole:
    """A rich Console made on first use. Its ``file`` needs no rich, so a command that
    writes one plain line or JSON (``check``) never imports it (start-up time)."""

    def __init__(self, stderr: bool, no_color: bool) -> None:
        self._stderr, self._no_color = stderr, no_color
        self._console: Any = None

    @property
    def file(self) -> Any:
        if self._console is not None:
            return self._console.file
        return sys.stderr if self._stderr else data_stream()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)

    @property
    def console(self) -> Any:
        """The rich Console itself (for rich objects that need a real one: Progress)."""
        if self._console is None:
            import os

            from rich.console import Console

            tty = (sys.stderr if self._stderr else data_stream()).isatty()
            width = None if tty else pipe_width(os.environ)
            self._console = Console(
                stderr=self._stderr,
                file=None if self._stderr else data_stream(),  # its tty decides the colours
                no_color=self._no_color or None,
                highlight=False,
                width=width,
            )
            if not self._stderr:  # data: no trailing spaces (stderr has the live progress bar)
                self._console.file = NoTrailingSpaces(data_stream())
        return self._console


PIPE_WIDTH = 80  # columns of output that goes to a pipe or a file when COLUMNS is not set


def pipe_width(environ: Any) -> int:
    """The width of output that is not going to a terminal: ``COLUMNS`` when it is set,
    else :data:`PIPE_WIDTH`. Never the size of whichever terminal stdin or stderr happens to
    be (rich's guess): ``paraminspect show | tail`` in an 80-column terminal fits it, and a
    file written by a script does not depend on the window it was started from."""
    return _columns(environ) or PIPE_WIDTH


def _columns(environ: Any) -> Optional[int]:
    """``COLUMNS`` as a positive whole number; None when it is unset or not one."""
    columns = environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


class NoTrailingSpaces:
    """A text stream that drops the spaces at the end of every line written through it.

    rich pads table cells and wrapped text to their width; piped into a file or ``diff``,
    those spaces are noise. Spaces at the end of a write are held back until it is known
    whether a newline follows them.
    """

    _AT_EOL = re.compile(r" +((?:\x1b\[[0-9;]*m)*)\n")
    _AT_END = re.compile(r" +(?:\x1b\[[0-9;]*m)*$")

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        text = self._AT_EOL.sub(r"\1\n", self._pending + text)
        held = self._AT_END.search(text)
        self._pending = text[held.start() :] if held else ""
        self._stream.write(text[: held.start()] if held else text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def close_line(self) -> None:
        """Write what was held back (the end of output that did not end a line)."""
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Consoles:
    """stdout for data, stderr for progress and warnings."""

    def __init__(self, no_color: bool) -> None:
        self.out: Any = LazyConsole(stderr=False, no_color=no_color)
        self.err: Any = LazyConsole(stderr=True, no_color=no_color)


def consoles() -> Consoles:
    ctx = click.get_current_context()
    return Consoles(bool(ctx.find_root().params.get("no_color")))


def progress_delay() -> float:
    """Seconds of reading before the bar shows: ``PARAMINSPECT_PROGRESS_DELAY`` if set (0
    shows it at once, ``inf`` never), else :data:`paraminspect.choices.PROGRESS_DELAY`.

    Raises:
        click.UsageError: the variable is not a number of seconds, 0 or more.
    """
    import os

    from paraminspect.choices import PROGRESS_DELAY, PROGRESS_DELAY_ENV

    raw = os.environ.get(PROGRESS_DELAY_ENV, "").strip()
    if not raw:
        return PROGRESS_DELAY
    try:
        delay = float(raw)
    except ValueError:
        delay = -1.0
    if not delay >= 0:  # NaN too
        raise click.UsageError(
            f"{PROGRESS_DELAY_ENV} must be a number of seconds, 0 or more (0 shows the "
            f"progress bar at once), not {raw!r}: fix or unset it"
        )
    return delay


@contextlib.contextmanager
def byte_progress(fmt: str, label: str) -> Iterator[Any]:
    """A progress sink (``start(total)``, ``advance(n)``) drawing a bar of bytes read on
    stderr for work that lasts over a second, or None: in a pipe, or with ``--format json``
    (whose output is for programs), nothing is drawn."""
    delay = progress_delay()
    err = consoles().err
    if fmt != "table" or not sys.stderr.isatty():
        yield None
        return
    from paraminspect.render.progress import ByteProgress

    bar = ByteProgress(err.console, label, delay=delay)
    try:
        yield bar
    finally:
        bar.close()


def emit(report: Any, fmt: str) -> None:
    """Render ``report``, then map its outcome to the exit code: the one place that does.

    A report whose ``failure`` is a message exits 1 with that message after it is printed;
    an empty ``failure`` exits 1 silently (``diff --exit-code``); None exits 0.
    """
    from paraminspect.errors import CheckFailed
    from paraminspect.render import render

    c = consoles()
    render(report, fmt, c.out, c.err)
    failure = getattr(report, "failure", None)
    if failure:
        raise CheckFailed(failure)
    if failure is not None:
        raise click.exceptions.Exit(1)


@click.group(cls=PIGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="paraminspect")
@click.option("--debug", is_flag=True, help="Show the full traceback of any error.")
@click.option("--no-color", is_flag=True, help="No colours (NO_COLOR is respected too).")
def cli(debug: bool, no_color: bool) -> None:
    """Look inside the parameters of MXNet Gluon networks.

    SPEC is a YAML file or a built-in name (mlp, shared, ...); without it, the book's MLP
    (Dive into Deep Learning, section 4.2) is used. Where a command takes a MODEL, it may
    also be an exported PATH-symbol.json, zoo:NAME[,key=value] or FILE.py:FUNC (a function
    returning a Gluon Block), fed with --input NAME=SHAPE.
    """


def main(argv: Optional[list] = None) -> None:
    """Console-script entry point.

    A command that imported MXNet ends the process with :func:`fast_exit`; otherwise this
    raises ``SystemExit`` as click does.
    """
    tolerate_unencodable_output()
    try:
        cli.main(args=argv, prog_name="paraminspect")
        code: Any = 0
    except SystemExit as e:
        code = e.code
    try:
        sys.stdout.flush()  # what is still buffered meets a closed pipe here, not at exit
    except BrokenPipeError:
        silence_stdout()
        code = code or SIGPIPE_STATUS
    except (OSError, ValueError):
        pass
    if "mxnet" in sys.modules:
        fast_exit(code)
    raise SystemExit(code)


def fast_exit(code: Any) -> None:
    """Flush stdout and stderr, run the ``atexit`` handlers, and end the process now.

    Python's own teardown after MXNet was imported takes about 0.25 s (tearing down MXNet's
    thousands of generated functions, stopping its engine, freeing every array) and shows
    the user nothing, so it is skipped: every file the command writes is complete and closed
    before this point, and the ``atexit`` handlers (logging's, MXNet's, a plugin's) still
    run. ``code`` is a ``SystemExit`` code: None, an int, or a message (printed, status 1).
    """
    import atexit
    import contextlib
    import os

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe (`| head`) or a closed stream has nothing left to flush into.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    atexit._run_exitfuncs()
    os._exit(status)
