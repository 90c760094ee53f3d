"""The book's custom initializer (section 4.2.3), registered with MXNet as ``myinit``.

Imported only when a network is built, since it subclasses an MXNet class.
"""

from __future__ import annotations

from typing import Any, List

import mxnet as mx
from mxnet import nd


@mx.init.register
class MyInit(mx.init.Initializer):
    """U(low, high), then every value with ``|w| < threshold`` set to zero.

    With the defaults this is exactly the book's ``MyInit``; it draws from MXNet's random
    stream in the same order, so the book's numbers come out. Instead of printing
    ``Init NAME SHAPE`` it appends that line to :attr:`log`, for the caller to show.
    """

    def __init__(self, low: float = -10.0, high: float = 10.0, threshold: float = 5.0) -> None:
        super().__init__(low=low, high=high, threshold=threshold)
        self.low, self.high, self.threshold = low, high, threshold
        self.log: List[str] = []

    def _init_weight(self, name: Any, data: Any) -> None:
        self.log.append(f"Init {name} {data.shape}")
        data[:] = nd.random.uniform(low=self.low, high=self.high, shape=data.shape)
        data *= data.abs() >= self.threshold
