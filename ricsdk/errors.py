"""Every error ricsdk raises, in one place.

The hierarchy says who is at fault, so callers can react without parsing messages::

    RicSdkError
    ├── LocalProtocolError        we (the caller) asked for something illegal
    │   ├── E2ValueError          an E2 value built with a field out of range, a wrong type, ...
    │   └── RmrValueError         an RMR header field out of range (meid too long, sub_id not int32, ...)
    ├── RemoteProtocolError       a peer sent bytes that break the protocol
    │   ├── E2DecodeError         malformed E2AP / E2SM bytes (carries the bytes, bit position, field path)
    │   ├── RmrFrameError         malformed RMR frame or header (the frame is dropped, the stream goes on)
    │   │   └── RmrStreamError    nonsense RMR length: the byte stream cannot be resynchronised
    │   └── A1PayloadError        malformed or schema-violating A1 policy JSON
    ├── ConfigError               bad configuration: manifests, route tables, CLI arguments, files
    ├── ModelError                a model artifact refused: digest, shape, signature, onnxruntime failure
    ├── TransportError            a transport could not move a message
    │   ├── NoEndpointError       no route for (mtype, sub_id)
    │   └── MessageTooLargeError  a message above the configured maximum size (also a LocalProtocolError)
    └── LineageError              lineage spool or chain problems
        ├── ChainIntegrityError   a hash chain gap, fork, reorder or edit
        └── LineageRecordError    a decision record field out of range or of the wrong type

Low-level exceptions (``struct.error``, ``IndexError``, ``UnicodeDecodeError``, ``grpc.RpcError`` ...) are
translated at the boundary with ``raise ... from``, so nothing else escapes a public API.
"""

from __future__ import annotations

__all__ = [
    "A1PayloadError",
    "ChainIntegrityError",
    "ConfigError",
    "E2DecodeError",
    "E2ValueError",
    "LineageError",
    "LineageRecordError",
    "LocalProtocolError",
    "ModelError",
    "NoEndpointError",
    "RemoteProtocolError",
    "MessageTooLargeError",
    "RicSdkError",
    "RmrFrameError",
    "RmrStreamError",
    "RmrValueError",
    "TransportError",
]


class RicSdkError(Exception):
    """Root of every error raised by ricsdk."""


class LocalProtocolError(RicSdkError):
    """The caller asked for something the protocol does not allow (our fault, not the peer's)."""


class RemoteProtocolError(RicSdkError):
    """A peer sent something that violates the protocol (the peer's fault)."""


class E2ValueError(LocalProtocolError, ValueError):
    """An E2 value was built with an invalid field.

    ``field`` names the offending field (dotted path), ``value`` is what was given.
    """

    def __init__(self, message: str, *, field: str = "", value: object = None) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {message}" if field else message)


class E2DecodeError(RemoteProtocolError):
    """E2AP or E2SM bytes that cannot be decoded.

    ``data`` holds the offending bytes (the whole buffer given to the decoder), ``path`` the field path from the
    outermost type inwards (``RicSubscriptionRequest.RICsubscriptionDetails...``) and ``bit_position`` where
    decoding stopped, counted in ``segment`` when the failure happened inside an embedded value (an IE or an
    open type) and in ``data`` otherwise.
    """

    def __init__(self, message: str, *, data: bytes = b"", bit_position: int = -1, path: str = "") -> None:
        self.reason = message
        self.data = bytes(data)
        self.segment = b""
        self.bit_position = bit_position
        self._path: list[str] = [path] if path else []
        super().__init__(message)

    def within(self, outer: bytes) -> None:
        """Record that the bytes decoded so far were embedded in ``outer`` (the buffer the caller gave)."""
        outer = bytes(outer)
        if self.data != outer:
            if not self.segment:
                self.segment = self.data
            self.data = outer

    @property
    def path(self) -> str:
        return ".".join(reversed(self._path))

    def add_context(self, part: str) -> None:
        """Prepend a field name to the path (called while the error unwinds, outermost last)."""
        self._path.append(part)

    def __str__(self) -> str:
        where = f" at bit {self.bit_position}" if self.bit_position >= 0 else ""
        field = f" in {self.path}" if self._path else ""
        preview = self.data[:64].hex()
        more = "..." if len(self.data) > 64 else ""
        seg = f" of segment {self.segment[:32].hex()}" if self.segment else ""
        return f"{self.reason}{field}{where}{seg} (data {len(self.data)} bytes: {preview}{more})"


class RmrFrameError(RemoteProtocolError):
    """A malformed RMR frame (transport header, message header or lengths)."""

    def __init__(self, message: str, *, data: bytes = b"") -> None:
        self.data = bytes(data[:512])
        super().__init__(message)


class RmrStreamError(RmrFrameError):
    """An RMR length prefix that makes no sense (negative, shorter than the transport header).

    The stream position is lost: the reader discards what it buffered and the connection should be reset.
    """


class RmrValueError(LocalProtocolError, ValueError):
    """An RMR header built locally with an invalid field; ``field`` names it, ``value`` is what was given."""

    def __init__(self, message: str, *, field: str = "", value: object = None) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {message}" if field else message)


class A1PayloadError(RemoteProtocolError):
    """A1 policy JSON that is malformed or does not validate against its policy type schema."""

    def __init__(self, message: str, *, payload: object = None) -> None:
        self.payload = payload
        super().__init__(message)


class ConfigError(RicSdkError):
    """Invalid configuration: a manifest, a route table, a config file or a CLI argument.

    ``source`` names the file, variable or argument, ``field`` the offending entry when known.
    """

    def __init__(self, message: str, *, source: str = "", field: str = "") -> None:
        self.source = source
        self.field = field
        where = ":".join(p for p in (source, field) if p)
        super().__init__(f"{where}: {message}" if where else message)


class ModelError(RicSdkError):
    """A model artifact that cannot be loaded or served (digest, shape, signature, runtime failure)."""

    def __init__(self, message: str, *, model: str = "") -> None:
        self.model = model
        super().__init__(f"model {model}: {message}" if model else message)


class TransportError(RicSdkError):
    """A transport could not deliver or receive a message."""


class NoEndpointError(TransportError):
    """No route for a message: no entry for (mtype, sub_id) nor for (mtype, -1)."""

    def __init__(self, mtype: int, sub_id: int) -> None:
        self.mtype = mtype
        self.sub_id = sub_id
        super().__init__(f"no endpoint for mtype {mtype} sub_id {sub_id}")


class MessageTooLargeError(TransportError, LocalProtocolError):
    """A message whose payload exceeds the transport's configured maximum; it was not sent."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"payload of {size} bytes exceeds the maximum of {limit} bytes")


class LineageError(RicSdkError):
    """A lineage spool, record or reporter problem."""


class ChainIntegrityError(LineageError):
    """The lineage hash chain is broken: a gap, a fork, a reorder or an edited record.

    ``instance`` and ``sequence`` name the first record where verification failed.
    """

    def __init__(self, message: str, *, instance: str = "", sequence: int = -1) -> None:
        self.instance = instance
        self.sequence = sequence
        super().__init__(message)


class LineageRecordError(LineageError, ValueError):
    """A decision record that cannot be recorded: ``field`` names the offending field."""

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)
