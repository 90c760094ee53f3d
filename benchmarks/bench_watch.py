"""pi.watch: its per-step cost in a hand-written hybridized gluon.Trainer loop.

Target (issue 15): ``watch.step()`` costs under 5% of a training step when it only keeps
the per-step norms (``every`` large); a full record (``every=1``) is measured too. Both
are medians over alternating rounds in one process, after a warm-up, on the net of
``bench_train.py`` (specs/train_mlp.yaml's shape: hand-built here, as a user would).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _harness import ROOT, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
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

    def step() -> object:
        with autograd.record():
            loss = l2(net(x), y)
        loss.backward()
        trainer.step(args.batch_size)
        loss.wait_to_read()
        return loss

    norms_only = pi.watch(net, every=10**9)
    full = pi.watch(net, every=1)
    for _ in range(20):  # warm up: the cached graph, the watchers' first-step setup
        loss = step()
        norms_only.step(loss)
        full.step(loss)
    times = {"step": [], "norms": [], "record": []}
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        t1 = time.perf_counter()
        norms_only.step(loss)
        t2 = time.perf_counter()
        full.step(loss)
        t3 = time.perf_counter()
        times["step"].append(t1 - t0)
        times["norms"].append(t2 - t1)
        times["record"].append(t3 - t2)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(machine())
    print(
        f"one step {med['step'] * 1e3:.3f} ms; watch.step() keeping per-step norms "
        f"{med['norms'] * 1e3:.3f} ms = {med['norms'] / med['step']:.1%} of a step "
        "(target < 5%)"
    )
    print(
        f"watch.step() with a full record every step (every=1): {med['record'] * 1e3:.3f} ms "
        f"= {med['record'] / med['step']:.2f}x a step"
    )
    norms_only.close()
    full.close()


if __name__ == "__main__":
    main()
