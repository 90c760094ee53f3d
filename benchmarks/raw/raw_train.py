"""A hand-written hybridized gluon.Trainer loop: the baseline of `paraminspect train`.

The same net as benchmarks/specs/train_mlp.yaml (as one HybridSequential, hybridized whole),
the same synthetic data as `train --loss l2` (X ~ U(0, 1), a linear teacher A ~ N(0, 1/d),
Y = X A), the same minibatches (a fresh permutation each epoch, nd.take, slices), L2 loss
averaged over the batch, and the optimizer and learning rate from the command line.

Like the book's training loops (d2l 3.2/3.3), it reads every batch's loss (`asscalar`) and,
after each epoch, evaluates the loss over the whole data set and prints it: the raw
counterpart of `train`'s per-epoch line. With `noeval` as 6th argument it skips that
evaluation (the bare loop, for reference). Its last line is the loop's own time, from
the first step to the last evaluation, as `train` prints it in its "speed:" line.

    python raw_train.py SAMPLES BATCH_SIZE EPOCHS LR OPTIMIZER [noeval]
"""

import math
import sys
import time

import mxnet as mx
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

samples, batch_size, epochs = (int(a) for a in sys.argv[1:4])
lr = float(sys.argv[4])
optimizer = sys.argv[5]
evaluate = sys.argv[6:] != ["noeval"]
mx.random.seed(0)
net = nn.HybridSequential()
net.add(nn.Dense(512, activation="relu"), nn.Dense(512, activation="relu"), nn.Dense(10))
net.initialize()
net.hybridize()
d = 512
X = nd.random.uniform(shape=(samples, d))
teacher = nd.random.normal(scale=1.0 / math.sqrt(d), shape=(d, 10))
Y = nd.dot(X, teacher)
trainer = gluon.Trainer(net.collect_params(), optimizer, {"learning_rate": lr})
loss_fn = gluon.loss.L2Loss()
n_batches = math.ceil(samples / batch_size)
start = time.perf_counter()
for epoch in range(epochs):
    order = nd.random.shuffle(nd.arange(samples))
    xs, ys = nd.take(X, order), nd.take(Y, order)
    total = 0.0
    for b in range(n_batches):
        xb = xs[b * batch_size : (b + 1) * batch_size]
        yb = ys[b * batch_size : (b + 1) * batch_size]
        with autograd.record():
            loss = loss_fn(net(xb), yb).mean()
        loss.backward()
        trainer.step(1)
        total += loss.asscalar()
    line = f"epoch {epoch + 1} mean batch loss {total / n_batches:.4f}"
    if evaluate:
        line += f", data loss {loss_fn(net(X), Y).mean().asscalar():.4f}"
    print(line)
# The loop's own time (steps and per-epoch evaluation), as `train` reports it ("speed:").
seconds = time.perf_counter() - start
print(f"loop: {epochs * n_batches} steps in {seconds:.6f} s")
