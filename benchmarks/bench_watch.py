"""pi.watch: what it adds to a hand-written hybridized gluon.Trainer loop, timed whole.

Timing ``watch.step()`` alone misleads: that call waits for MXNet's asynchronous backward
and update (reading a norm synchronizes), so it absorbs work the loop does anyway. Here the
same loop runs in rounds of ``--steps`` steps, without and with the watcher, alternating
(and alternating which goes first), and the per-step wall time of each round is compared:
the watcher's cost is the difference. Each step ends by reading its loss, as a loop that
prints or sums it does (``--no-read``: the loop never waits, so MXNet overlaps steps and a
watcher, which reads every gradient's norm, takes that overlap away). Target (issue 15): the
per-step norms (``every`` large) under 5% of a step; a full record every step (``every=1``)
is measured too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _harness import ROOT, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=100, help="steps per round")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of each variant")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-read", action="store_true", help="never read the loss")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import mxnet as mx
    from mxnet import autograd, gluon, nd
    from mxnet.gluon import nn

    import paraminspect as pi

    mx.random.seed(0)
    net = nn.HybridSequential()
    with net.name_scope():
        for _ in range(3):
            net.add(nn.Dense(512, activation="relu"))
        net.add(nn.Dense(64))
    net.initialize()
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01})
    l2 = gluon.loss.L2Loss()
    x = nd.random.uniform(shape=(args.batch_size, 512))
    y = nd.random.normal(shape=(args.batch_size, 64))

    def loop(watch: object, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            with autograd.record():
                loss = l2(net(x), y)
            loss.backward()
            trainer.step(args.batch_size)
            if not args.no_read:
                loss.wait_to_read()  # a loop reads its loss (to print or sum it)
            if watch is not None:
                watch.step(loss)  # type: ignore[attr-defined]
        nd.waitall()  # the loop's work is done when MXNet's engine is idle
        return (time.perf_counter() - start) / steps

    norms_only = pi.watch(net, every=10**9)
    full = pi.watch(net, every=1)
    variants = {"plain loop": None, "with watch (norms)": norms_only, "with watch (every=1)": full}
    for w in variants.values():  # warm up: the cached graph, the watchers' first-step setup
        loop(w, 20)
    times = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            times[name].append(loop(variants[name], args.steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["plain loop"]
    print(machine())
    read = "never reading the loss" if args.no_read else "each step reading its loss"
    print(f"{args.rounds} rounds x {args.steps} steps each, alternating, {read}")
    for name, t in med.items():
        extra = "" if name == "plain loop" else f"  +{(t - base) / base:.1%} of a step"
        target = "  (target < 5%)" if name == "with watch (norms)" else ""
        print(f"{name:24s} median {t * 1e3:7.3f} ms/step{extra}{target}")
    norms_only.close()
    full.close()


if __name__ == "__main__":
    main()
