"""E2 traces: record what crosses a transport, import SCTP captures, replay into an xApp (docs/traces.md).

Sans-I/O: :mod:`~ricsdk.trace.pcap` (capture containers), :mod:`~ricsdk.trace.records` (trace records and their
pcapng form), :mod:`~ricsdk.trace.net` (link layer, IP, SCTP), :mod:`~ricsdk.trace.importer` (E2AP over SCTP).
Transports: :mod:`~ricsdk.trace.recorder` (``RecordingTransport``), :mod:`~ricsdk.trace.replay`
(``ReplayTransport``). Above the runtime: :mod:`~ricsdk.trace.session` (``replay_xapp``),
:mod:`~ricsdk.trace.expect` and :mod:`~ricsdk.trace.compare`.
"""
