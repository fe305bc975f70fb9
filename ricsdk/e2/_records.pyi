"""Type stub of the C measurement-record fast path (``_records.c``)."""

from typing import Any

def int_records(data: bytes, pos: int, end: int, m: int, out: list[Any], /) -> int: ...
