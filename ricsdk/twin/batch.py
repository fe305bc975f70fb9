"""KPM format-1 indication messages for many subscriptions at once, byte-identical to :class:`F1Encoder`.

Theory of operation
-------------------
:class:`~ricsdk.e2.kpm.F1Encoder` writes a message as a fixed *prefix* (format choice and presence bits, one
measurement data item, the record count), the records, and a fixed *tail* (the measurement information list and
granularity period, encoded once per subscription). An integer record ``v`` (0..2**32-1) is one octet
``(k - 1) << 3`` followed by the ``k`` big-endian octets of ``v`` (``k`` = 1..4, at least one).

A :class:`BatchF1Encoder` takes the prefix and tail from the subscription's own ``F1Encoder`` (it encodes
``n`` zero records and cuts the known record octets out, so the templates are F1Encoder's by construction) and
then encodes the records of every subscription that shares them in one pass of numpy operations: the octet count
of every value, a ``(rows, records, 5)`` octet array and a mask that keeps the length octet and the last ``k``
value octets, flattened in row order and cut at each row's length. The tests compare the output with
``F1Encoder.encode`` byte for byte. Rows that hold a value the integer form cannot carry (missing values, reals,
more than 16383 records) are left to ``F1Encoder``.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from ricsdk.e2.kpm import F1Encoder

__all__ = ["BatchF1Encoder", "F1Template"]

_MAX_RECORDS: Final = 16383


class F1Template:
    """The prefix and tail of one F1Encoder's messages with ``n`` records."""

    __slots__ = ("n", "prefix", "tail")

    def __init__(self, encoder: F1Encoder, n: int) -> None:
        if not 1 <= n <= _MAX_RECORDS:
            raise ValueError(f"{n} records do not fit a template (1..{_MAX_RECORDS})")
        probe = encoder.encode((0,) * n)
        head = 4 + (1 if n < 128 else 2)
        zeros = b"\x00\x00" * n
        if probe[head : head + 2 * n] != zeros:
            raise ValueError("the encoder's layout is not the one this template expects")
        self.n = n
        self.prefix = probe[:head]
        self.tail = probe[head + 2 * n :]


class BatchF1Encoder:
    """Encodes rows of integer records into format-1 messages (see the module docstring)."""

    def encode(self, template: F1Template, values: NDArray[np.int64]) -> list[bytes]:
        """One message per row of ``values`` (shape ``(rows, template.n)``, each value in 0..2**32-1)."""
        v = values.astype(np.uint64, copy=False)
        rows, n = v.shape
        if n != template.n:
            raise ValueError(f"rows hold {n} records, the template {template.n}")
        k = 1 + (v >= 1 << 8).astype(np.int64) + (v >= 1 << 16) + (v >= 1 << 24)
        octets = np.empty((rows, n, 5), dtype=np.uint8)
        octets[..., 0] = (k - 1) << 3
        octets[..., 1] = v >> np.uint64(24)
        octets[..., 2] = v >> np.uint64(16)
        octets[..., 3] = v >> np.uint64(8)
        octets[..., 4] = v
        keep = np.empty((rows, n, 5), dtype=bool)
        keep[..., 0] = True
        keep[..., 1] = k >= 4
        keep[..., 2] = k >= 3
        keep[..., 3] = k >= 2
        keep[..., 4] = True
        body = octets[keep].tobytes()
        ends = np.cumsum((k + 1).sum(axis=1)).tolist()
        prefix, tail = template.prefix, template.tail
        out = []
        start = 0
        for end in ends:
            out.append(prefix + body[start:end] + tail)
            start = end
        return out
