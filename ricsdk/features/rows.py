"""Stable row ids for (E2 node, cell, slice) keys."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
from numpy.typing import NDArray

from ricsdk.errors import ConfigError

__all__ = ["RowIndex"]


class RowIndex:
    """Maps keys to dense row ids ``0, 1, 2, ...`` in order of first sight; an id never changes.

    ``capacity`` is the number of rows the owner's arrays should hold; it starts at ``initial_rows`` and doubles
    whenever a new key would not fit, so arrays sized by it are reallocated O(log n) times in total and never on
    an update that brings no new key.
    """

    __slots__ = ("_ids", "_keys", "_capacity")

    def __init__(self, initial_rows: int = 64) -> None:
        if type(initial_rows) is not int or initial_rows < 1:
            raise ConfigError(f"initial_rows must be an int >= 1, not {initial_rows!r}", field="initial_rows")
        self._ids: dict[Hashable, int] = {}
        self._keys: list[Hashable] = []
        self._capacity = initial_rows

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    @property
    def capacity(self) -> int:
        return self._capacity

    def get(self, key: Hashable) -> int | None:
        """The row of ``key``, or None when it was never seen (nothing is allocated)."""
        return self._ids.get(key)

    def row(self, key: Hashable) -> int:
        """The row of ``key``, allocated on first sight."""
        rid = self._ids.get(key)
        if rid is None:
            rid = len(self._keys)
            self._ids[key] = rid
            self._keys.append(key)
            while rid >= self._capacity:
                self._capacity *= 2
        return rid

    def rows(self, keys: Iterable[Hashable]) -> NDArray[np.intp]:
        """The rows of ``keys``, in order, allocating the new ones."""
        ids = self._ids
        row = self.row
        return np.fromiter((ids[k] if k in ids else row(k) for k in keys), dtype=np.intp)

    def key(self, row: int) -> Hashable:
        """The key that owns ``row`` (IndexError for a row never allocated)."""
        if row < 0:
            raise IndexError(row)
        return self._keys[row]

    def keys(self) -> list[Hashable]:
        """Every key, by row id."""
        return list(self._keys)
