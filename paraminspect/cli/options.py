"""The options several commands share, each defined once (sqlite-utils' output_options
habit), with the completions and the ``pop_*`` helpers that turn them into core requests.

Heavy imports (MXNet, pydantic, rich) happen inside the functions, so ``--help`` is fast.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import click

from paraminspect.choices import DEFAULT_BINS, FORMATS, MAX_BINS, MAX_SEED, MODES


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


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def option_group(*options: Decorator) -> Decorator:
    """One decorator applying ``options`` as if stacked in this order above a command
    (so ``--help`` lists them in this order)."""

    def apply(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            f = option(f)
        return f

    return apply


def path_option(*decls: str, metavar: str, help: str) -> Decorator:
    """An option naming one file (not a folder): --load, --save, --data, --targets, ..."""
    return click.option(*decls, metavar=metavar, type=click.Path(dir_okay=False), help=help)


def model_argument(f: Callable[..., Any]) -> Callable[..., Any]:
    """MODEL: a spec, ``PATH-symbol.json``, ``zoo:NAME[,k=v]`` or ``FILE.py:FUNC``; with
    the options that say how to feed it (``--input``, ``--mode``)."""
    return click.argument("spec", required=False, metavar="[MODEL]", shell_complete=complete_spec)(
        feed_options(f)
    )


def inputs_option(help: str) -> Decorator:
    """``--input NAME=SHAPE|FILE.npy`` (repeatable), parsed by
    :func:`paraminspect.model.inputs.parse_inputs`."""
    return click.option(
        "--input", "inputs", multiple=True, metavar="NAME=SHAPE|FILE.npy", help=help
    )


input_option = inputs_option(
    "Feed input NAME a batch drawn for SHAPE (1x3x224x224) or a real sample "
    "(.npy, read without pickle). Repeatable; not for YAML specs."
)

# ``--input NAME=SHAPE|FILE.npy`` (repeatable) and ``--mode train|predict``.
feed_options = option_group(
    input_option,
    click.option(
        "--mode",
        type=click.Choice(MODES),
        default=None,
        help="autograd train_mode (BatchNorm batch statistics, Dropout drops) or "
        "predict_mode for the forward passes; default: Gluon's.",
    ),
)


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


# --data FILE, --targets FILE.npy (train, grad): the user's data, read by
# paraminspect.model.data (never unpickled).
data_options = option_group(
    path_option(
        "--data",
        metavar="FILE",
        help="Your data instead of the synthetic one: a .npz with arrays X and y, or X.npy "
        "with --targets y.npy; y is regression targets shaped like the output (l2) or integer "
        "class labels (softmax-ce). Never unpickled. E.g. --data digits.npz.",
    ),
    path_option(
        "--targets",
        metavar="FILE.npy",
        help="With --data X.npy: the targets, one row per sample, e.g. --targets y.npy.",
    ),
)

SLICE_HELP = "numpy index applied to each printed array: '0', '0,:5', ':3,-2:'."

# --layer, --select, --values, --grad, --slice, --stats, --hist, --bins (shared by all net
# commands).
view_options = option_group(
    click.option(
        "--layer",
        "layers",
        multiple=True,
        metavar="PATH|N|NAME",
        help="Only the parameters this layer uses, like net[3].params: its Gluon path "
        "(3, features.4.0, a graph node's name), an index or its block name (repeatable).",
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
    click.option("--slice", "slice_", metavar="EXPR", help=SLICE_HELP),
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
)


def pop_view(kwargs: dict) -> Any:
    """Take the options of :func:`view_options` out of ``kwargs``: a ViewOptions."""
    from paraminspect.actions.view import ViewOptions

    keys = ("select", "values", "grad", "stats", "hist", "bins")
    view = {k: kwargs.pop(k) for k in keys}
    return ViewOptions(layers=tuple(kwargs.pop("layers")), slice=kwargs.pop("slice_"), **view)


EXAMPLE_WIDTH = 72  # an example line's most characters: --help indents it by 4, within 80


def example_lines(command: str, width: int = EXAMPLE_WIDTH) -> List[str]:
    """A shell example in lines of at most ``width`` characters: a long one continues with
    `` \\`` before an option (``--x``), a ``&&`` or a comment, the next lines indented."""
    import re

    lines: List[str] = []
    rest = command
    while len(rest) > width:
        cuts = [m.start() for m in re.finditer(r" (?=--|&&|#|>)", rest) if m.start() > 0]
        fit = [c for c in cuts if c + 2 <= width]
        if not fit:
            break
        cut = fit[-1]
        after = rest[cut:].lstrip()
        # a comment needs no continuation: it starts its own line
        lines.append(rest[:cut].rstrip() + ("" if after.startswith("#") else " \\"))
        rest = "    " + after
    return [*lines, rest]


def examples(*lines: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Append an Examples section to a command's help text (long lines continued with
    a backslash, so the help stays within 80 columns)."""

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        import inspect

        block = "\n".join(f"  {part}" for line in lines for part in example_lines(line))
        # Dedent the docstring first: click dedents the whole help by its least indented
        # line, and the unindented Examples block would otherwise keep the body's 4 spaces
        # (indented paragraphs, and runs of spaces where click rewraps them).
        body = inspect.cleandoc(f.__doc__ or "")
        f.__doc__ = body + "\n\n\b\nExamples:\n" + block + "\n"
        return f

    return deco


# --save PATH, --force (net commands: write save_parameters output atomically).
save_options = option_group(
    path_option(
        "--save",
        "save_path",
        metavar="PATH",
        help="Write the parameters as net.save_parameters(PATH) does, atomically "
        "(temporary file in the same folder, then rename).",
    ),
    click.option("--force", is_flag=True, help="With --save: overwrite PATH if it already exists."),
)

# --load PATH, --allow-missing, --ignore-extra (net commands: load before acting).
load_options = option_group(
    path_option(
        "--load",
        "load_path",
        metavar="PATH",
        help="Load a parameter file (save_parameters keys such as 0.weight, or names "
        "such as dense0_weight) into the net before acting, like net.load_parameters.",
    ),
    click.option(
        "--allow-missing",
        is_flag=True,
        help="With --load: keep the initialized values of parameters the file lacks.",
    ),
    click.option(
        "--ignore-extra",
        is_flag=True,
        help="With --load: skip keys of the file that the net does not have.",
    ),
)

# What every command that builds and acts on a net ends its options with.
net_options = option_group(seed_option, load_options, save_options, format_option)

# --select for the commands that read weight files (inspect, diff): keys, not parameters.
key_select_option = click.option(
    "--select",
    metavar="REGEX",
    help="Only keys that re.match REGEX (with or without their arg:/aux: prefix).",
)


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


def pop_net(kwargs: dict) -> Dict[str, Any]:
    """Take --load, --save and --input/--mode out of ``kwargs`` (in that order): the
    keywords every net action takes (``load``, ``save``, ``inputs``, ``mode``)."""
    load, save = pop_load(kwargs), pop_save(kwargs)
    return {"load": load, "save": save, **pop_inputs(kwargs)}


# Output options, by parameter name: (how the user wrote it, replaced without --force?).
# --save, -o and export's OUT are whole files replaced only with --force; --plot and --log
# replace a regular file as they always have (a log is a run's record, a plot its picture).
OUTPUT_OPTIONS: Dict[str, Tuple[str, bool]] = {
    "save_path": ("--save", False),
    "output": ("-o", False),
    "out": ("OUT", False),
    "log_path": ("--log", True),
    "plot_path": ("--plot", True),
}


def input_files(params: Mapping[str, Any]) -> List[Tuple[str, str]]:
    """Every file a command reads, as (role, path), from its parsed parameters: the MODEL
    (a spec, a factory's .py, a graph and its weights), --load, --data, --targets and the
    --input files."""
    from paraminspect.model.sources.refs import model_files

    found: List[Tuple[str, str]] = []
    for key in ("spec", "spec_a", "spec_b", "model"):
        if isinstance(params.get(key), str):
            found += model_files(params[key])
    for key, role in (("load_path", "--load"), ("data", "--data"), ("targets", "--targets")):
        if isinstance(params.get(key), str):
            found.append((role, params[key]))
    for text in params.get("inputs") or ():
        _name, sep, value = str(text).partition("=")
        if sep and value.strip():
            found.append(("--input", value.strip()))
    return found


def guard_outputs(params: Mapping[str, Any]) -> None:
    """Refuse every output path of a command before it does any work (see
    :func:`paraminspect.fileio.check_output`): none may be an input or another output.

    Raises:
        OutputError: the first refused output.
    """
    import os

    from paraminspect.errors import OutputError
    from paraminspect.fileio import check_output

    outputs = [
        (option, params[key], replace)
        for key, (option, replace) in OUTPUT_OPTIONS.items()
        if isinstance(params.get(key), str)
    ]
    if not outputs:
        return
    inputs = input_files(params)
    force = bool(params.get("force"))
    seen: Dict[str, str] = {}
    for option, path, replace in outputs:
        check_output(path, option, inputs, force=force, replace=replace)
        where = os.path.realpath(path)
        if where in seen:
            raise OutputError(
                f"{seen[where]} and {option} name the same file {path!r}; give each its own"
            )
        seen[where] = option


def map_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--map OLD=NEW`` (repeatable; diff, compare): rules renaming the first side's keys,
    parsed by :func:`paraminspect.weights.match.parse_maps`."""
    return click.option(
        "--map",
        "maps",
        multiple=True,
        metavar="OLD=NEW",
        help="Rename A's keys to pair them with B's: OLD is a regex matched against a whole key, "
        "NEW its replacement (\\1 for a group); repeatable, e.g. --map 'gru0_(.*)=rnn0_\\1'.",
    )(f)
