"""RMR route tables: parsing librmr's record format, and routing by (mtype, sub_id). Sans-I/O.

Theory of operation
-------------------
A route table arrives as newline-terminated text records, from the seed file (``RMR_SEED_RT``) or in Route
Manager messages (mtype 20), possibly spread over several messages. :class:`RouteTableLoader` consumes that
text and keeps librmr's state machine:

========================  ==================================================================================
record                    effect
========================  ==================================================================================
``newrt|start[|id]``      start a full table (entries empty, MEID map carried over); a table still in
                          progress is dropped and reported as rejected ("table not complete")
``newrt|end[|count]``     install it; with a count, the number of ``mse``/``rte``/``del`` records must match
``updatert|start[|id]``   start an update, a copy of the installed table; refused before any full table
``updatert|end[|count]``  install the update (same count rule)
``mse|mt[,snd..]|sid|g``  add an entry for (mt, sid); ``g`` is ``group;group..``, a group ``ep,ep..``;
                          ``%meid`` as the first group routes by the message's MEID
``rte|mt[,snd..]|g[|sid]`` the same with sub_id -1 unless a fourth field gives it
``del|mt[,snd..]|sid``    remove the entry for (mt, sid) from the table in progress
``meid_map|start[|id]``   start a MEID map update (a copy of the installed table, entries included)
``mme_ar|owner|m1 m2..``  the MEIDs are owned by ``owner`` (``host:port``)
``mme_del|m1 m2..``       forget those MEIDs
``meid_map|end[|n[|md5]]`` install; with a count, the number of ``mme_ar``/``mme_del`` records must match
========================  ==================================================================================

Syntax: fields are separated by ``|`` and the whitespace around each field is ignored; a ``#`` preceded by
whitespace starts a comment, a line whose first non-blank character is ``#`` is a comment, blank lines are
ignored, ``\\r`` and ``\\r\\n`` end records like ``\\n``. The text must end with a record terminator: an
unterminated last record may be truncated, so the whole text is refused. An entry whose message-type field
names senders (``mt,host:port,...``) is loaded only when one of them is us; endpoints that are us are left
out of the groups (nobody sends to itself). For a repeated (mtype, sub_id) the last entry wins.

A malformed record (wrong field count, a non-integer, a bad endpoint, a record type that does not exist)
does not stop parsing; the table in progress is marked broken and is rejected at its end record, with a
:class:`~ricsdk.errors.ConfigError` that names the line. ``feed`` returns :class:`TableInstalled` and
:class:`TableRejected` events; it never raises. :func:`parse_route_table` is the strict one-shot form.

Lookup (:meth:`RouteTable.select`): the exact key (mtype, sub_id) first, then (mtype, -1); no entry raises
:class:`~ricsdk.errors.NoEndpointError`. One endpoint is chosen per group (one copy of the message per
group), round-robin inside each group. The round-robin positions live in the table object and start at the
first endpoint, so selection is deterministic; a newly installed table starts over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from ricsdk.errors import ConfigError, NoEndpointError

__all__ = [
    "MEID_GROUP",
    "RouteEntry",
    "RouteTable",
    "RouteTableLoader",
    "TableEvent",
    "TableInstalled",
    "TableKind",
    "TableRejected",
    "parse_endpoint",
    "parse_route_table",
]

MEID_GROUP: Final = "%meid"
TableKind = Literal["route", "update", "meid_map"]
_BadRecord = Callable[[str], ConfigError]

_COMMENT = re.compile(r"[ \t]#")
_HOST = re.compile(r"^[A-Za-z0-9_.\-]+$")
_INT32_MIN: Final = -(1 << 31)
_INT32_MAX: Final = (1 << 31) - 1


def parse_endpoint(text: str) -> tuple[str, int]:
    """Split ``host:port`` (or ``[v6addr]:port``) into host and port; raises ``ValueError`` when invalid."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise ValueError(f"bad endpoint {text!r}: expected [address]:port")
        host, port_text = text[1:close], text[close + 2 :]
        if not host or not re.fullmatch(r"[0-9A-Fa-f:.%a-zA-Z]+", host):
            raise ValueError(f"bad endpoint {text!r}: bad IPv6 address")
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host or not _HOST.match(host):
            raise ValueError(f"bad endpoint {text!r}: expected host:port")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad endpoint {text!r}: port must be 1..65535")
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """The endpoints for one (mtype, sub_id): one or more round-robin groups, or routing by MEID."""

    mtype: int
    sub_id: int
    groups: tuple[tuple[str, ...], ...] = ()
    by_meid: bool = False


class RouteTable:
    """An installed route table plus MEID map, with the round-robin state used by :meth:`select`."""

    def __init__(
        self,
        entries: Mapping[tuple[int, int], RouteEntry] | None = None,
        meid_owners: Mapping[str, str] | None = None,
        *,
        table_id: str | None = None,
    ) -> None:
        self.table_id = table_id
        self._entries: dict[tuple[int, int], RouteEntry] = dict(entries or {})
        self._meid_owners: dict[str, str] = dict(meid_owners or {})
        self._rr: dict[tuple[int, int, int], int] = {}
        self._endpoints: frozenset[str] | None = None

    @property
    def entries(self) -> Mapping[tuple[int, int], RouteEntry]:
        return dict(self._entries)

    @property
    def meid_owners(self) -> Mapping[str, str]:
        return dict(self._meid_owners)

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, mtype: int, sub_id: int = -1) -> RouteEntry | None:
        """The entry for (mtype, sub_id), falling back to (mtype, -1); ``None`` when neither exists."""
        entry = self._entries.get((mtype, sub_id))
        if entry is None and sub_id != -1:
            entry = self._entries.get((mtype, -1))
        return entry

    def owner_of(self, meid: str) -> str | None:
        return self._meid_owners.get(meid)

    def endpoints(self) -> frozenset[str]:
        """Every endpoint named by an entry or as a MEID owner."""
        if self._endpoints is None:
            names = {ep for entry in self._entries.values() for group in entry.groups for ep in group}
            names.update(self._meid_owners.values())
            self._endpoints = frozenset(names)
        return self._endpoints

    def select(self, mtype: int, sub_id: int = -1, meid: str = "") -> tuple[str, ...]:
        """Endpoints to send one message to: one per group, round-robin inside each group.

        A ``%meid`` entry gives the owner of ``meid``. Raises :class:`~ricsdk.errors.NoEndpointError` when
        there is no entry, no endpoint in it, or no known owner for the MEID.
        """
        return tuple(group[0] for group in self.select_groups(mtype, sub_id, meid))

    def select_groups(self, mtype: int, sub_id: int = -1, meid: str = "") -> tuple[tuple[str, ...], ...]:
        """Like :meth:`select`, but each group is returned whole, rotated so its round-robin pick is first.

        A sender tries the first endpoint of each group and may fall back on the others in that order. The
        round-robin position advances once per call, whatever the sender then does.
        """
        entry = self.lookup(mtype, sub_id)
        if entry is None:
            raise NoEndpointError(mtype, sub_id)
        if entry.by_meid:
            owner = self._meid_owners.get(meid) if meid else None
            if owner is None:
                raise NoEndpointError(mtype, sub_id)
            return ((owner,),)
        chosen: list[tuple[str, ...]] = []
        for index, group in enumerate(entry.groups):
            if not group:
                continue
            key = (entry.mtype, entry.sub_id, index)
            position = self._rr.get(key, 0) % len(group)
            self._rr[key] = position + 1
            chosen.append(group[position:] + group[:position])
        if not chosen:
            raise NoEndpointError(mtype, sub_id)
        return tuple(chosen)


@dataclass(frozen=True, slots=True)
class TableInstalled:
    """A table (full, update or MEID map) was completed and is now :attr:`RouteTableLoader.active`."""

    kind: TableKind
    table_id: str | None
    table: RouteTable
    records: int


@dataclass(frozen=True, slots=True)
class TableRejected:
    """A table, or text outside any table, was refused; the installed table is unchanged."""

    kind: TableKind | None
    table_id: str | None
    error: ConfigError

    @property
    def reason(self) -> str:
        return str(self.error)


TableEvent = TableInstalled | TableRejected


@dataclass(slots=True)
class _Pending:
    kind: TableKind
    table_id: str | None
    entries: dict[tuple[int, int], RouteEntry]
    meid_owners: dict[str, str]
    updates: int = 0
    meid_updates: int = 0
    error: ConfigError | None = None
    start_line: str = ""
    notes: list[str] = field(default_factory=list)


class RouteTableLoader:
    """librmr's route table collector as a pure state machine: text records in, table events out.

    ``my_names`` are the ``host:port`` names this process answers to (its ``src`` name and ``ip:port``):
    they select sender-specific entries and are removed from endpoint groups.
    """

    def __init__(self, *, my_names: Iterable[str] = ()) -> None:
        self.my_names = frozenset(my_names)
        self.active: RouteTable | None = None
        self._pending: _Pending | None = None

    @property
    def in_progress(self) -> bool:
        return self._pending is not None

    def feed(self, text: str, *, source: str = "route table") -> list[TableEvent]:
        """Process the records in ``text``; returns what was installed or rejected, in order."""
        events: list[TableEvent] = []
        normalised = text.replace("\r\n", "\n").replace("\r", "\n")
        if normalised and not normalised.endswith("\n"):
            last = normalised.count("\n") + 1
            error = ConfigError(
                "last record is not newline-terminated (possibly truncated); text refused",
                source=source,
                field=f"line {last}",
            )
            return [TableRejected(kind=None, table_id=None, error=error)]
        for number, line in enumerate(normalised.split("\n")[:-1], start=1):
            self._record(line, source, number, events)
        return events

    def _record(self, line: str, source: str, number: int, events: list[TableEvent]) -> None:
        record = line.strip()
        if not record or record.startswith("#"):
            return
        comment = _COMMENT.search(record)
        if comment:
            record = record[: comment.start()].rstrip()
        fields = [f.strip() for f in record.split("|")]
        where = f"line {number}"
        try:
            self._dispatch(fields, where, source, events)
        except ConfigError as exc:
            if self._pending is not None:
                if self._pending.error is None:
                    self._pending.error = exc
            else:
                events.append(TableRejected(kind=None, table_id=None, error=exc))

    def _dispatch(self, fields: list[str], where: str, source: str, events: list[TableEvent]) -> None:
        kind = fields[0]

        def bad(message: str) -> ConfigError:
            return ConfigError(f"{kind} record: {message}", source=source, field=where)

        if kind in ("newrt", "updatert", "meid_map"):
            if len(fields) < 2:
                raise bad("missing start/end")
            action = fields[1]
            table_kind: TableKind = "route" if kind == "newrt" else "update" if kind == "updatert" else "meid_map"
            if action in ("start", "begin"):
                self._start(table_kind, fields[2] if len(fields) > 2 and fields[2] else None, where, source, events)
            elif action == "end":
                self._end(table_kind, fields[2:], where, source, events)
            else:
                raise bad(f"second field must be start or end, not {action!r}")
            return

        pending = self._pending
        if pending is None:
            raise bad("outside a table (no newrt|start, updatert|start or meid_map|start before it)")

        if kind in ("mse", "rte", "del"):
            pending.updates += 1
            if kind == "mse":
                if len(fields) < 4:
                    raise bad(f"needs 4 fields (mse|mtype[,sender]|sub_id|groups), got {len(fields)}")
                key_field, sub_id, groups_field = fields[1], _int(fields[2], "sub_id", bad), fields[3]
            elif kind == "rte":
                if len(fields) < 3:
                    raise bad(f"needs 3 fields (rte|mtype[,sender]|groups), got {len(fields)}")
                key_field, groups_field = fields[1], fields[2]
                sub_id = _int(fields[3], "sub_id", bad) if len(fields) > 3 and fields[3] else -1
            else:
                if len(fields) < 3:
                    raise bad(f"needs 3 fields (del|mtype[,sender]|sub_id), got {len(fields)}")
                key_field, sub_id, groups_field = fields[1], _int(fields[2], "sub_id", bad), ""
            mtype, senders = self._key(key_field, bad)
            if senders and not (set(senders) & self.my_names):
                return
            if kind == "del":
                pending.entries.pop((mtype, sub_id), None)
            else:
                pending.entries[(mtype, sub_id)] = self._entry(mtype, sub_id, groups_field, bad)
            return

        if kind == "mme_ar":
            if len(fields) < 3 or not fields[1] or not fields[2]:
                raise bad("needs 3 fields (mme_ar|owner|meid [meid...])")
            owner = fields[1]
            _endpoint(owner, bad)
            for meid in fields[2].split():
                pending.meid_owners[meid] = owner
            pending.meid_updates += 1
            return
        if kind == "mme_del":
            if len(fields) < 2 or not fields[1]:
                raise bad("needs 2 fields (mme_del|meid [meid...])")
            for meid in fields[1].split():
                pending.meid_owners.pop(meid, None)
            pending.meid_updates += 1
            return
        raise bad("unknown record type")

    def _start(self, kind: TableKind, table_id: str | None, where: str, source: str, events: list[TableEvent]) -> None:
        if self._pending is not None:
            old = self._pending
            error = ConfigError("table not complete", source=source, field=where)
            events.append(TableRejected(kind=old.kind, table_id=old.table_id, error=error))
            self._pending = None
        base = self.active
        if kind == "update" and base is None:
            error = ConfigError("updatert before any full table (newrt) was installed", source=source, field=where)
            events.append(TableRejected(kind=kind, table_id=table_id, error=error))
            return
        if kind == "route":
            entries: dict[tuple[int, int], RouteEntry] = {}
        else:
            entries = dict(base.entries) if base is not None else {}
        owners = dict(base.meid_owners) if base is not None else {}
        self._pending = _Pending(kind=kind, table_id=table_id, entries=entries, meid_owners=owners, start_line=where)

    def _end(self, kind: TableKind, rest: Sequence[str], where: str, source: str, events: list[TableEvent]) -> None:
        pending = self._pending
        if pending is None or pending.kind != kind:
            raise ConfigError(f"{kind} end without a matching start", source=source, field=where)
        self._pending = None
        if pending.error is not None:
            events.append(TableRejected(kind=kind, table_id=pending.table_id, error=pending.error))
            return
        counted = pending.meid_updates if kind == "meid_map" else pending.updates
        if rest and rest[0]:
            try:
                expected = int(rest[0])
            except ValueError:
                error = ConfigError(f"record count {rest[0]!r} is not an integer", source=source, field=where)
                events.append(TableRejected(kind=kind, table_id=pending.table_id, error=error))
                return
            if expected != counted:
                error = ConfigError(
                    f"missing table records: expected {expected} got {counted}", source=source, field=where
                )
                events.append(TableRejected(kind=kind, table_id=pending.table_id, error=error))
                return
        table = RouteTable(pending.entries, pending.meid_owners, table_id=pending.table_id)
        self.active = table
        events.append(TableInstalled(kind=kind, table_id=pending.table_id, table=table, records=counted))

    def _key(self, key_field: str, bad: _BadRecord) -> tuple[int, tuple[str, ...]]:
        parts = [p.strip() for p in key_field.split(",")]
        mtype = _int(parts[0], "mtype", bad)
        senders = tuple(p for p in parts[1:] if p)
        for sender in senders:
            _endpoint(sender, bad)
        return mtype, senders

    def _entry(self, mtype: int, sub_id: int, groups_field: str, bad: _BadRecord) -> RouteEntry:
        group_texts = [g.strip() for g in groups_field.split(";")]
        if not group_texts or not group_texts[0]:
            raise bad("no endpoint group")
        if group_texts[0] == MEID_GROUP:
            return RouteEntry(mtype=mtype, sub_id=sub_id, by_meid=True)
        groups: list[tuple[str, ...]] = []
        for text in group_texts:
            members: list[str] = []
            for name in (n.strip() for n in text.split(",")):
                if not name:
                    continue
                _endpoint(name, bad)
                if name not in self.my_names and name not in members:
                    members.append(name)
            if members:
                groups.append(tuple(members))
        return RouteEntry(mtype=mtype, sub_id=sub_id, groups=tuple(groups))


def _int(text: str, name: str, bad: _BadRecord) -> int:
    try:
        value = int(text)
    except ValueError:
        raise bad(f"{name} {text!r} is not an integer") from None
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise bad(f"{name} {value} is outside int32")
    return value


def _endpoint(text: str, bad: _BadRecord) -> None:
    try:
        parse_endpoint(text)
    except ValueError as exc:
        raise bad(str(exc)) from None


def parse_route_table(text: str, *, my_names: Iterable[str] = (), source: str = "route table") -> RouteTable:
    """Parse a whole table (a seed file) strictly: any rejection or no complete table raises ConfigError."""
    loader = RouteTableLoader(my_names=my_names)
    for event in loader.feed(text, source=source):
        if isinstance(event, TableRejected):
            raise event.error
    if loader.in_progress:
        raise ConfigError("table not complete: no end record", source=source)
    if loader.active is None:
        raise ConfigError("no route table (newrt|start ... newrt|end) found", source=source)
    return loader.active
