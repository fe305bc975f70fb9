"""Slice-level PRB quotas: E2SM-RC Control Style 2 "Radio Resource Allocation Control", Action 6.

Theory of operation
-------------------
A :class:`SliceQuota` says what share of the cell's PRBs one slice (PLMN + S-NSSAI) gets: ``dedicated_ratio``
(PRBs reserved for it), ``min_ratio`` (prioritised, including the dedicated share) and ``max_ratio`` (the cap),
each a percentage 0..100 with ``dedicated <= min <= max`` (TS 28.541 RRMPolicyRatio). A set of quotas travels as
an RC control header (format 1: UE id, style 2, action 6) and an RC control message (format 1) holding the "RRM
Policy Ratio List" tree::

    RRM Policy Ratio List                       LIST, one entry per slice
      > RRM Policy Ratio Group                  STRUCTURE
        >> RRM Policy                           STRUCTURE
          >>> RRM Policy Member List            LIST, one entry
            >>>> RRM Policy Member              STRUCTURE
              >>>>> PLMN Identity               ELEMENT, OCTET STRING (3, BCD)
              >>>>> S-NSSAI                     STRUCTURE
                >>>>>> SST                     ELEMENT, OCTET STRING (1)
                >>>>>> SD                      ELEMENT, OCTET STRING (3), only when the slice has an SD
        >> Min PRB Policy Ratio                 ELEMENT, INTEGER 0..100
        >> Max PRB Policy Ratio                 ELEMENT, INTEGER 0..100
        >> Dedicated PRB Policy Ratio           ELEMENT, INTEGER 0..100

Each list entry is a structure wrapping the named structure (``{Ratio Group}``, ``{Member}``) and every element
is ``ElementFalse``, as srsRAN's reference xApp builds it. Decoding also accepts unwrapped entries, ``ElementTrue``
elements, several top-level ratio lists and a member list whose single entry holds the member.

Parameter ids. The RC specification numbers this tree, but the numbering in use differs: srsRAN (its gNB and
the OSC-based reference xApp) uses 1, 2, 3, 5, 6, ..., 13 ("4 is missing in the TS"), other code numbers it
1..12 without the gap. :class:`QuotaParamIds` holds the twelve ids; :data:`SRSRAN_QUOTA_IDS` and
:data:`GAPLESS_QUOTA_IDS` are the two presets, and :func:`quota_ids_from_ran_function` takes them from what a node
announces in its RC RAN function definition (by parameter name), which is the reliable way.
**The default is** :data:`SRSRAN_QUOTA_IDS` (:data:`DEFAULT_QUOTA_IDS`): srsRAN's gNB is the open-source RAN people
actually run against the OSC Near-RT RIC, and its published xApp is the de facto reference for this action.
Decoding without explicit ids tries the default preset, then the gap-less one.

The control header needs a UE id even for this slice-level action; the default is srsRAN's
``gNB-DU-UEID {gNB-CU-UE-F1AP-ID 0}`` (:data:`DEFAULT_UE_ID`), configurable.

Hot path. :class:`SliceQuotaEncoder` precomputes the control header and, per id set, the encoding of one list
entry with its variable octets (PLMN, SST, SD, three ratios) located: every RAN parameter item of this tree starts
and ends on an octet boundary and the variable fields are fixed-size, so encoding N quotas is N byte-template fills.
The templates are derived from the generic RC encoder (two encodings with different values, compared) and are
checked against it in the tests, byte for byte.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Final

from ricsdk.e2.common import Snssai, UeId, UeIdGnbDu
from ricsdk.e2.rc import (
    ControlDecision,
    ControlHeaderFormat1,
    ControlMessageFormat1,
    ElementFalse,
    ElementTrue,
    RanFunctionDefinition,
    RanParameter,
    RanParameterInfo,
    RanParameterValue,
    Structure,
    StructureList,
    decode_control_header,
    decode_control_message,
    encode_control_header,
    encode_control_message,
)
from ricsdk.errors import ConfigError, E2DecodeError, E2ValueError

try:  # the entry loop of SliceQuotaEncoder.encode_rows in C (ricsdk/e2/_e2ap.c), when it was built
    from ricsdk.e2._e2ap import quota_entries as _fast_entries
except ImportError:  # pragma: no cover - built wherever a C compiler is
    _fast_entries = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_QUOTA_IDS",
    "DEFAULT_UE_ID",
    "GAPLESS_QUOTA_IDS",
    "PRB_QUOTA_ACTION_ID",
    "PRB_QUOTA_STYLE",
    "QUOTA_ID_PRESETS",
    "SRSRAN_QUOTA_IDS",
    "QuotaParamIds",
    "SliceQuota",
    "SliceQuotaEncoder",
    "decode_slice_quotas",
    "encode_slice_quotas",
    "quota_control_header",
    "quota_control_message",
    "quota_ids_from_ran_function",
    "slice_quotas_from_message",
]

#: RC Control Style 2, "Radio Resource Allocation Control".
PRB_QUOTA_STYLE: Final = 2
#: Control action 6 of style 2, "Slice-level PRB quota".
PRB_QUOTA_ACTION_ID: Final = 6
#: The UE id srsRAN's reference xApp sends with slice-level actions.
DEFAULT_UE_ID: Final = UeIdGnbDu(gnb_cu_ue_f1ap_id=0)

_MAX_PARAM_ID: Final = (1 << 32) - 1
_MAX_ENTRIES: Final = 65535


@dataclass(frozen=True, slots=True)
class SliceQuota:
    """The PRB quota of one slice: percentages with ``0 <= dedicated_ratio <= min_ratio <= max_ratio <= 100``.

    ``plmn`` is the 3-octet PLMN identity (see :func:`ricsdk.e2.common.plmn_from_str`). Integer-like ratios
    (numpy integers) are accepted and stored as ``int``.
    """

    plmn: bytes
    snssai: Snssai
    min_ratio: int
    max_ratio: int
    dedicated_ratio: int

    def __post_init__(self) -> None:
        if type(self.plmn) is not bytes or len(self.plmn) != 3:
            raise E2ValueError("must be 3 octets (bytes)", field="plmn", value=self.plmn)
        if type(self.snssai) is not Snssai:
            raise E2ValueError("must be an Snssai", field="snssai", value=self.snssai)
        for name in ("min_ratio", "max_ratio", "dedicated_ratio"):
            v = getattr(self, name)
            if type(v) is not int:
                if isinstance(v, (bool, float)):
                    raise E2ValueError("must be an int percentage 0..100", field=name, value=v)
                try:
                    v = operator.index(v)
                except TypeError:
                    raise E2ValueError("must be an int percentage 0..100", field=name, value=v) from None
                object.__setattr__(self, name, v)
            if not 0 <= v <= 100:
                raise E2ValueError("must be a percentage 0..100", field=name, value=v)
        if self.min_ratio > self.max_ratio:
            raise E2ValueError(
                f"min_ratio {self.min_ratio} exceeds max_ratio {self.max_ratio}",
                field="min_ratio",
                value=self.min_ratio,
            )
        if self.dedicated_ratio > self.min_ratio:
            raise E2ValueError(
                f"dedicated_ratio {self.dedicated_ratio} exceeds min_ratio {self.min_ratio} (dedicated PRBs are part "
                "of the prioritised share)",
                field="dedicated_ratio",
                value=self.dedicated_ratio,
            )

    @property
    def key(self) -> tuple[bytes, Snssai]:
        """What identifies the slice: ``(plmn, snssai)``."""
        return (self.plmn, self.snssai)


@dataclass(frozen=True, slots=True)
class QuotaParamIds:
    """The RAN parameter ids of the RRM Policy Ratio tree (twelve distinct ids, 1..4294967295)."""

    rrm_policy_ratio_list: int
    rrm_policy_ratio_group: int
    rrm_policy: int
    rrm_policy_member_list: int
    rrm_policy_member: int
    plmn_identity: int
    s_nssai: int
    sst: int
    sd: int
    min_prb_policy_ratio: int
    max_prb_policy_ratio: int
    dedicated_prb_policy_ratio: int

    def __post_init__(self) -> None:
        seen: dict[int, str] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if type(v) is not int or not 1 <= v <= _MAX_PARAM_ID:
                raise E2ValueError(f"must be an int 1..{_MAX_PARAM_ID}", field=f.name, value=v)
            if v in seen:
                raise E2ValueError(f"id {v} is used by {seen[v]} too", field=f.name, value=v)
            seen[v] = f.name


#: srsRAN's numbering (gNB and reference xApp): no id 4.
SRSRAN_QUOTA_IDS: Final = QuotaParamIds(1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13)
#: The gap-less numbering 1..12 used by other implementations.
GAPLESS_QUOTA_IDS: Final = QuotaParamIds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
#: The ids used when none are given: srsRAN's (see the module docstring).
DEFAULT_QUOTA_IDS: Final = SRSRAN_QUOTA_IDS
#: Presets by name, the default first.
QUOTA_ID_PRESETS: Final = {"srsran": SRSRAN_QUOTA_IDS, "gapless": GAPLESS_QUOTA_IDS}


# -- the generic tree ------------------------------------------------------------------------------------


def _entry(q: SliceQuota, ids: QuotaParamIds) -> Structure:
    """One RRM Policy Ratio List entry: ``{Ratio Group {Policy {Member List [{Member {PLMN, S-NSSAI}}]}, ratios}}``."""
    snssai = [RanParameter(ids.sst, ElementFalse(q.snssai.sst))]
    if q.snssai.sd is not None:
        snssai.append(RanParameter(ids.sd, ElementFalse(q.snssai.sd)))
    member = Structure(
        (
            RanParameter(ids.plmn_identity, ElementFalse(q.plmn)),
            RanParameter(ids.s_nssai, Structure(tuple(snssai))),
        )
    )
    member_list = StructureList((Structure((RanParameter(ids.rrm_policy_member, member),)),))
    policy = Structure((RanParameter(ids.rrm_policy_member_list, member_list),))
    group = Structure(
        (
            RanParameter(ids.rrm_policy, policy),
            RanParameter(ids.min_prb_policy_ratio, ElementFalse(q.min_ratio)),
            RanParameter(ids.max_prb_policy_ratio, ElementFalse(q.max_ratio)),
            RanParameter(ids.dedicated_prb_policy_ratio, ElementFalse(q.dedicated_ratio)),
        )
    )
    return Structure((RanParameter(ids.rrm_policy_ratio_group, group),))


def _message(entries: Sequence[Structure], ids: QuotaParamIds) -> ControlMessageFormat1:
    return ControlMessageFormat1((RanParameter(ids.rrm_policy_ratio_list, StructureList(tuple(entries))),))


def _check_count(n: int) -> None:
    if not 1 <= n <= _MAX_ENTRIES:
        raise E2ValueError(f"{n} quotas: a quota list holds 1..{_MAX_ENTRIES} slices", field="quotas", value=n)


def _check_list(n: int, distinct: int, total_min: int) -> None:
    """The checks on a whole quota list: each slice once, the min ratios adding up to at most 100."""
    if distinct != n:
        raise E2ValueError("a slice (plmn, snssai) appears more than once", field="quotas")
    if total_min > 100:
        raise E2ValueError(f"the min ratios add up to {total_min} % (> 100)", field="min_ratio", value=total_min)


def _check_quotas(quotas: Sequence[SliceQuota]) -> None:
    n = len(quotas)
    _check_count(n)
    keys = set()
    total_min = 0
    for q in quotas:
        if type(q) is not SliceQuota:
            raise E2ValueError("must be SliceQuota", field="quotas", value=q)
        keys.add((q.plmn, q.snssai))
        total_min += q.min_ratio
    _check_list(n, len(keys), total_min)


def quota_control_message(
    quotas: Sequence[SliceQuota], ids: QuotaParamIds = DEFAULT_QUOTA_IDS
) -> ControlMessageFormat1:
    """The RC control message (format 1) for ``quotas``, as a value tree (the generic path).

    Raises :class:`E2ValueError` for an empty list, a repeated slice or min ratios adding up past 100 %.
    """
    _check_quotas(quotas)
    return _message([_entry(q, ids) for q in quotas], ids)


def quota_control_header(ue_id: UeId = DEFAULT_UE_ID, decision: ControlDecision | None = None) -> ControlHeaderFormat1:
    """The RC control header (format 1) of a slice PRB quota request: style 2, action 6, for ``ue_id``."""
    return ControlHeaderFormat1(ue_id, PRB_QUOTA_STYLE, PRB_QUOTA_ACTION_ID, decision)


# -- reading quotas back ---------------------------------------------------------------------------------


class _Shape(Exception):
    """A control message whose tree is not a slice quota list (internal; leaves as E2DecodeError)."""


def _by_id(params: tuple[RanParameter, ...], where: str) -> dict[int, RanParameter]:
    out: dict[int, RanParameter] = {}
    for p in params:
        if p.id in out:
            raise _Shape(f"{where}: parameter {p.id} appears twice")
        out[p.id] = p
    return out


def _take(found: dict[int, RanParameter], pid: int, name: str, where: str) -> RanParameter:
    p = found.pop(pid, None)
    if p is None:
        raise _Shape(f"{where}: no {name} (parameter {pid})")
    return p


def _no_more(found: dict[int, RanParameter], where: str) -> None:
    if found:
        raise _Shape(f"{where}: unexpected parameter(s) {sorted(found)}")


def _structure(p: RanParameter, name: str) -> tuple[RanParameter, ...]:
    if type(p.value) is not Structure:
        raise _Shape(f"{name} (parameter {p.id}) is not a STRUCTURE")
    return p.value.params


def _list(p: RanParameter, name: str) -> tuple[Structure, ...]:
    if type(p.value) is not StructureList:
        raise _Shape(f"{name} (parameter {p.id}) is not a LIST")
    return p.value.items


def _element(p: RanParameter, name: str) -> RanParameterValue:
    v = p.value
    if (type(v) is ElementFalse or type(v) is ElementTrue) and v.value is not None:
        return v.value
    raise _Shape(f"{name} (parameter {p.id}) is not an element with a value")


def _octets(p: RanParameter, n: int, name: str) -> bytes:
    v = _element(p, name)
    if type(v) is not bytes or len(v) != n:
        raise _Shape(f"{name} (parameter {p.id}) is not an OCTET STRING of {n} octets")
    return v


def _ratio(p: RanParameter, name: str) -> int:
    v = _element(p, name)
    if type(v) is not int:
        raise _Shape(f"{name} (parameter {p.id}) is not an INTEGER")
    return v


def _unwrap(entry: Structure, wrapper_id: int, marker_id: int, name: str) -> list[tuple[RanParameter, ...]]:
    """The named structures a list entry holds: ``{wrapper_id: STRUCTURE}`` items, or the entry itself when it
    directly contains ``marker_id`` (the unwrapped form)."""
    params = entry.params
    if params and all(p.id == wrapper_id for p in params):
        return [_structure(p, name) for p in params]
    if any(p.id == marker_id for p in params):
        return [params]
    raise _Shape(f"a {name} list entry holds neither {name} (parameter {wrapper_id}) nor its contents")


def _quota_from_group(group: tuple[RanParameter, ...], ids: QuotaParamIds) -> SliceQuota:
    found = _by_id(group, "RRM Policy Ratio Group")
    policy = _by_id(
        _structure(_take(found, ids.rrm_policy, "RRM Policy", "RRM Policy Ratio Group"), "RRM Policy"), "RRM Policy"
    )
    mn = _ratio(
        _take(found, ids.min_prb_policy_ratio, "Min PRB Policy Ratio", "RRM Policy Ratio Group"), "Min PRB Policy Ratio"
    )
    mx = _ratio(
        _take(found, ids.max_prb_policy_ratio, "Max PRB Policy Ratio", "RRM Policy Ratio Group"), "Max PRB Policy Ratio"
    )
    dd = _ratio(
        _take(found, ids.dedicated_prb_policy_ratio, "Dedicated PRB Policy Ratio", "RRM Policy Ratio Group"),
        "Dedicated PRB Policy Ratio",
    )
    _no_more(found, "RRM Policy Ratio Group")
    member_list = _list(
        _take(policy, ids.rrm_policy_member_list, "RRM Policy Member List", "RRM Policy"), "RRM Policy Member List"
    )
    _no_more(policy, "RRM Policy")
    members = [
        m for e in member_list for m in _unwrap(e, ids.rrm_policy_member, ids.plmn_identity, "RRM Policy Member")
    ]
    if len(members) != 1:
        raise _Shape(f"an RRM Policy Ratio Group with {len(members)} members is not a single-slice quota")
    member = _by_id(members[0], "RRM Policy Member")
    plmn = _octets(_take(member, ids.plmn_identity, "PLMN Identity", "RRM Policy Member"), 3, "PLMN Identity")
    snssai = _by_id(_structure(_take(member, ids.s_nssai, "S-NSSAI", "RRM Policy Member"), "S-NSSAI"), "S-NSSAI")
    _no_more(member, "RRM Policy Member")
    sst = _octets(_take(snssai, ids.sst, "SST", "S-NSSAI"), 1, "SST")
    sd_p = snssai.pop(ids.sd, None)
    sd = None if sd_p is None else _octets(sd_p, 3, "SD")
    _no_more(snssai, "S-NSSAI")
    try:
        return SliceQuota(plmn, Snssai(sst, sd), mn, mx, dd)
    except E2ValueError as exc:
        raise _Shape(f"invalid quota: {exc}") from exc


def _quotas(params: tuple[RanParameter, ...], ids: QuotaParamIds) -> tuple[SliceQuota, ...]:
    if not params:
        raise _Shape("the control message holds no parameters")
    entries: list[Structure] = []
    for p in params:
        if p.id != ids.rrm_policy_ratio_list:
            raise _Shape(f"top-level parameter {p.id} is not the RRM Policy Ratio List ({ids.rrm_policy_ratio_list})")
        entries.extend(_list(p, "RRM Policy Ratio List"))
    out = []
    for e in entries:
        for group in _unwrap(e, ids.rrm_policy_ratio_group, ids.rrm_policy, "RRM Policy Ratio Group"):
            out.append(_quota_from_group(group, ids))
    return tuple(out)


def slice_quotas_from_message(
    message: ControlMessageFormat1, ids: QuotaParamIds | None = None
) -> tuple[SliceQuota, ...]:
    """Read the slice quotas of a decoded RC control message.

    With ``ids`` None, the presets are tried in order (:data:`QUOTA_ID_PRESETS`, the default first). A tree
    that is not a quota list under any of them raises :class:`E2DecodeError` saying why.
    """
    candidates = [ids] if ids is not None else list(QUOTA_ID_PRESETS.values())
    reasons = []
    for cand in candidates:
        try:
            return _quotas(message.params, cand)
        except _Shape as exc:
            reasons.append(str(exc))
    raise E2DecodeError("not a slice PRB quota list: " + "; or, with the other preset: ".join(reasons))


def decode_slice_quotas(header: bytes, message: bytes, ids: QuotaParamIds | None = None) -> tuple[SliceQuota, ...]:
    """RC control header + message bytes -> the slice quotas they set.

    The header must be style 2 / action 6. ``ids`` as in :func:`slice_quotas_from_message`.
    """
    h = decode_control_header(header)
    if h.ric_style_type != PRB_QUOTA_STYLE or h.ric_control_action_id != PRB_QUOTA_ACTION_ID:
        raise E2DecodeError(
            f"control style {h.ric_style_type} action {h.ric_control_action_id} is not the slice PRB quota "
            f"(style {PRB_QUOTA_STYLE}, action {PRB_QUOTA_ACTION_ID})",
            data=header,
        )
    msg = decode_control_message(message)
    try:
        return slice_quotas_from_message(msg, ids)
    except E2DecodeError as exc:
        raise E2DecodeError(exc.reason, data=message, path="E2SM-RC-ControlMessage") from exc


# -- the hot path: template fills ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Template:
    """One list entry's encoding with the offsets of PLMN (3), SST (1), SD (3, when present) and the ratios."""

    data: bytes
    plmn: int
    sst: int
    sd: int  # -1 without SD
    min: int
    max: int
    dedicated: int


def _derive_template(ids: QuotaParamIds, with_sd: bool) -> tuple[bytes, _Template]:
    """Derive the message head (up to the entry count) and one entry's template from the generic encoder."""
    sd_a, sd_b = (b"\x00\x00\x00", b"\xff\xff\xff") if with_sd else (None, None)
    qa = SliceQuota(b"\x00\x00\x00", Snssai(b"\x00", sd_a), 0, 0, 0)
    qb = SliceQuota(b"\xff\xff\xff", Snssai(b"\xff", sd_b), 100, 100, 100)
    one_a = encode_control_message(_message([_entry(qa, ids)], ids))
    one_b = encode_control_message(_message([_entry(qb, ids)], ids))
    two_a = encode_control_message(_message([_entry(qa, ids), _entry(qa, ids)], ids))
    size = len(two_a) - len(one_a)
    head = one_a[:-size]
    entry_a, entry_b = one_a[-size:], one_b[-size:]
    # the entries are octet-aligned and the count of entries is the last two octets before them
    if not (
        size > 0
        and len(one_b) == len(one_a)
        and one_b[:-size] == head
        and two_a == two_a[: len(head)] + entry_a + entry_a
        and two_a[: len(head) - 2] == head[:-2]
        and head[-2:] == b"\x00\x00"
        and two_a[len(head) - 2 : len(head)] == b"\x00\x01"
    ):
        raise AssertionError("slice quota template: the RC encoding is not octet-aligned as expected")
    diff = [i for i in range(size) if entry_a[i] != entry_b[i]]
    widths = (3, 1, 3, 1, 1, 1) if with_sd else (3, 1, 1, 1, 1)
    if len(diff) != sum(widths):
        raise AssertionError("slice quota template: unexpected variable octets")
    starts = []
    k = 0
    for w in widths:
        run = diff[k : k + w]
        if run != list(range(run[0], run[0] + w)):
            raise AssertionError("slice quota template: a variable field is not contiguous")
        starts.append(run[0])
        k += w
    if with_sd:
        plmn, sst, sd, mn, mx, dd = starts
    else:
        plmn, sst, mn, mx, dd = starts
        sd = -1
    return head[:-2], _Template(entry_a, plmn, sst, sd, mn, mx, dd)


class SliceQuotaEncoder:
    """Encodes slice quotas into (RC control header, RC control message) bytes on the near-RT hot path.

    Build one per (ids, UE id) and keep it; construction encodes the header and derives the entry templates
    once. The output is byte-identical to :func:`encode_control_header` / :func:`encode_control_message` of
    :func:`quota_control_header` / :func:`quota_control_message`.
    """

    __slots__ = ("_c_templates", "_entries", "_head", "_header", "_with_sd", "_without_sd", "ids", "ue_id")

    def __init__(
        self,
        ids: QuotaParamIds = DEFAULT_QUOTA_IDS,
        ue_id: UeId = DEFAULT_UE_ID,
        decision: ControlDecision | None = None,
    ) -> None:
        if type(ids) is not QuotaParamIds:
            raise E2ValueError("must be QuotaParamIds", field="ids", value=ids)
        self.ids = ids
        self.ue_id = ue_id
        self._header = encode_control_header(quota_control_header(ue_id, decision))
        self._head, self._with_sd = _derive_template(ids, True)
        head, self._without_sd = _derive_template(ids, False)
        if head != self._head:
            raise AssertionError("slice quota template: message heads differ")
        #: the two templates as the C entry loop takes them: (octets, plmn, sst, sd, min, max, dedicated offsets)
        self._c_templates = tuple(
            (t.data, t.plmn, t.sst, t.sd, t.min, t.max, t.dedicated) for t in (self._with_sd, self._without_sd)
        )
        #: (plmn, snssai, (min, max, dedicated)) -> that list entry's octets (validated when first built)
        self._entries: dict[tuple[bytes, Snssai, tuple[int, int, int]], bytes] = {}

    @property
    def header(self) -> bytes:
        """The encoded control header (constant for this encoder)."""
        return self._header

    def _entry(self, q: SliceQuota) -> bytes:
        """One list entry's octets: the template with the quota's fields filled in."""
        sd = q.snssai.sd
        t = self._without_sd if sd is None else self._with_sd
        out = bytearray(t.data)
        out[t.plmn : t.plmn + 3] = q.plmn
        out[t.sst] = q.snssai.sst[0]
        if sd is not None:
            out[t.sd : t.sd + 3] = sd
        out[t.min] = q.min_ratio
        out[t.max] = q.max_ratio
        out[t.dedicated] = q.dedicated_ratio
        return bytes(out)

    def encode_message(self, quotas: Sequence[SliceQuota]) -> bytes:
        """The encoded RC control message for ``quotas`` (validated as in :func:`quota_control_message`)."""
        _check_quotas(quotas)
        entry = self._entry
        return b"".join([self._head, (len(quotas) - 1).to_bytes(2, "big"), *(entry(q) for q in quotas)])

    def encode_rows(self, plmn: bytes, rows: Sequence[tuple[Snssai, tuple[int, int, int]]]) -> bytes:
        """The same octets as :meth:`encode_message` of ``[SliceQuota(plmn, snssai, *q) for snssai, q in rows]``,
        for a decision loop that repeats quotas: each distinct ``(plmn, snssai, q)`` entry is validated (as a
        :class:`SliceQuota`) and filled in once, then reused; the list-level checks (1..65535 entries, no slice
        twice, the min ratios adding up to at most 100) run on every call.
        """
        if _fast_entries is not None and type(rows) is list:
            # The same octets from C for plain rows (an Snssai and three ints that make a valid SliceQuota, up
            # to 64 distinct slices, min ratios within 100); anything else is encoded and checked below.
            out = _fast_entries(self._head, plmn, rows, Snssai, *self._c_templates)
            if out is not None:
                return out
        n = len(rows)
        _check_count(n)
        cache = self._entries
        parts = [self._head, (n - 1).to_bytes(2, "big")]
        total_min = 0
        for snssai, q in rows:
            key = (plmn, snssai, q)
            try:
                e = cache.get(key)
                keep = True
            except TypeError:  # unhashable (a bytearray PLMN, a list of ratios): validated below, not kept
                e, keep = None, False
            if e is None or not (type(q[0]) is type(q[1]) is type(q[2]) is int):  # 10.0 is not 10 here
                e = self._entry(SliceQuota(plmn, snssai, *q))
                if keep:
                    if len(cache) >= 1 << 16:
                        cache.clear()
                    cache[key] = e
            total_min += q[0]
            parts.append(e)
        _check_list(n, n if n == 1 else len({r[0] for r in rows}), total_min)
        return b"".join(parts)

    def encode(self, quotas: Sequence[SliceQuota]) -> tuple[bytes, bytes]:
        """``(control header, control message)`` for a RICcontrolRequest setting ``quotas``."""
        return self._header, self.encode_message(quotas)


@lru_cache(maxsize=32)
def _encoder(ids: QuotaParamIds, ue_id: UeId, decision: ControlDecision | None) -> SliceQuotaEncoder:
    return SliceQuotaEncoder(ids, ue_id, decision)


def encode_slice_quotas(
    quotas: Sequence[SliceQuota],
    ids: QuotaParamIds = DEFAULT_QUOTA_IDS,
    ue_id: UeId = DEFAULT_UE_ID,
    decision: ControlDecision | None = None,
) -> tuple[bytes, bytes]:
    """``(control header, control message)`` bytes setting ``quotas`` (encoders are cached per ids / UE id)."""
    return _encoder(ids, ue_id, decision).encode(quotas)


# -- parameter ids from what a node announces -------------------------------------------------------------

#: Accepted names per field, compared lower-case with everything but letters and digits removed.
_NAMES: Final = {
    "rrm_policy_ratio_list": ("rrmpolicyratiolist",),
    "rrm_policy_ratio_group": ("rrmpolicyratiogroup",),
    "rrm_policy": ("rrmpolicy",),
    "rrm_policy_member_list": ("rrmpolicymemberlist",),
    "rrm_policy_member": ("rrmpolicymember",),
    "plmn_identity": ("plmnidentity", "plmnid"),
    "s_nssai": ("snssai",),
    "sst": ("sst",),
    "sd": ("sd",),
    "min_prb_policy_ratio": ("minprbpolicyratio", "minimumprbpolicyratio"),
    "max_prb_policy_ratio": ("maxprbpolicyratio", "maximumprbpolicyratio"),
    "dedicated_prb_policy_ratio": ("dedicatedprbpolicyratio",),
}
_SPEC_NAMES: Final = {
    "rrm_policy_ratio_list": "RRM Policy Ratio List",
    "rrm_policy_ratio_group": "RRM Policy Ratio Group",
    "rrm_policy": "RRM Policy",
    "rrm_policy_member_list": "RRM Policy Member List",
    "rrm_policy_member": "RRM Policy Member",
    "plmn_identity": "PLMN Identity",
    "s_nssai": "S-NSSAI",
    "sst": "SST",
    "sd": "SD",
    "min_prb_policy_ratio": "Min PRB Policy Ratio",
    "max_prb_policy_ratio": "Max PRB Policy Ratio",
    "dedicated_prb_policy_ratio": "Dedicated PRB Policy Ratio",
}
_NOT_ALNUM: Final = re.compile(r"[^a-z0-9]")


def _walk(params: tuple[RanParameterInfo, ...], out: list[RanParameterInfo]) -> None:
    for p in params:
        out.append(p)
        if p.definition is not None:
            _walk(p.definition.params, out)


def quota_ids_from_ran_function(
    definition: RanFunctionDefinition,
    style: int = PRB_QUOTA_STYLE,
    action_id: int = PRB_QUOTA_ACTION_ID,
) -> QuotaParamIds:
    """The quota parameter ids a node announces for control style 2 / action 6, matched by name.

    Both the flat form (every parameter of the tree listed in ``ran-ControlActionParameters-List``, as srsRAN
    does) and nested ``ranParameter-Definition`` s are searched. "Min"/"Minimum" and "Max"/"Maximum" spellings are
    accepted. Raises :class:`ConfigError` when the action or any of the twelve names is missing (a node that only
    announces the top-level list needs an explicit preset), or when a name is announced with two different ids.
    """
    source = "E2SM-RC RAN function definition"
    action = definition.control_action(style, action_id)
    if action is None:
        offered = [(s.style_type, a.action_id) for s in definition.control for a in s.actions]
        raise ConfigError(
            f"no control style {style} action {action_id}; the node offers (style, action) {offered}", source=source
        )
    announced: list[RanParameterInfo] = []
    _walk(action.params, announced)
    by_name: dict[str, set[int]] = {}
    for p in announced:
        by_name.setdefault(_NOT_ALNUM.sub("", p.name.lower()), set()).add(p.id)
    found: dict[str, int] = {}
    missing = []
    for field, names in _NAMES.items():
        ids = set().union(*(by_name.get(n, set()) for n in names))
        if not ids:
            missing.append(_SPEC_NAMES[field])
        elif len(ids) > 1:
            raise ConfigError(f"'{_SPEC_NAMES[field]}' is announced with ids {sorted(ids)}", source=source)
        else:
            found[field] = ids.pop()
    if missing:
        names_seen = sorted({p.name for p in announced})
        raise ConfigError(
            f"style {style} action {action_id} does not announce {missing} (it announces {names_seen}); "
            "pass QuotaParamIds explicitly, e.g. SRSRAN_QUOTA_IDS or GAPLESS_QUOTA_IDS",
            source=source,
        )
    try:
        return QuotaParamIds(**found)
    except E2ValueError as exc:
        raise ConfigError(f"announced ids are unusable: {exc}", source=source) from exc
