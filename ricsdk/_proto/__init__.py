"""Python modules generated from ``proto/`` at build or install time (see :mod:`ricsdk._proto.build`).

Nothing below this package except this file and ``build.py`` is committed: ``e2relay/v1/e2relay_pb2.py`` and its
siblings are produced by ``setup.py``'s ``build_py`` hook or by ``python -m ricsdk._proto.build``.
"""
