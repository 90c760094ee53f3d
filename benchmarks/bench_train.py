"""Training: `paraminspect train` against a hand-written hybridized gluon.Trainer loop on
the same net, data, minibatches, epochs and optimizer (benchmarks/raw/raw_train.py).

Target (issue 6): at least 0.9x the steps per second of the raw loop with the per-epoch
table on. Both sides run the same number of steps, so the steps-per-second ratio is the
inverse of the wall-time ratio. `train`'s per-epoch line includes the loss over the whole
data set, so the raw loop evaluates it after each epoch too, as the book's loops do; the
bare raw loop (no evaluation) is measured as well, for reference.

Per-step statistics: at every step `train` reads every layer's gradient norm (the per-step
sparklines and `grad_l2_per_step`) and updates the progress bar; that work is measured in
process against one training step (target: at most 10%). `train --every 1` also logs a full
record after every step; its cost (statistics of every weight and gradient, update ratios,
dead ReLU units, shared checks; plus the loss over the whole data set) is measured too.
"""

from __future__ import annotations

import argparse
import subprocess
import time

from _harness import ROOT, command_exists, compare, env, machine, raw, run_output, tool

SPEC = "benchmarks/specs/train_mlp.yaml"
FLAGS = ("--samples", "--batch-size", "--epochs", "--lr", "--loss", "--optimizer", "--seed")


def per_step_costs(samples: int, batch_size: int, steps: int = 200) -> None:
    """Median seconds of one training step, one record's statistics, one data-set loss."""
    import statistics
    import sys

    sys.path.insert(0, str(ROOT))
    from mxnet import autograd, gluon

    from paraminspect.actions.train import (
        ReluProbe,
        StepNorms,
        TrainOptions,
        layer_names,
        make_record,
        prepare,
        synthetic_data,
    )
    from paraminspect.actions.train.relu import StepDeadRelu
    from paraminspect.diagnose.trouble import TroubleDetector
    from paraminspect.model.losses import loss_value

    opts = TrainOptions(samples=samples, batch_size=batch_size, epochs=1, lr=0.01, seed=0)
    model, optimizer = prepare(str(ROOT / SPEC), opts)
    x, y, _ = synthetic_data(model, "l2", samples)
    net = model.net
    net.hybridize()  # as `train` does
    trainer = gluon.Trainer(net.collect_params(), optimizer, {"learning_rate": 0.01})
    xb, yb = x[:batch_size], y[:batch_size]
    probe = x[:256]

    def step() -> None:
        with autograd.record():
            loss = loss_value("l2", net(xb), yb)
        loss.backward()
        trainer.step(1)
        loss.asscalar()

    def record() -> None:
        before = {n: p.data().asnumpy().astype("float64") for n, p in model.params.items()}
        make_record(model, 1, 1, 0.0, 0.0, before, probe)

    def data_loss() -> None:
        loss_value("l2", net(x), y).asscalar()

    import io

    from rich.console import Console

    from paraminspect.render.progress import TrainPrinter

    printer = TrainPrinter(Console(file=io.StringIO()), Console(file=io.StringIO()), "table", None)
    count = iter(range(1, 10**9))

    norms = StepNorms(model)
    detector = TroubleDetector()
    names = layer_names(model)
    probe_relu = ReluProbe(model)
    gated = StepDeadRelu(probe_relu, norms)  # as `train` builds it
    ungated = StepDeadRelu(probe_relu, norms, gate=False)  # the probe at every step

    def per_step(dead_relu: StepDeadRelu) -> None:
        norms.add()  # every layer's gradient norm
        step_no = next(count)
        dead = dead_relu(xb)  # dead ReLUs on the batch, where they can be 1.0
        detector.observe(  # named trouble: the norms and the dead fractions
            step_no,
            0.5,
            {names[i]: norms.values[i][-1] for i, _ in norms.layers},
            {names[i]: f for i, f in dead.items()} if dead is not None else None,
        )
        printer.on_step(step_no, 10**9, 0.5)

    def progress() -> None:  # what `train` does at every step besides the step itself
        per_step(gated)

    def progress_ungated() -> None:  # the same, measuring dead ReLUs at every step
        per_step(ungated)

    for f in (
        step,
        record,
        data_loss,
        progress,
        progress_ungated,
    ):  # warm up (hybridized graphs, caches)
        f()
    out = {}
    cases = (
        ("step", step, steps),
        ("record", record, 50),
        ("data", data_loss, 10),
        ("progress", progress, steps),
        ("ungated", progress_ungated, steps),
    )
    with printer:  # the progress bar running, as in `train`
        for name, f, n in cases:
            times = []
            for _ in range(n):
                t = time.perf_counter()
                f()
                times.append(time.perf_counter() - t)
            out[name] = statistics.median(times)
    print(
        f"per-step work besides the step (every layer's ||g||, the trouble detector, dead "
        f"ReLUs where they can be 1.0: {gated.measured} of {steps + 1} steps "
        f"measured them, the progress bar): {out['progress'] * 1e3:.3f} ms = "
        f"{out['progress'] / out['step']:.3f}x a step (target <= 0.10x); measuring dead "
        f"ReLUs at every step: {out['ungated'] * 1e3:.3f} ms = "
        f"{out['ungated'] / out['step']:.3f}x"
    )
    print(
        f"per-step records (in process, {samples} samples, batch {batch_size}): one step "
        f"{out['step'] * 1e3:.2f} ms; one record's statistics {out['record'] * 1e3:.2f} ms "
        f"({out['record'] / out['step']:.2f} steps); loss over the data set "
        f"{out['data'] * 1e3:.2f} ms ({out['data'] / out['step']:.2f} steps); "
        f"`--every 1` costs {(out['record'] + out['data']) / out['step']:.2f}x a step on top",
        flush=True,
    )


def loop_seconds(cmd: list, ours: bool) -> float:
    """The training loop's own seconds, as the program prints them: `train`'s "speed:" line
    (first step to last record), the raw loop's "loop:" line (first step to last evaluation)."""
    import re

    out = run_output(cmd)
    pattern = r"^speed: \d+ steps in ([\d.]+) s" if ours else r"^loop: \d+ steps in ([\d.]+) s"
    match = re.search(pattern, out, re.M)
    if match is None:
        raise SystemExit(f"no loop time in the output of {' '.join(cmd)}:\n{out[-500:]}")
    return float(match.group(1))


def loop_ratio(ours: list, base: list, repeats: int) -> None:
    """Steps/s of the loops themselves, each timed by its own program, alternating runs
    (ours in table mode: its per-epoch tables are printed inside the loop)."""
    import statistics

    t_ours, t_base = [], []
    for i in range(repeats):
        for side in ("ours", "base") if i % 2 == 0 else ("base", "ours"):
            if side == "ours":
                t_ours.append(loop_seconds(ours, ours=True))
            else:
                t_base.append(loop_seconds(base, ours=False))
    a, b = statistics.median(t_ours), statistics.median(t_base)
    print(
        f"training loop alone (steps + per-epoch records, timed inside each program): ours "
        f"{a:.2f} s, raw {b:.3f} s: steps/s ratio {b / a:.2f}  (target >= 0.9x)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=16384)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--bare", action="store_true", help="also against the bare raw loop")
    args = parser.parse_args()
    print(machine())
    if not command_exists("train"):
        print("SKIP train: this checkout has no `paraminspect train` command yet")
        return
    help_text = subprocess.run(
        tool("train", "--help"), env=env(), cwd=ROOT, capture_output=True, text=True
    ).stdout
    missing = [f for f in FLAGS if f not in help_text]
    if missing:
        print(f"SKIP train: `paraminspect train` has no {', '.join(missing)}; adapt FLAGS")
        return
    per_epoch = -(-args.samples // args.batch_size)

    def both(epochs: int, label: str, bare: bool = False) -> dict:
        sizes = [str(args.samples), str(args.batch_size), str(epochs), str(args.lr)]
        ours = tool(
            "train", SPEC, "--samples", sizes[0], "--batch-size", sizes[1], "--epochs", sizes[2],
            "--lr", sizes[3], "--loss", "l2", "--optimizer", args.optimizer, "--seed", "0",
        )  # fmt: skip
        base = raw("raw_train.py", *sizes, args.optimizer, *(["noeval"] if bare else []))
        if label.startswith("loop"):
            loop_ratio(ours, base, args.repeats)
            return {}
        return compare(label, ours, base, args.repeats, target=">= 0.9x steps/s")

    long = both(args.epochs, f"train {args.epochs * per_epoch} steps, per-epoch table")
    print(f"steps/s ratio, whole runs (ours / raw loop): {1 / long['time_ratio']:.2f}")
    short = both(1, f"train {per_epoch} steps (1 epoch)")
    # Steady state: the extra epochs alone (start-up, imports, spec validation and the loss
    # before training cancel out): their steps / their extra seconds, ours over raw.
    ratio = (long["base_s"] - short["base_s"]) / (long["ours_s"] - short["ours_s"])
    print(
        f"steps/s ratio, steady state (epochs 2..{args.epochs}, from the difference of the "
        f"medians): {ratio:.2f}  (target >= 0.9x)"
    )
    both(args.epochs, "loop")
    if args.bare:
        res = both(args.epochs, "train vs the bare raw loop (reference)", bare=True)
        print(f"steps/s ratio (ours / bare raw loop, no evaluation): {1 / res['time_ratio']:.2f}")
    per_step_costs(args.samples, args.batch_size)


if __name__ == "__main__":
    main()
