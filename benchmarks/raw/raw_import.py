import mxnet  # noqa: F401
