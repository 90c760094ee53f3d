"""Every choice and default that the CLI, the Python API and the core share, defined once.

This module imports nothing, so ``cli/`` reads its defaults from here without paying for
the core (pydantic, rich, MXNet).
"""

from __future__ import annotations

FORMATS = ("table", "json")  # --format
LOSSES = ("sum", "l2", "softmax-ce")  # grad --loss
TRAIN_LOSSES = ("l2", "softmax-ce")  # train --loss: `sum` has no minimum, training it diverges
SET_OPS = ("add", "scale", "fill")  # set --add/--scale/--fill, and set steps in a spec

DEFAULT_SPEC = "mlp"  # the MODEL when none is given: the book's MLP
DEFAULT_BINS = 16  # --bins
MAX_BINS = 200

# train
DEFAULT_SAMPLES = 256
DEFAULT_BATCH_SIZE = 32
DEFAULT_EPOCHS = 5
DEFAULT_LR = 0.1
DEFAULT_OPTIMIZER = "sgd"
DEFAULT_TRAIN_LOSS = "l2"
EXPLODE_NORM = 1e3  # a gradient norm above this is reported as exploding
VANISH_NORM = 1e-7  # a trained parameter's gradient norm below this is vanishing

MAX_SEED = 2**32 - 1  # mx.random.seed takes the seed modulo 2**32: larger ones would collide
