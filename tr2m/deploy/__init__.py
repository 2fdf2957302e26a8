"""Deployment: ONNX export of TR2M depthers, checked with onnxruntime (:mod:`.onnx`). onnx and
onnxruntime are the optional ``export`` extra; importing this package does not import them."""
