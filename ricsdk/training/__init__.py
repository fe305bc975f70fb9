"""Training in the digital twin (layer 5, on :mod:`ricsdk.twin`): models for model-only xApps, and their judgement.

- :mod:`ricsdk.training.data`: twin runs under an exploration policy -> the model's feature rows, built as the
  runtime builds them, labelled with the next period's true PRB need;
- :mod:`ricsdk.training.demand`: the flagship's demand model (scikit-learn MLP -> ONNX) with its lineage;
- :mod:`ricsdk.training.policy`: a quota policy trained in the Gymnasium environment (cross-entropy method,
  numpy) -> ONNX built with ``onnx.helper``;
- :mod:`ricsdk.training.evaluate`: closed-loop runs against the twin over any transport, against baselines
  (:mod:`ricsdk.training.baselines`);
- :mod:`ricsdk.training.export` and :mod:`ricsdk.training.artifact`: ONNX export fixes, ``model.json`` and the
  manifest update.

The submodules are imported on use: :mod:`~ricsdk.training.demand` needs scikit-learn and skl2onnx, the others
do not. ``ricsdk train`` (``ricsdk.cli.train``) is the command line; ``docs/flagship-model.md`` the figures.
"""
