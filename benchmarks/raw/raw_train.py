"""A hand-written hybridized gluon.Trainer loop: the baseline of `paraminspect train`.

Same net as benchmarks/specs/train_mlp.yaml, synthetic regression data from a fixed random
teacher, L2 loss, SGD; sizes from the command line so bench_train.py can keep them equal.
"""

import sys

import mxnet as mx
from mxnet import autograd, gluon, nd
from mxnet.gluon import nn

samples, batch_size, epochs = (int(a) for a in sys.argv[1:4])
lr = float(sys.argv[4])
mx.random.seed(0)
X = nd.random.uniform(shape=(samples, 512))
teacher = nd.random.normal(shape=(512, 10))
y = nd.dot(X, teacher)
net = nn.HybridSequential()
net.add(nn.Dense(512, activation="relu"), nn.Dense(512, activation="relu"), nn.Dense(10))
net.initialize()
net.hybridize()
trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr})
loss_fn = gluon.loss.L2Loss()
data = gluon.data.DataLoader(gluon.data.ArrayDataset(X, y), batch_size=batch_size, shuffle=True)
for epoch in range(epochs):
    total = 0.0
    for xb, yb in data:
        with autograd.record():
            loss = loss_fn(net(xb), yb)
        loss.backward()
        trainer.step(xb.shape[0])
        total += loss.mean().asscalar()
    print(f"epoch {epoch} loss {total:.4f}")
