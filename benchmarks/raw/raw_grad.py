"""Init + forward + backward of the big MLP by hand, no statistics: the baseline of
`paraminspect grad benchmarks/specs/big_mlp.yaml --stats` (loss = sum of the outputs).
With the argument `forward`: init + forward only, the baseline of `show --stats`."""

import sys

from mxnet import autograd, nd
from mxnet.gluon import nn

net = nn.Sequential()
for _ in range(7):
    net.add(nn.Dense(4096, activation="relu"))
net.add(nn.Dense(4096))
net.initialize()
X = nd.random.uniform(shape=(64, 4096))
if sys.argv[1:] == ["forward"]:
    net(X).wait_to_read()
    sys.exit(0)
with autograd.record():
    loss = net(X).sum()
loss.backward()
for p in net.collect_params().values():
    p.grad().wait_to_read()
