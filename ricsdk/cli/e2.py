"""``ricsdk e2``: E2AP and E2SM bytes to JSON and back, for testers.

Theory of operation
-------------------
``decode`` turns bytes (binary, hex text or a pcap/pcapng capture) into one JSON document, and ``encode`` turns
such a document back into bytes. ``encode`` accepts exactly what ``decode`` prints, so a message can be decoded,
edited and encoded again. Values are mapped with :mod:`ricsdk.e2.jsonmap` (hex strings for OCTET STRINGs, enum
member names, ``{"<Class>": {...}}`` for a CHOICE, ...).

Documents:

- an E2AP PDU: ``{"e2ap_version": 2, "message": {"<MessageClass>": {...}}}``. ``e2ap_version`` is the lowest
  E2AP version whose encoder accepts the message (3 when it uses v3-only IEs); ``encode`` uses it unless
  ``--e2ap-version`` says otherwise. Each OCTET STRING of the message that carries an E2SM payload is followed
  by a sibling member ``<field>_e2sm`` holding the payload decoded;
- an E2SM payload (``decode --kind``, and every ``<field>_e2sm``): ``{"sm": "kpm", "version": 2, "kind":
  "indication-message", "value": {...}}`` (E2SM-RC has one version and no ``version`` member). A payload that
  does not decode has ``error`` instead of ``value`` and keeps its raw hex in the message;
- a PDU that does not decode at all (a capture entry): ``{"hex": "...", "error": {"reason", "path",
  "bit_position"}}``; ``encode`` writes its bytes back unchanged;
- a capture: a JSON array, one entry per E2AP PDU, each ``{"packet": n, "timestamp_ns": t, "comment": "..."}``
  merged with the PDU's document. ``encode`` turns an array into a pcapng capture of exported-PDU packets
  (Wireshark's ``e2ap`` dissector) with the same timestamps and comments.

Which payloads are decoded, with which service model (``--sm auto``): KPM for the indication header and message
and the subscription's event trigger and action definitions, RC for the control header, message and outcome,
and for the RAN function definitions of an E2 setup request the service model their OID names (the KPM version
too). Within a capture, the RAN functions an E2 setup request announced decide the service model and KPM version
of later messages for the same RAN function id. ``--sm kpm|rc`` decodes every payload with that service model
(a payload it does not define is reported as an error beside its hex), ``--sm none`` decodes no payload. The KPM
version is ``--version`` when given, otherwise the one the OID announced, otherwise the lowest version that
decodes the payload and can encode what it decoded.

Encoding a ``<field>_e2sm`` that has a ``value`` re-encodes it and replaces the hex of ``<field>``: editing the
decoded value is how a payload is changed (delete the ``_e2sm`` member to edit the raw hex instead). When the hex
already decodes to that value, it is kept as it is, so an unedited payload keeps its exact bytes (extensions the
codecs skip, non-canonical encodings). The KPM version is the section's ``version`` unless ``--version``
overrides it.

Exit status: 0 on success (payloads that failed to decode are reported in the JSON only), 1 when the input PDU
itself (or a PDU of a capture, or the capture file) is malformed, with the reason, the decode path and the bit
position on stderr, 2 for bad arguments or a bad JSON document (the message names the parameter or JSON path).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, Final, NoReturn, TypeAlias

import click

from ricsdk.e2 import kpm, rc
from ricsdk.e2.e2ap import (
    E2apMessage,
    E2apVersion,
    E2setupRequest,
    RicControlAcknowledge,
    RicControlFailure,
    RicControlRequest,
    RicIndication,
    RicSubscriptionRequest,
    decode_e2ap,
    encode_e2ap,
)
from ricsdk.e2.jsonmap import JsonValue, from_json, to_json
from ricsdk.e2.kpm import KpmCodec, KpmVersion
from ricsdk.errors import ConfigError, E2DecodeError, E2ValueError
from ricsdk.trace.pcap import (
    LINKTYPE_UPPER_PDU,
    CaptureError,
    PcapngWriter,
    exported_pdu,
    parse_exported_pdu,
    read_capture,
)

__all__ = [
    "KINDS",
    "Announced",
    "DecodeOptions",
    "E2smKind",
    "capture_documents",
    "detect_format",
    "e2",
    "e2ap_document",
    "e2ap_version_of",
    "e2sm_document",
    "encode_capture",
    "format_json",
    "encode_document",
    "parse_hex",
    "pcapng_of",
]

# -- E2SM payload kinds -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class E2smKind:
    """One E2SM payload type: its service model, CLI name, value type and codec functions."""

    sm: str
    name: str
    value_type: object
    decode: Callable[[KpmCodec, bytes], object]
    encode: Callable[[KpmCodec, Any], bytes]


KINDS: Final[dict[str, E2smKind]] = {
    k.name: k
    for k in (
        E2smKind(
            "kpm", "event-trigger", kpm.EventTrigger, KpmCodec.decode_event_trigger, KpmCodec.encode_event_trigger
        ),
        E2smKind(
            "kpm",
            "action-definition",
            kpm.ActionDefinition,
            KpmCodec.decode_action_definition,
            KpmCodec.encode_action_definition,
        ),
        E2smKind(
            "kpm",
            "indication-header",
            kpm.IndicationHeader,
            KpmCodec.decode_indication_header,
            KpmCodec.encode_indication_header,
        ),
        E2smKind(
            "kpm",
            "indication-message",
            kpm.IndicationMessage,
            KpmCodec.decode_indication_message,
            KpmCodec.encode_indication_message,
        ),
        E2smKind(
            "kpm",
            "ran-function-description",
            kpm.RanFunctionDescription,
            KpmCodec.decode_ran_function_description,
            KpmCodec.encode_ran_function_description,
        ),
        E2smKind(
            "rc",
            "control-header",
            rc.ControlHeaderFormat1,
            lambda _c, d: rc.decode_control_header(d),
            lambda _c, v: rc.encode_control_header(v),
        ),
        E2smKind(
            "rc",
            "control-message",
            rc.ControlMessageFormat1,
            lambda _c, d: rc.decode_control_message(d),
            lambda _c, v: rc.encode_control_message(v),
        ),
        E2smKind(
            "rc",
            "control-outcome",
            rc.ControlOutcomeFormat1,
            lambda _c, d: rc.decode_control_outcome(d),
            lambda _c, v: rc.encode_control_outcome(v),
        ),
        E2smKind(
            "rc",
            "ran-function-definition",
            rc.RanFunctionDefinition,
            lambda _c, d: rc.decode_ran_function_definition(d),
            lambda _c, v: rc.encode_ran_function_definition(v),
        ),
    )
}
_SM_TITLES: Final = {"kpm": "E2SM-KPM", "rc": "E2SM-RC"}
_SECTION_SUFFIX: Final = "_e2sm"


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How ``decode`` treats E2SM payloads: the service model (``auto``, ``kpm``, ``rc`` or ``none``), a KPM
    version to force and the KPM TimeStamp size to try first."""

    sm: str = "auto"
    kpm_version: KpmVersion | None = None
    ts_octets: int | None = None


#: What the E2 setup requests seen so far announced: RAN function id -> (service model, KPM version).
Announced: TypeAlias = dict[int, tuple[str, KpmVersion | None]]


def _sm_of_oid(oid: str) -> tuple[str, KpmVersion | None] | None:
    if oid == rc.RC_OID:
        return "rc", None
    try:
        return "kpm", kpm.kpm_version_for_oid(oid)
    except E2ValueError:
        return None


# -- decoding -----------------------------------------------------------------------------------------------


def _error_text(exc: E2DecodeError) -> str:
    where = f" in {exc.path}" if exc.path else ""
    bit = f" at bit {exc.bit_position}" if exc.bit_position >= 0 else ""
    if bit and exc.segment:
        more = "..." if len(exc.segment) > 32 else ""
        bit += f" of the embedded value {exc.segment[:32].hex()}{more}"
    return f"{exc.reason}{where}{bit}"


def _error_json(exc: E2DecodeError) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {"reason": exc.reason, "path": exc.path, "bit_position": exc.bit_position}
    if exc.segment:
        out["segment"] = exc.segment.hex()
    out["text"] = _error_text(exc)
    return out


def _decode_payload(
    kind: E2smKind, data: bytes, options: DecodeOptions, version: KpmVersion | None
) -> tuple[Any, KpmVersion | None]:
    """Decode one payload; returns (value, KPM version used). KPM without a known version tries v2, then v3."""
    if kind.sm != "kpm":
        return kind.decode(KpmCodec(), data), None
    candidates = (version,) if version is not None else (KpmVersion.V2, KpmVersion.V3)
    first: E2DecodeError | None = None
    fallback: Any = None
    for v in candidates:
        codec = KpmCodec(v, options.ts_octets)
        try:
            value = kind.decode(codec, data)
        except E2DecodeError as exc:
            first = first or exc
            continue
        if version is None and v < KpmVersion.V3:
            try:
                kind.encode(KpmCodec(v), value)
            except E2ValueError:  # the payload uses v3-only values: a v3 decoder reads it as the node meant
                fallback = value
                continue
        return value, v
    if fallback is not None:
        return fallback, KpmVersion.V3
    assert first is not None
    raise first


def _document(kind: E2smKind, value: object, version: KpmVersion | None) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {"sm": kind.sm}
    if version is not None:
        out["version"] = int(version)
    out["kind"] = kind.name
    out["value"] = to_json(value, kind.value_type)
    return out


def _section(kind: E2smKind, data: bytes, options: DecodeOptions, version: KpmVersion | None) -> dict[str, JsonValue]:
    """The ``<field>_e2sm`` member of a payload: its document, or the error instead of the value."""
    try:
        value, used = _decode_payload(kind, data, options, version)
    except E2DecodeError as exc:
        out: dict[str, JsonValue] = {"sm": kind.sm}
        if kind.sm == "kpm":
            out["version"] = int(version or KpmVersion.V2)
        out["kind"] = kind.name
        out["error"] = _error_text(exc)
        return out
    return _document(kind, value, used)


def e2sm_document(kind_name: str, data: bytes, options: DecodeOptions = DecodeOptions()) -> dict[str, JsonValue]:
    """The JSON document of one E2SM payload; a malformed payload raises :class:`E2DecodeError`."""
    kind = KINDS[kind_name]
    value, used = _decode_payload(kind, data, options, options.kpm_version)
    return _document(kind, value, used)


@dataclass(frozen=True, slots=True)
class _Slot:
    """An OCTET STRING of a message that carries an E2SM payload: where it is and what it may hold."""

    where: tuple[str | int, ...]  # keys and indices from the message body to the dict holding the field
    name: str
    data: bytes
    kinds: dict[str, str]  # service model -> kind name
    function_id: int | None
    oid: str | None = None


def _slots(msg: E2apMessage) -> list[_Slot]:
    if isinstance(msg, RicIndication):
        fid = msg.ran_function_id
        return [
            _Slot((), "header", msg.header, {"kpm": "indication-header"}, fid),
            _Slot((), "message", msg.message, {"kpm": "indication-message"}, fid),
        ]
    if isinstance(msg, RicSubscriptionRequest):
        fid = msg.ran_function_id
        out = [_Slot((), "event_trigger", msg.event_trigger, {"kpm": "event-trigger"}, fid)]
        for i, a in enumerate(msg.actions):
            if a.definition is not None:
                out.append(_Slot(("actions", i), "definition", a.definition, {"kpm": "action-definition"}, fid))
        return out
    if isinstance(msg, RicControlRequest):
        fid = msg.ran_function_id
        return [
            _Slot((), "header", msg.header, {"rc": "control-header"}, fid),
            _Slot((), "message", msg.message, {"rc": "control-message"}, fid),
        ]
    if isinstance(msg, RicControlAcknowledge | RicControlFailure) and msg.outcome is not None:
        return [_Slot((), "outcome", msg.outcome, {"rc": "control-outcome"}, msg.ran_function_id)]
    if isinstance(msg, E2setupRequest):
        kinds = {"kpm": "ran-function-description", "rc": "ran-function-definition"}
        return [
            _Slot(("ran_functions", i), "definition", f.definition, kinds, None, f.oid)
            for i, f in enumerate(msg.ran_functions)
        ]
    return []


def _resolve(slot: _Slot, options: DecodeOptions, functions: Announced) -> tuple[str, KpmVersion | None] | None:
    """The service model and KPM version to decode a slot with (None: leave it undecoded)."""
    announced = _sm_of_oid(slot.oid) if slot.oid is not None else None
    if announced is None and slot.function_id is not None:
        announced = functions.get(slot.function_id)
    if options.sm == "none":
        return None
    if options.sm != "auto":
        version = announced[1] if announced is not None and announced[0] == options.sm else None
        return options.sm, options.kpm_version or version
    if announced is not None:
        sm, version = announced
        return (sm, options.kpm_version or version) if sm in slot.kinds else None
    if slot.oid is not None or len(slot.kinds) != 1:
        return None
    (sm,) = slot.kinds
    return sm, options.kpm_version


def _insert_after(body: dict[str, JsonValue], key: str, new_key: str, value: JsonValue) -> None:
    items = list(body.items())
    body.clear()
    for k, v in items:
        body[k] = v
        if k == key:
            body[new_key] = value


def e2ap_version_of(msg: E2apMessage) -> E2apVersion:
    """The lowest E2AP version whose encoder accepts ``msg``."""
    try:
        encode_e2ap(msg, E2apVersion.V2)
    except E2ValueError:
        return E2apVersion.V3
    return E2apVersion.V2


def e2ap_document(
    data: bytes, options: DecodeOptions = DecodeOptions(), functions: Announced | None = None
) -> dict[str, JsonValue]:
    """The JSON document of one E2AP PDU with its E2SM payloads decoded beside their hex.

    A malformed PDU raises :class:`E2DecodeError`; a malformed payload is reported in its ``_e2sm`` member.
    ``functions`` carries what earlier E2 setup requests of the same capture announced.
    """
    functions = functions if functions is not None else {}
    msg = decode_e2ap(data)
    name = type(msg).__name__
    body = to_json(msg)
    assert isinstance(body, dict)
    if isinstance(msg, E2setupRequest):
        for f in msg.ran_functions:
            announced = _sm_of_oid(f.oid)
            if announced is not None:
                functions[f.id] = announced
    placed: list[tuple[Any, _Slot, dict[str, JsonValue]]] = []
    guessed: list[int] = []  # KPM payloads whose version was found by trying
    for slot in _slots(msg):
        resolved = _resolve(slot, options, functions)
        if resolved is None:
            continue
        sm, version = resolved
        holder: Any = body
        for step in slot.where:
            holder = holder[step]
        kind_name = slot.kinds.get(sm)
        section: dict[str, JsonValue]
        if kind_name is None:
            section = {"sm": sm, "error": f"{_SM_TITLES[sm]} does not define the {slot.name} of a {name}"}
        else:
            section = _section(KINDS[kind_name], slot.data, options, version)
            if sm == "kpm" and version is None:
                guessed.append(len(placed))
        placed.append((holder, slot, section))
    if any(placed[i][2].get("version") == KpmVersion.V3 for i in guessed):
        # one message, one KPM version: payloads that read as v2 are read again as v3 when another needed v3
        for i in guessed:
            holder, slot, section = placed[i]
            if section.get("version") == KpmVersion.V2 and "value" in section:
                again = _section(KINDS[str(section["kind"])], slot.data, options, KpmVersion.V3)
                if "value" in again:
                    placed[i] = (holder, slot, again)
    for holder, slot, section in placed:
        _insert_after(holder, slot.name, slot.name + _SECTION_SUFFIX, section)
    return {"e2ap_version": int(e2ap_version_of(msg)), "message": {name: body}}


def capture_documents(data: bytes, options: DecodeOptions = DecodeOptions()) -> Iterator[dict[str, JsonValue]]:
    """One entry per E2AP PDU of a pcap/pcapng capture (exported-PDU packets for the ``e2ap`` dissector).

    A PDU that does not decode gives an entry with its ``hex`` and the ``error``; a packet of another link type
    or dissector raises :class:`CaptureError`, as does a malformed capture file.
    """
    functions: Announced = {}
    for n, pkt in enumerate(read_capture(data), 1):
        if pkt.linktype != LINKTYPE_UPPER_PDU:
            raise CaptureError(
                f"packet {n}: link type {pkt.linktype} is not supported; export the E2AP PDUs first "
                "(Wireshark: File > Export PDUs to File, 'OSI layer 7')"
            )
        dissector, pdu = parse_exported_pdu(pkt.data)
        if dissector != "e2ap":
            raise CaptureError(f"packet {n}: an exported PDU for the {dissector!r} dissector, not e2ap")
        entry: dict[str, JsonValue] = {"packet": n, "timestamp_ns": pkt.timestamp_ns}
        if pkt.comment is not None:
            entry["comment"] = pkt.comment
        try:
            entry.update(e2ap_document(pdu, options, functions))
        except E2DecodeError as exc:
            entry["hex"] = pdu.hex()
            entry["error"] = _error_json(exc)
        yield entry


# -- encoding -----------------------------------------------------------------------------------------------

_E2AP_KEYS: Final = frozenset({"e2ap_version", "message"})
_E2SM_KEYS: Final = frozenset({"sm", "version", "kind", "value", "error"})
_RAW_KEYS: Final = frozenset({"hex", "error"})
_ENTRY_KEYS: Final = frozenset({"packet", "timestamp_ns", "comment"})
_HEX: Final = re.compile(r"(?:[0-9a-fA-F]{2})*")


def _bad(path: str, message: str) -> ConfigError:
    return ConfigError(message, field=path)


def _check_keys(doc: dict[str, Any], allowed: frozenset[str], path: str, what: str) -> None:
    for k in doc:
        if k not in allowed:
            raise _bad(f"{path}.{k}", f"unknown member of {what} (expected {', '.join(sorted(allowed))})")


def _version(data: object, path: str, versions: type[E2apVersion] | type[KpmVersion]) -> Any:
    if type(data) is not int or data not in {int(v) for v in versions}:
        raise _bad(path, f"expected one of {', '.join(str(int(v)) for v in versions)}, got {data!r}")
    return versions(data)


@dataclass(frozen=True, slots=True)
class _Payload:
    """An E2SM section read from JSON: what to encode and with which version."""

    kind: E2smKind
    value: Any
    version: KpmVersion  # what to encode with (KPM only)
    recorded: KpmVersion  # what the section says (KPM only)


def _read_section(section: object, path: str, kpm_version: KpmVersion | None) -> _Payload:
    if not isinstance(section, dict):
        raise _bad(path, "expected an E2SM object with sm, version, kind and value")
    _check_keys(section, _E2SM_KEYS, path, "an E2SM payload")
    kind_name = section.get("kind")
    kind = KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise _bad(f"{path}.kind", f"expected one of {', '.join(KINDS)}, got {kind_name!r}")
    sm = section.get("sm", kind.sm)
    if sm != kind.sm:
        raise _bad(f"{path}.sm", f"{kind.name} is a {kind.sm!r} payload, not {sm!r}")
    if "value" not in section:
        raise _bad(f"{path}.value", "missing: nothing to encode")
    recorded = KpmVersion.V2
    if kind.sm == "kpm" and "version" in section:
        recorded = _version(section["version"], f"{path}.version", KpmVersion)
    value = from_json(kind.value_type, section["value"], f"{path}.value")
    return _Payload(kind, value, kpm_version or recorded, recorded)


def _encode_payload(p: _Payload, path: str) -> bytes:
    try:
        return p.kind.encode(KpmCodec(p.version), p.value)
    except E2ValueError as exc:
        title = _SM_TITLES[p.kind.sm] + (f" v{int(p.version)}" if p.kind.sm == "kpm" else "")
        raise _bad(f"{path}.value", f"cannot encode as {title} {p.kind.name}: {exc}") from exc


def _holds(raw_hex: object, p: _Payload) -> bool:
    """Whether ``raw_hex`` already is an encoding of ``p`` (then it is kept, byte for byte)."""
    if p.version != p.recorded or not isinstance(raw_hex, str) or _HEX.fullmatch(raw_hex) is None:
        return False
    try:
        value = p.kind.decode(KpmCodec(p.version), bytes.fromhex(raw_hex))
    except E2DecodeError:
        return False
    return bool(value == p.value)


def _apply_sections(node: object, path: str, kpm_version: KpmVersion | None) -> object:
    """A copy of a message's JSON where each ``<field>_e2sm`` with a value has replaced the hex of ``<field>``.

    The hex stays as it is when it already decodes to the section's value: an unedited payload keeps its exact
    bytes (extensions the codec skips, non-canonical encodings), an edited one is encoded again.
    """
    if isinstance(node, list):
        return [_apply_sections(x, f"{path}[{i}]", kpm_version) for i, x in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out: dict[str, object] = {}
    sections: list[tuple[str, object]] = []
    for k, v in node.items():
        if k.endswith(_SECTION_SUFFIX):
            sections.append((k, v))
        else:
            out[k] = _apply_sections(v, f"{path}.{k}", kpm_version)
    for k, v in sections:
        base = k[: -len(_SECTION_SUFFIX)]
        spath = f"{path}.{k}"
        if base not in out:
            raise _bad(spath, f"an E2SM payload without the field {base!r} it decodes")
        if isinstance(v, dict) and "value" not in v:
            continue
        payload = _read_section(v, spath, kpm_version)
        if not _holds(out[base], payload):
            out[base] = _encode_payload(payload, spath).hex()
    return out


def _raw_bytes(doc: dict[str, Any], path: str) -> bytes:
    raw = doc["hex"]
    if not isinstance(raw, str) or _HEX.fullmatch(raw) is None:
        raise _bad(f"{path}.hex", "expected an even number of hex digits")
    return bytes.fromhex(raw)


def encode_document(
    doc: object,
    *,
    e2ap_version: E2apVersion | None = None,
    kpm_version: KpmVersion | None = None,
    path: str = "$",
    extra_keys: frozenset[str] = frozenset(),
) -> bytes:
    """The bytes a ``decode`` document describes (E2AP PDU, E2SM payload or raw bytes).

    ``e2ap_version`` and ``kpm_version`` override the versions recorded in the document. Anything wrong raises
    :class:`ConfigError` whose ``field`` is the JSON path.
    """
    if not isinstance(doc, dict):
        raise _bad(path, "expected an object")
    if "message" in doc:
        _check_keys(doc, _E2AP_KEYS | extra_keys, path, "an E2AP document")
        version = e2ap_version
        if version is None:
            version = _version(doc.get("e2ap_version", 2), f"{path}.e2ap_version", E2apVersion)
        mpath = f"{path}.message"
        msg = from_json(E2apMessage, _apply_sections(doc["message"], mpath, kpm_version), mpath)
        try:
            return encode_e2ap(msg, version)
        except E2ValueError as exc:
            where = f"{mpath}.{type(msg).__name__}" + (f".{exc.field}" if exc.field else "")
            raise _bad(where, f"cannot encode as E2AP v{int(version)}: {exc}") from exc
    if "kind" in doc:
        _check_keys(doc, _E2SM_KEYS | extra_keys, path, "an E2SM document")
        return _encode_payload(_read_section(doc, path, kpm_version), path)
    if "hex" in doc:
        _check_keys(doc, _RAW_KEYS | extra_keys, path, "a raw PDU")
        return _raw_bytes(doc, path)
    raise _bad(path, 'expected an E2AP document ("message"), an E2SM document ("kind") or raw bytes ("hex")')


def encode_capture(
    entries: object, *, e2ap_version: E2apVersion | None = None, kpm_version: KpmVersion | None = None
) -> list[tuple[int, bytes, str | None]]:
    """``(timestamp_ns, pdu, comment)`` for each entry of a decoded capture (a JSON array)."""
    if not isinstance(entries, list):
        raise _bad("$", "expected an array of capture entries")
    out = []
    for i, entry in enumerate(entries):
        path = f"$[{i}]"
        pdu = encode_document(
            entry, e2ap_version=e2ap_version, kpm_version=kpm_version, path=path, extra_keys=_ENTRY_KEYS
        )
        assert isinstance(entry, dict)
        ts = entry.get("timestamp_ns", 0)
        if type(ts) is not int or ts < 0:
            raise _bad(f"{path}.timestamp_ns", f"expected a non-negative integer, got {ts!r}")
        comment = entry.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise _bad(f"{path}.comment", "expected a string")
        out.append((ts, pdu, comment))
    return out


def pcapng_of(packets: list[tuple[int, bytes, str | None]]) -> bytes:
    """A pcapng capture of exported-PDU packets for Wireshark's ``e2ap`` dissector."""
    w = PcapngWriter()
    return w.header() + b"".join(w.packet(ts, exported_pdu(pdu), comment=comment) for ts, pdu, comment in packets)


# -- input -------------------------------------------------------------------------------------------------

_CAPTURE_MAGICS: Final = (
    b"\x0a\x0d\x0d\x0a",  # pcapng section header
    b"\xd4\xc3\xb2\xa1",  # pcap, microseconds, little-endian
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",  # pcap, nanoseconds
    b"\xa1\xb2\x3c\x4d",
)
_HEX_TEXT: Final = re.compile(rb"\s*(?:0[xX])?[0-9a-fA-F\s]*")


def detect_format(data: bytes) -> str:
    """``pcap`` for a pcap/pcapng capture, ``hex`` for hex text, ``bin`` otherwise."""
    if data[:4] in _CAPTURE_MAGICS:
        return "pcap"
    if data.strip() and _HEX_TEXT.fullmatch(data) is not None:
        return "hex"
    return "bin"


def parse_hex(text: str, param: str) -> bytes:
    """Bytes from hex text (whitespace ignored, an optional ``0x`` prefix); BadParameter naming ``param``."""
    compact = "".join(text.split())
    if compact[:2] in ("0x", "0X"):
        compact = compact[2:]
    if not compact:
        raise click.BadParameter("no hex digits", param_hint=param)
    if re.fullmatch(r"[0-9a-fA-F]*", compact) is None:
        bad = next(c for c in compact if c not in "0123456789abcdefABCDEF")
        raise click.BadParameter(f"not hex: {bad!r}", param_hint=param)
    if len(compact) % 2:
        raise click.BadParameter(f"odd number of hex digits ({len(compact)})", param_hint=param)
    return bytes.fromhex(compact)


def _read_input(path: str | None) -> bytes:
    if path is None or path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def _malformed(what: str, exc: E2DecodeError) -> None:
    click.echo(f"error: malformed {what}: {_error_text(exc)}", err=True)


def format_json(doc: JsonValue, width: int = 100) -> str:
    """``doc`` as indented JSON: an object or array whose line fits in ``width`` columns stays on one line, and
    so does an array of scalars (measurement records, id lists) of any length."""
    return _format(doc, "", 0, width)[1]


def _format(doc: JsonValue, indent: str, lead: int, width: int) -> tuple[str, str]:
    """(one-line form, formatted form) of ``doc``, built bottom-up so each value is serialised once; ``lead`` is
    how many columns precede it on its first line."""
    if isinstance(doc, dict) and doc:
        inner = indent + "  "
        keys = [_json_string(k) for k in doc]
        parts = [(k, _format(v, inner, len(inner) + len(k) + 2, width)) for k, v in zip(keys, doc.values())]
        flat = "{" + ", ".join(f"{k}: {f}" for k, (f, _) in parts) + "}"
        if lead + len(flat) <= width:
            return flat, flat
        return flat, "{\n" + ",\n".join(f"{inner}{k}: {p}" for k, (_, p) in parts) + f"\n{indent}}}"
    if isinstance(doc, list) and any(isinstance(x, dict | list) for x in doc):
        inner = indent + "  "
        items = [_format(x, inner, len(inner), width) for x in doc]
        flat = "[" + ", ".join(f for f, _ in items) + "]"
        if lead + len(flat) <= width:
            return flat, flat
        return flat, "[\n" + ",\n".join(inner + p for _, p in items) + f"\n{indent}]"
    flat = _scalar(doc)
    return flat, flat


def _scalar(x: JsonValue) -> str:
    if x is True:
        return "true"
    if x is False:
        return "false"
    if x is None:
        return "null"
    if isinstance(x, str):
        return _json_string(x)
    if isinstance(x, int):
        return str(x)
    return json.dumps(x, allow_nan=False)


def _echo_json(doc: JsonValue) -> None:
    click.echo(format_json(doc))


def _usage(exc: ConfigError) -> NoReturn:
    raise click.UsageError(str(exc)) from exc


# -- commands ---------------------------------------------------------------------------------------------

_KIND_NAMES: Final = tuple(KINDS)


@click.group()
def e2() -> None:
    """Decode and encode E2AP PDUs and E2SM payloads (JSON <-> bytes)."""


@e2.command()
@click.argument(
    "input_path", metavar="[INPUT]", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option("--hex", "hex_text", metavar="HEX", help="The bytes as hex on the command line instead of INPUT.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "hex", "bin", "pcap"]),
    default="auto",
    show_default=True,
    help="What INPUT (or stdin) holds; auto recognises pcap/pcapng and hex text.",
)
@click.option(
    "--sm",
    type=click.Choice(["auto", "kpm", "rc", "none"]),
    default="auto",
    show_default=True,
    help="Service model of the E2SM payloads (none: leave them as hex).",
)
@click.option("--version", "kpm_version", type=click.Choice(["2", "3"]), help="Force the E2SM-KPM version.")
@click.option("--kind", type=click.Choice(_KIND_NAMES), help="Decode an E2SM payload of this kind, not an E2AP PDU.")
@click.option(
    "--ts-octets", type=click.Choice(["4", "8"]), help="E2SM-KPM TimeStamp size to try first (the other follows)."
)
def decode(
    input_path: str | None,
    hex_text: str | None,
    fmt: str,
    sm: str,
    kpm_version: str | None,
    kind: str | None,
    ts_octets: str | None,
) -> None:
    """Decode an E2AP PDU (or, with --kind, an E2SM payload) to JSON.

    INPUT is a file holding binary, hex text or a pcap/pcapng capture ('-' or nothing: stdin). A capture gives a
    JSON array, one entry per E2AP PDU.
    """
    if input_path is not None and hex_text is not None:
        raise click.UsageError("give either INPUT or --hex, not both")
    if kind is not None:
        kind_sm = KINDS[kind].sm
        if sm == "none":
            raise click.BadParameter(f"--kind {kind} needs a service model, not none", param_hint="--sm")
        if sm not in ("auto", kind_sm):
            raise click.BadParameter(f"{kind} is an {_SM_TITLES[kind_sm]} payload, not {sm}", param_hint="--sm")
    if hex_text is not None:
        data = parse_hex(hex_text, "--hex")
        fmt = "pcap" if fmt == "pcap" or (fmt == "auto" and data[:4] in _CAPTURE_MAGICS) else "bin"
    else:
        data = _read_input(input_path)
        if not data:
            raise click.BadParameter("empty input", param_hint="INPUT")
        if fmt == "auto":
            fmt = detect_format(data)
        if fmt == "hex":
            data = parse_hex(data.decode("ascii", "replace"), "INPUT")
    options = DecodeOptions(
        sm, KpmVersion(int(kpm_version)) if kpm_version else None, int(ts_octets) if ts_octets else None
    )
    if fmt == "pcap":
        if kind is not None:
            raise click.UsageError("--kind decodes one E2SM payload; a capture holds E2AP PDUs")
        _decode_capture(data, options)
        return
    if kind is not None:
        try:
            doc = e2sm_document(kind, data, options)
        except E2DecodeError as exc:
            _malformed(f"{_SM_TITLES[KINDS[kind].sm]} {kind}", exc)
            sys.exit(1)
        _echo_json(doc)
        return
    try:
        doc = e2ap_document(data, options)
    except E2DecodeError as exc:
        _malformed("E2AP PDU", exc)
        sys.exit(1)
    _echo_json(doc)


def _decode_capture(data: bytes, options: DecodeOptions) -> None:
    entries: list[JsonValue] = []
    failed = False
    try:
        for entry in capture_documents(data, options):
            entries.append(entry)
            error = entry.get("error")
            if isinstance(error, dict):
                failed = True
                click.echo(f"error: malformed E2AP PDU in packet {entry['packet']}: {error['text']}", err=True)
    except CaptureError as exc:
        _echo_json(entries)
        click.echo(f"error: malformed capture: {exc}", err=True)
        sys.exit(1)
    _echo_json(entries)
    if failed:
        sys.exit(1)


@e2.command()
@click.argument(
    "input_path", metavar="[INPUT]", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, allow_dash=True), help="Write the bytes here.")
@click.option("--hex", "as_hex", is_flag=True, help="Write hex text (the default without --out).")
@click.option("--version", "kpm_version", type=click.Choice(["2", "3"]), help="E2SM-KPM version (overrides the JSON).")
@click.option("--e2ap-version", type=click.Choice(["2", "3"]), help="E2AP version (overrides the JSON).")
def encode(
    input_path: str | None, out_path: str | None, as_hex: bool, kpm_version: str | None, e2ap_version: str | None
) -> None:
    """Encode the JSON that 'decode' prints (file or stdin) back into bytes.

    Without --out, hex goes to stdout; with --out FILE, binary goes to FILE ('-': stdout) unless --hex. A JSON
    array (a decoded capture) becomes a pcapng capture, or one hex line per PDU.
    """
    raw = _read_input(input_path)
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="INPUT") from exc
    versions: dict[str, Any] = {
        "e2ap_version": E2apVersion(int(e2ap_version)) if e2ap_version else None,
        "kpm_version": KpmVersion(int(kpm_version)) if kpm_version else None,
    }
    hex_out = as_hex or out_path is None
    try:
        if isinstance(doc, list):
            packets = encode_capture(doc, **versions)
            output = "".join(pdu.hex() + "\n" for _, pdu, _ in packets).encode() if hex_out else pcapng_of(packets)
        else:
            pdu = encode_document(doc, **versions)
            output = (pdu.hex() + "\n").encode() if hex_out else pdu
    except ConfigError as exc:
        _usage(exc)
    if out_path is None or out_path == "-":
        click.echo(output, nl=False)
    else:
        with open(out_path, "wb") as f:
            f.write(output)
