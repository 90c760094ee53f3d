"""Leaving MXNet: ``export`` writes an ONNX file and proves it, ``compare`` checks a port.

One concept a module: :mod:`.deps` (the optional onnx/onnxruntime import), :mod:`.frozen`
(a Model as one symbol with its weights and inputs), :mod:`.heads` (loss heads left out),
:mod:`.convert` (MXNet's exporter and the passes that mend what it gets wrong),
:mod:`.runtime` (MXNet and onnxruntime evaluated on the same inputs), :mod:`.tensors`
(name matching and the match rule), :mod:`.export` and :mod:`.compare` (the actions).
"""
