"""The governance rApp: lineage ingest and queries, the model registry, reports. See ``docs/governance.md``.

- :mod:`rapps.governance.chain`: chain verification at ingest (sans-I/O);
- :mod:`rapps.governance.store`: SQLite / PostgreSQL storage behind one interface, with migrations;
- :mod:`rapps.governance.ingest`: the gRPC ``LineageService``;
- :mod:`rapps.governance.api`: the REST API (FastAPI);
- :mod:`rapps.governance.registry`, :mod:`rapps.governance.reports`: models and what they did;
- :mod:`rapps.governance.server`: all of it in one process (``ricsdk governance serve``);
- :mod:`rapps.governance.client`: the REST client the CLI uses.
"""
