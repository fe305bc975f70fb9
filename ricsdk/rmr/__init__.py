"""RMR (RIC Message Router) protocol core, sans-I/O and wire-compatible with librmr 4.9.x SI95.

- :mod:`ricsdk.rmr.wire`: the frame format (transport header, v3 message header) and a stream reader.
- :mod:`ricsdk.rmr.routes`: route table records, the table state machine and (mtype, sub_id) routing.

The I/O lives in :mod:`ricsdk.transport.rmr` (native asyncio) and :mod:`ricsdk.transport.librmr` (C library).
"""
