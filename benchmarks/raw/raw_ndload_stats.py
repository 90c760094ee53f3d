"""What a user would write: mx.nd.load, then numpy mean/std/min/max per array."""

import sys

import mxnet as mx
import numpy as np

for key, value in mx.nd.load(sys.argv[1]).items():
    a = value.asnumpy()
    print(key, float(np.mean(a)), float(np.std(a)), float(np.min(a)), float(np.max(a)))
