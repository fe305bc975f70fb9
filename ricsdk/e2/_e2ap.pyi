"""Type stub of the C reader of RICindication / RICcontrolAcknowledge (``_e2ap.c``)."""

from typing import Any

def indication(pdu: bytes, /) -> tuple[Any, ...] | None: ...
def control_ack(pdu: bytes, /) -> tuple[Any, ...] | None: ...
def find_ies(pdu: bytes, wanted: tuple[int, ...], /) -> list[tuple[int, int] | None] | None: ...
def control_request(
    requestor: int, instance: int, function: int, header: bytes, message: bytes, cpid: bytes | None, ack: int, /
) -> bytes | None: ...
def quota_entries(
    head: bytes,
    plmn: bytes,
    rows: list[Any],
    snssai_type: type,
    with_sd: tuple[Any, ...],
    without_sd: tuple[Any, ...],
    /,
) -> bytes | None: ...
def control_ack_pdu(
    requestor: int, instance: int, function: int, cpid: bytes | None, outcome: bytes | None, /
) -> bytes | None: ...
