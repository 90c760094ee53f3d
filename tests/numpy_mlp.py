"""An independent float64 numpy MLP (dense layers only) and central finite differences.

Used to check the gradients MXNet's autograd gives against a computation that shares no
code with paraminspect or MXNet.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

ACT: Dict[Optional[str], Callable[[np.ndarray], np.ndarray]] = {
    None: lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "softrelu": lambda z: np.log1p(np.exp(z)),
    "softsign": lambda z: z / (1.0 + np.abs(z)),
}

Layer = Tuple[np.ndarray, Optional[np.ndarray], Optional[str]]  # weight, bias, activation


def forward(layers: Sequence[Layer], x: np.ndarray) -> np.ndarray:
    h = x.reshape(x.shape[0], -1).astype(np.float64)
    for w, b, act in layers:
        z = h @ w.T + (0.0 if b is None else b)
        h = ACT[act](z)
    return h


def loss(kind: str, y: np.ndarray, targets: Optional[np.ndarray]) -> float:
    """The README's definitions of sum, l2 and softmax-ce."""
    if kind == "sum":
        return float(y.sum())
    if kind == "l2":
        assert targets is not None
        return float(np.mean(0.5 * np.mean((y - targets) ** 2, axis=1)))
    assert targets is not None
    z = y - y.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(y)), targets.astype(int)]))


def finite_difference(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d array by central differences, perturbing ``array`` in place (restored)."""
    grad = np.zeros_like(array)
    flat = array.reshape(-1)
    out = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        out[i] = (up - down) / (2 * eps)
    return grad


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    denom = max(float(np.linalg.norm(want)), 1e-12)
    return float(np.linalg.norm(got.astype(np.float64) - want)) / denom


def arrays_of(report_parameters: List[dict]) -> Dict[str, np.ndarray]:
    return {p["name"]: np.asarray(p["data"], dtype=np.float64) for p in report_parameters}
