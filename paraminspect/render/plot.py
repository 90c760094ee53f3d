"""``train --plot``: weight and gradient norms drawn with matplotlib (the plot extra)."""

from __future__ import annotations

import os
from typing import Mapping, Optional, Sequence

from paraminspect.render.train import layer_series
from paraminspect.reports.train import TrainReport

PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def check_plot_target(path: str) -> None:
    """Fail before training if ``--plot`` cannot be written.

    Raises:
        OptionError: an unsupported suffix or a missing folder.
        ParamInspectError: matplotlib is not installed (the ``plot`` extra).
    """
    import importlib.util

    from paraminspect.errors import OptionError, ParamInspectError

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in PLOT_SUFFIXES:
        raise OptionError(
            f"cannot tell the image format of '{path}'; end it with {', '.join(PLOT_SUFFIXES)}",
            "--plot",
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OptionError(
            f"folder {folder} does not exist; create it first (mkdir -p {folder})", "--plot"
        )
    if importlib.util.find_spec("matplotlib") is None:
        raise ParamInspectError(
            "--plot needs matplotlib, which is not installed; install it with "
            + plot_install_hint()
        )


def plot_install_hint() -> str:
    """The install command that works for how paraminspect itself was installed.

    ``pip install 'paraminspect[plot]'`` resolves only against an index that has the
    package; a clone installed with ``pip install .`` (or ``-e .``) needs its own folder,
    and either way the pip of the interpreter running this tool is the one to use.
    """
    import json
    import shlex
    import sys
    from importlib import metadata
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    pip = f"{shlex.quote(sys.executable)} -m pip install"
    package = Path(__file__).resolve().parents[1]
    if "site-packages" not in package.parts and (package.parent / "pyproject.toml").exists():
        # an editable install, or a source tree on sys.path: the clone's own folder
        return f"{pip} -e {shlex.quote(str(package.parent) + '[plot]')}"
    try:
        direct = metadata.distribution("paraminspect").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    info = json.loads(direct) if direct else {}
    url = info.get("url", "")
    if url.startswith("file://") and "dir_info" in info:
        folder = unquote(urlparse(url).path)
        if (Path(folder) / "pyproject.toml").exists():
            return f"{pip} {shlex.quote(folder + '[plot]')}"
        return f"{pip} matplotlib"  # installed from a folder that is gone
    return f"{pip} 'paraminspect[plot]'"


def write_plot(report: TrainReport, path: str) -> None:
    """The loss, weight norms per layer at each record and gradient norms at every step
    (the title says which steps each panel has), written atomically."""
    import matplotlib

    from paraminspect.fileio import atomic_write

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recorded = [r.step for r in report.history]
    every_step = list(range(1, report.steps + 1))
    weights = layer_series(report, "weight_l2")
    # The gradient panel has every step when the run kept per-step norms, else the records.
    grads: Mapping[int, Sequence[Optional[float]]] = report.step_grad_l2 or layer_series(
        report, "grad_l2"
    )
    # constrained layout sizes the panels around the legends beside them (a fixed share of
    # the width left half the figure empty beside short legends)
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True, layout="constrained")
    # The loss: the mean batch loss between records and the whole data set's after each.
    axes[0].plot(recorded, [r.loss for r in report.history], marker="o", label="batch loss")
    axes[0].plot(recorded, [r.data_loss for r in report.history], marker="s", label="data set")
    axes[0].set_ylabel(f"{report.settings.loss} loss")
    axes[0].grid(True, alpha=0.3)
    axes[0].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    grad_xs = every_step if report.step_grad_l2 else recorded
    for ax, series, xs, axis_label in (
        (axes[1], weights, recorded, "||w|| (weight l2)"),
        (axes[2], grads, grad_xs, "||g|| (gradient l2)"),
    ):
        dense = len(xs) > 50  # markers only while they stay apart
        for index, values in series.items():
            ys = [float("nan") if v is None else v for v in values]
            info = report.model.layers[index]
            sharer = info.shares_with is not None
            name = info.label + (
                f": the same parameter as layer {report.model.path_of(info.shares_with)}"
                if info.shares_with is not None
                else ""
            )
            # A sharing layer's line covers its owner's exactly: dash it so both stay visible.
            style = "--" if sharer else "-"
            ax.plot(
                xs,
                ys,
                marker=None if dense else "o",
                linestyle=style,
                label=name,
                # hollow, larger markers let the owner's show through the sharer's
                markerfacecolor="none" if sharer else None,
                markersize=9 if sharer else 5,
            )
        ax.set_ylabel(axis_label)
        ax.grid(True, alpha=0.3)
    axes[2].set_yscale("log")
    axes[2].set_xlabel("step")
    # the legend sits right of the panels, never over a curve
    axes[1].legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if grad_xs is recorded:
        steps_note = f"weights and gradients at the {len(recorded)} logged steps"
    else:
        steps_note = (
            f"weights at the {len(recorded)} logged steps (a copy of every weight costs too "
            f"much each step); gradient norms at all {report.steps} steps"
        )
    fig.suptitle(
        f"{report.model.name}: loss and norms per layer ({report.settings.loss} loss)\n"
        f"{steps_note}",
        fontsize="medium",
    )
    image_format = os.path.splitext(path)[1].lower().lstrip(".")
    try:
        # the temporary file ends in .tmp, so matplotlib is told the format
        atomic_write(path, lambda tmp: fig.savefig(tmp, format=image_format), force=True)
    finally:
        plt.close(fig)
