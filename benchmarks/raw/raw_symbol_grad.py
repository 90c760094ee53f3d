"""Raw MXNet baseline for bench_models: SymbolBlock.imports + one recorded forward pass +
backward, with no statistics. Usage: raw_symbol_grad.py SYMBOL PARAMS BATCH"""

import sys

import mxnet as mx
from mxnet import autograd

symbol, params, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
net = mx.gluon.SymbolBlock.imports(symbol, ["data"], params)
x = mx.nd.random.uniform(shape=(batch, 3, 112, 112))
with autograd.record():
    loss = net(x).sum()
loss.backward()
for p in net.collect_params().values():
    if p.grad_req != "null":
        p.grad().wait_to_read()
