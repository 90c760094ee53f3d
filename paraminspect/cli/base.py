"""The root command, its error handling, and the options shared by every command.

Heavy imports (MXNet, pydantic, rich) happen inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import re
import sys
import traceback
from typing import Any, Callable, Dict, Optional, Sequence

import click

from paraminspect import __version__
from paraminspect.choices import DEFAULT_BINS, FORMATS, MAX_BINS, MAX_SEED, MODES


class PICommand(click.Command):
    """Turns the tool's own errors into one-line messages (exit 1) or usage errors (exit 2)."""

    def invoke(self, ctx: click.Context) -> Any:
        from paraminspect.errors import NotApplicableError, OptionError, ParamInspectError

        debug = bool(ctx.find_root().params.get("debug"))
        try:
            return super().invoke(ctx)
        except NotApplicableError as e:
            if debug:
                traceback.print_exc()
            raise click.UsageError(str(e), ctx=ctx) from e
        except OptionError as e:
            if debug:
                traceback.print_exc()
            raise click.BadParameter(
                str(e), ctx=ctx, param_hint=f"'{e.option}'" if e.option else None
            ) from e
        except ParamInspectError as e:
            if debug:
                traceback.print_exc()
            raise click.ClickException(str(e)) from e
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as e:
            if debug:
                raise
            raise click.ClickException(
                f"internal error: {type(e).__name__}: {e} (this is a bug in paraminspect; "
                "re-run with --debug for the traceback and report it)"
            ) from e


class PIGroup(click.Group):
    """The root group; every command in it handles errors as :class:`PICommand` does."""

    command_class = PICommand


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
        return sys.stderr if self._stderr else sys.stdout

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)

    @property
    def console(self) -> Any:
        """The rich Console itself (for rich objects that need a real one: Progress)."""
        if self._console is None:
            import os

            from rich.console import Console

            # A pipe has no width; rich would assume 80 columns and squeeze the tables.
            tty = (sys.stderr if self._stderr else sys.stdout).isatty()
            width = None if self._stderr or tty or "COLUMNS" in os.environ else 120
            self._console = Console(
                stderr=self._stderr, no_color=self._no_color or None, highlight=False, width=width
            )
            if not self._stderr:  # data: no trailing spaces (stderr has the live progress bar)
                self._console.file = NoTrailingSpaces(sys.stdout)
        return self._console


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


# --------------------------------------------------------------------------- shared options


def complete_spec(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion for SPEC / MODEL: built-in names, ``zoo:`` names, then files."""
    from click.shell_completion import CompletionItem

    from paraminspect.model.sources.zoo import zoo_names
    from paraminspect.spec.load import builtin_names

    names = [*builtin_names(), *(f"zoo:{n}" for n in zoo_names())]
    items = [CompletionItem(n) for n in names if n.startswith(incomplete)]
    return [*items, CompletionItem(incomplete, type="file")]


def complete_method(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Shell completion for --method / --compare: the initializer catalog's names."""
    from paraminspect.init.catalog import CATALOG

    return [n for n in CATALOG if n.startswith(incomplete)]


def spec_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("spec", required=False, metavar="[SPEC]", shell_complete=complete_spec)(f)


def _check_seed(ctx: click.Context, param: click.Parameter, value: Optional[int]) -> Any:
    if value is not None and not 0 <= value <= MAX_SEED:
        raise click.BadParameter(
            f"{value} is outside 0 to {MAX_SEED:,} (2**32 - 1): MXNet would reduce it modulo "
            f"2**32 and give the stream of seed {value % 2**32}",
        )
    return value


def model_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    """MODEL: a spec, ``PATH-symbol.json``, ``zoo:NAME[,k=v]`` or ``FILE.py:FUNC``; with
    the options that say how to feed it (``--input``, ``--mode``)."""
    return click.argument("spec", required=False, metavar="[MODEL]", shell_complete=complete_spec)(
        feed_options(f)
    )


def feed_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--input NAME=SHAPE|FILE.npy`` (repeatable) and ``--mode train|predict``."""
    f = click.option(
        "--mode",
        type=click.Choice(MODES),
        default=None,
        help="autograd train_mode (BatchNorm batch statistics, Dropout drops) or "
        "predict_mode for the forward passes; default: Gluon's.",
    )(f)
    f = click.option(
        "--input",
        "inputs",
        multiple=True,
        metavar="NAME=SHAPE|FILE.npy",
        help="Feed input NAME a batch drawn for SHAPE (1x3x224x224) or a real sample "
        "(.npy, read without pickle). Repeatable; not for YAML specs.",
    )(f)
    return f


def pop_inputs(kwargs: dict) -> Dict[str, Any]:
    """Take --input/--mode out of ``kwargs``: ``{'inputs': {...}, 'mode': ...}``."""
    from paraminspect.model.inputs import parse_inputs

    return {"inputs": parse_inputs(kwargs.pop("inputs")), "mode": kwargs.pop("mode")}


def seed_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--seed",
        # MXNet reduces a seed modulo 2**32: outside this range two seeds would give one
        # stream while the report showed the seed that was asked for
        type=int,
        callback=_check_seed,
        default=None,
        metavar="N",
        help=f"Call mx.random.seed(N) first (0 <= N <= {MAX_SEED:,}). Without it, MXNet's "
        "default stream gives the book's numbers.",
    )(f)


def format_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table: rich tables; json: the documented JSON schema.",
    )(f)


def bins_option(default: int = DEFAULT_BINS) -> Callable[[Any], Any]:
    """--bins N for --hist (show-like commands, inspect, train, summary)."""
    return click.option(
        "--bins",
        type=click.IntRange(1, MAX_BINS),
        default=default,
        show_default=True,
        metavar="N",
        help="Number of --hist bins.",
    )


def sort_option(keys: Sequence[str], what: str) -> Callable[[Any], Any]:
    """--sort KEY (inspect, diff): ``keys`` from choices.py; ``what`` says how they order."""
    return click.option(
        "--sort",
        type=click.Choice(keys),
        default=None,
        help=f"Order the rows by {'|'.join(keys)}: {what} (default: file order).",
    )


def top_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--top N (inspect, diff): only the first N rows after --sort."""
    return click.option(
        "--top",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Only the first N rows after --sort (N layers with --group layer), e.g. "
        "--sort size --top 5.",
    )(f)


def data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--data FILE, --targets FILE.npy (train, grad): the user's data, read by
    paraminspect.model.data (never unpickled)."""
    f = click.option(
        "--targets",
        metavar="FILE.npy",
        type=click.Path(dir_okay=False),
        help="With --data X.npy: the targets, one row per sample, e.g. --targets y.npy.",
    )(f)
    return click.option(
        "--data",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Your data instead of the synthetic one: a .npz with arrays X and y, or X.npy "
        "with --targets y.npy; y is regression targets shaped like the output (l2) or integer "
        "class labels (softmax-ce). Never unpickled. E.g. --data digits.npz.",
    )(f)


def view_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--layer, --select, --values, --grad, --slice, --stats, --hist, --bins (shared by all
    net commands)."""
    options = [
        click.option(
            "--layer",
            "layers",
            multiple=True,
            metavar="N|NAME",
            help="Only the parameters this layer uses, like net[N].params "
            "(repeatable; index, negative index or name).",
        ),
        click.option(
            "--select",
            metavar="REGEX",
            help="Only names that re.match REGEX, like collect_params('.*weight').",
        ),
        click.option("--values", is_flag=True, help="Print data() of each shown parameter."),
        click.option(
            "--grad",
            is_flag=True,
            help="Print grad() of each shown parameter (zeros before backward).",
        ),
        click.option(
            "--slice",
            "slice_",
            metavar="EXPR",
            help="numpy index applied to each printed array: '0', '0,:5', ':3,-2:'.",
        ),
        click.option(
            "--stats",
            is_flag=True,
            help="mean, std, min, max, abs_max, l2, zeros, nan, inf per parameter.",
        ),
        click.option(
            "--hist",
            is_flag=True,
            help="Draw a text histogram of each shown parameter's values (its gradient with "
            "--grad, or in grad), with the counts its initializer's law predicts.",
        ),
        bins_option(),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_view(
    layers: tuple,
    select: Optional[str],
    values: bool,
    grad: bool,
    slice_: Optional[str],
    stats: bool,
    hist: bool = False,
    bins: int = 16,
    **extra: Any,
) -> Any:
    from paraminspect.actions.view import ViewOptions

    return ViewOptions(
        layers=tuple(layers),
        select=select,
        values=values,
        grad=grad,
        slice=slice_,
        stats=stats,
        hist=hist,
        bins=bins,
        **extra,
    )


def pop_view(kwargs: dict) -> Any:
    keys = ("layers", "select", "values", "grad", "slice_", "stats", "hist", "bins")
    return make_view(**{k: kwargs.pop(k) for k in keys})


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


def examples(*lines: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Append an Examples section to a command's help text."""

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        import inspect

        block = "\n".join(f"  {line}" for line in lines)
        # Dedent the docstring first: click dedents the whole help by its least indented
        # line, and the unindented Examples block would otherwise keep the body's 4 spaces
        # (indented paragraphs, and runs of spaces where click rewraps them).
        body = inspect.cleandoc(f.__doc__ or "")
        f.__doc__ = body + "\n\n\b\nExamples:\n" + block + "\n"
        return f

    return deco


def save_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--save PATH, --force (net commands: write save_parameters output atomically)."""
    f = click.option(
        "--force", is_flag=True, help="With --save: overwrite PATH if it already exists."
    )(f)
    return click.option(
        "--save",
        "save_path",
        metavar="PATH",
        type=click.Path(dir_okay=False),
        help="Write the parameters as net.save_parameters(PATH) does, atomically "
        "(temporary file in the same folder, then rename).",
    )(f)


def load_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--load PATH, --allow-missing, --ignore-extra (net commands: load before acting)."""
    f = click.option(
        "--ignore-extra",
        is_flag=True,
        help="With --load: skip keys of the file that the net does not have.",
    )(f)
    f = click.option(
        "--allow-missing",
        is_flag=True,
        help="With --load: keep the initialized values of parameters the file lacks.",
    )(f)
    return click.option(
        "--load",
        "load_path",
        metavar="PATH",
        type=click.Path(dir_okay=False),
        help="Load a parameter file (save_parameters keys such as 0.weight, or names "
        "such as dense0_weight) into the net before acting, like net.load_parameters.",
    )(f)


def pop_save(kwargs: dict) -> Any:
    """Take --save/--force out of ``kwargs``: a SaveRequest, or None without --save."""
    from paraminspect.errors import OptionError
    from paraminspect.model.params_io import SaveRequest

    path, force = kwargs.pop("save_path"), kwargs.pop("force")
    if path is None:
        if force:
            raise OptionError("--force only applies with --save PATH", "--force")
        return None
    return SaveRequest(path, force)


def pop_load(kwargs: dict) -> Any:
    """Take --load/--allow-missing/--ignore-extra out of ``kwargs``: a LoadRequest or None."""
    from paraminspect.errors import OptionError
    from paraminspect.model.params_io import LoadRequest

    path = kwargs.pop("load_path")
    allow_missing, ignore_extra = kwargs.pop("allow_missing"), kwargs.pop("ignore_extra")
    if path is None:
        for flag, on in (("--allow-missing", allow_missing), ("--ignore-extra", ignore_extra)):
            if on:
                raise OptionError(f"{flag} only applies with --load PATH", flag)
        return None
    return LoadRequest(path, allow_missing, ignore_extra)


# --------------------------------------------------------------------------- commands


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
    try:
        cli.main(args=argv, prog_name="paraminspect")
        code: Any = 0
    except SystemExit as e:
        code = e.code
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
