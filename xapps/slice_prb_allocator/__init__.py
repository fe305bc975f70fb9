"""The flagship xApp: a slice PRB allocator driven by an ONNX model of each slice's next-period PRB need.

``features`` holds the feature list the model was trained on (the runtime must build the same one),
``demand`` the synthetic slice-demand generator, ``train`` the reproducible training script and ``artifact``
the loader of the committed model (``model/model.onnx`` + ``model/model.json``). See docs/flagship-model.md.
"""
