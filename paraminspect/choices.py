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

# --mode: autograd's train_mode / predict_mode for the forward passes (None: Gluon's default)
MODES = ("train", "predict")

# inspect / diff triage (issue 16)
SORT_KEYS = ("size", "l2", "abs_max", "std", "name")  # inspect --sort; numbers largest first
DIFF_SORT_KEYS = ("rel_l2", "max_abs", "cosine", "size", "name")  # diff --sort; worst first
GROUP_BY = ("layer",)  # inspect --group
FAIL_ON = ("findings",)  # inspect --fail-on
PROGRESS_DELAY = 1.0  # seconds inspect/diff read before their bar of bytes read shows
PROGRESS_DELAY_ENV = "PARAMINSPECT_PROGRESS_DELAY"  # overrides it (0: at once)
OVERVIEW_LARGEST = 5  # arrays listed under "largest" in inspect's overview
MIN_RUNNING_VAR = 1e-6  # a BatchNorm running variance below this is a finding
MIN_ABS_GAMMA = 1e-6  # a norm gamma with |gamma| below this is a finding
SCALE_FACTOR = 100.0  # a weight's std this many times off its peers' median is a finding

# train: named trouble (diagnose.trouble; see its docstring for the measurement behind these)
TROUBLE_KINDS = ("diverge", "nan", "explode", "dead", "vanish")  # --stop-on names, in order
DEFAULT_STOP_ON = "diverge,explode,dead,nan"  # the help's example: vanishing is slow, not fatal
DIVERGE_FACTOR = 3.0  # --diverge-factor: the smoothed loss above this x its best diverges
LOSS_SMOOTHING = 0.9  # the smoothed loss's weight on the past (about the last ten steps)

MAX_SEED = 2**32 - 1  # mx.random.seed takes the seed modulo 2**32: larger ones would collide

# export / compare (issue 22)
ONNX_OPSETS = (12, 13)  # --opset: the opsets MXNet's exporter has rules for
DEFAULT_OPSET = 13
DEFAULT_RTOL = 1e-4  # a tensor matches when max|a - b| <= rtol * max|mxnet| + atol
DEFAULT_ATOL = 1e-6
