"""Codec benchmarks: RICindication + E2SM-KPM decode, RICcontrolRequest + E2SM-RC slice quota encode.

Every case runs interleaved with the generic path a Python user has today: pycrate's compiled E2AP
(``pycrate_asn1dir.E2AP``) for the E2AP layer and asn1tools compiling the E2SM modules in ``tests/asn1/``.

Indications come from a stream of 50 distinct messages of one subscription: the measurement records, the
sequence number and the timestamp change every period, the measurement information list does not (as in every
period of a real subscription). "decode" ends with the user-visible values built: our frozen dataclasses, or
the baseline's nested dicts. The ``_no_memo`` variant turns off every cache of the KPM decoder (interning of
labels and information items, the memoised information-list tail), so each message is parsed and every object
built from scratch; it is reported for transparency, against the same targets.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pycrate_asn1dir import E2AP  # noqa: E402

from benchmarks._util import case, check_targets, interleaved  # noqa: E402
from benchmarks.baseline_xapp import generic_quota_message  # noqa: E402
from ricsdk.e2 import e2ap, kpm  # noqa: E402
from ricsdk.e2.common import Snssai  # noqa: E402
from ricsdk.e2.slice_quota import SliceQuota, SliceQuotaEncoder  # noqa: E402
from tests.reference import kpm_v2, rc  # noqa: E402

GROUP = "codec"
MEASUREMENTS = ("DRB.UEThpDl", "DRB.UEThpUl", "RRU.PrbUsedDl", "DRB.RlcSduDelayDl")
PLMN = b"\x00\xf1\x10"
_PDU = E2AP.E2AP_PDU_Descriptions.E2AP_PDU


def indication_stream(n_slices: int, n: int = 50) -> list[bytes]:
    """``n`` RICindication PDUs of one per-slice KPM subscription (format 1, sliceID labels)."""
    codec = kpm.KpmCodec()
    info = tuple(
        kpm.MeasInfoItem(m, (kpm.MeasLabel(slice_id=Snssai.of(1, s + 1)),))
        for s in range(n_slices)
        for m in MEASUREMENTS
    )
    enc = kpm.F1Encoder(info, 100)
    out = []
    for i in range(n):
        records = tuple((i * 7919 + j * 104729) % 5_000_000 for j in range(len(info)))
        header = codec.encode_indication_header(kpm.IndicationHeader((3_900_000_000 + i).to_bytes(4, "big")))
        out.append(
            e2ap.encode_e2ap(
                e2ap.RicIndication(
                    e2ap.RicRequestId(123, 7), 2, 1, e2ap.IndicationType.REPORT, header, enc.encode(records), sn=i
                )
            )
        )
    return out


def decode_ours(codec: kpm.KpmCodec) -> Callable[[bytes], Any]:
    def run(data: bytes) -> Any:
        ind = e2ap.decode_e2ap(data)
        assert isinstance(ind, e2ap.RicIndication)
        return ind, codec.decode_indication_header(ind.header), codec.decode_indication_message(ind.message)

    return run


def decode_generic(data: bytes) -> Any:
    _PDU.from_aper(data)
    pdu = _PDU.get_val()
    ies = {ie["id"]: ie["value"][1] for ie in pdu[1]["value"][1]["protocolIEs"]}
    spec = kpm_v2()
    return (
        pdu,
        spec.decode("E2SM-KPM-IndicationHeader", ies[25]),
        spec.decode("E2SM-KPM-IndicationMessage", ies[26]),
    )


def _cycle(fn: Callable[[bytes], Any], items: list[bytes]) -> Callable[[], Any]:
    it = itertools.cycle(items)
    return lambda: fn(next(it))


def _decode_case(n_slices: int, samples: int, memo: bool, target: dict[str, float]) -> dict[str, Any]:
    stream = indication_stream(n_slices)
    codec = kpm.KpmCodec()
    ours = decode_ours(codec)
    # Correctness first: both paths agree on every record of every message.
    for raw in stream:
        _, _, msg = ours(raw)
        _, _, gen = decode_generic(raw)
        assert isinstance(msg, kpm.IndicationMessageF1)
        generic_records = [v for _, v in gen["indicationMessage-formats"][1]["measData"][0]["measRecord"]]
        assert list(msg.meas_data[0].records) == generic_records
    kpm.set_interning(memo)
    try:
        a, b = interleaved(_cycle(ours, stream), _cycle(decode_generic, stream), samples, warmup=max(2, samples // 10))
    finally:
        kpm.set_interning(True)
    r = case("us", a, "pycrate E2AP + asn1tools E2SM-KPM", b, target, slices=n_slices, bytes=len(stream[0]))
    r["met"] = check_targets(r)
    return r


def control_quotas(n_slices: int, i: int) -> list[SliceQuota]:
    return [
        SliceQuota(PLMN, Snssai.of(1, s + 1), 2 + (i + s) % 10, 60 + (i + s) % 40, (i + s) % 3) for s in range(n_slices)
    ]


def _asn1_quota_message(quotas: list[SliceQuota], enc: SliceQuotaEncoder) -> bytes:
    """The same RC control message built as a generic asn1tools value (srsRAN parameter ids)."""
    return generic_quota_message(
        enc.ids,
        quotas[0].plmn if quotas else PLMN,
        [(q.snssai.sst, q.snssai.sd, q.min_ratio, q.max_ratio, q.dedicated_ratio) for q in quotas],
    )


def _encode_case(n_slices: int, samples: int) -> dict[str, Any]:
    enc = SliceQuotaEncoder()
    rid = e2ap.RicRequestId(123, 7)
    batches = [control_quotas(n_slices, i) for i in range(50)]
    header = enc.header
    asn1_header = rc().decode("E2SM-RC-ControlHeader", header)

    def ours(quotas: list[SliceQuota]) -> bytes:
        h, m = enc.encode(quotas)
        return e2ap.encode_e2ap(e2ap.RicControlRequest(rid, 3, h, m, b"\x00\x00\x00\x01", e2ap.ControlAckRequest.ACK))

    def generic(quotas: list[SliceQuota]) -> bytes:
        h = rc().encode("E2SM-RC-ControlHeader", asn1_header)
        m = _asn1_quota_message(quotas, enc)
        _PDU.set_val(
            (
                "initiatingMessage",
                {
                    "procedureCode": 4,
                    "criticality": "reject",
                    "value": (
                        "RICcontrolRequest",
                        {
                            "protocolIEs": [
                                {
                                    "id": 29,
                                    "criticality": "reject",
                                    "value": ("RICrequestID", {"ricRequestorID": 123, "ricInstanceID": 7}),
                                },
                                {"id": 5, "criticality": "reject", "value": ("RANfunctionID", 3)},
                                {"id": 20, "criticality": "reject", "value": ("RICcallProcessID", b"\x00\x00\x00\x01")},
                                {"id": 22, "criticality": "reject", "value": ("RICcontrolHeader", h)},
                                {"id": 23, "criticality": "reject", "value": ("RICcontrolMessage", m)},
                                {"id": 21, "criticality": "reject", "value": ("RICcontrolAckRequest", "ack")},
                            ]
                        },
                    ),
                },
            )
        )
        out: bytes = _PDU.to_aper()
        return out

    for quotas in batches:  # both paths produce the same bytes
        assert ours(quotas) == generic(quotas)
    it_a = itertools.cycle(batches)
    it_b = itertools.cycle(batches)
    a, b = interleaved(lambda: ours(next(it_a)), lambda: generic(next(it_b)), samples, warmup=max(2, samples // 10))
    r = case("us", a, "asn1tools E2SM-RC + pycrate E2AP", b, {"p50_max": 50, "ratio_min": 10}, slices=n_slices)
    r["met"] = check_targets(r)
    return r


def run(quick: bool) -> dict[str, Any]:
    samples = 3 if quick else 400
    big = 3 if quick else 200
    out: dict[str, Any] = {}
    out["decode_indication_kpm_8slices"] = _decode_case(8, samples, True, {"p50_max": 100, "ratio_min": 10})
    out["decode_indication_kpm_64slices"] = _decode_case(64, big, True, {"ratio_min": 10})
    per8 = out["decode_indication_kpm_8slices"]["p50"] / 8
    per64 = out["decode_indication_kpm_64slices"]["p50"] / 64
    growth = per64 / per8
    out["decode_indication_kpm_64slices"]["per_slice_cost_vs_8slices"] = round(growth, 3)
    out["decode_indication_kpm_64slices"]["target"]["per_slice_cost_vs_8slices_max"] = 1.0
    out["decode_indication_kpm_64slices"]["met"] = out["decode_indication_kpm_64slices"]["met"] and growth <= 1.0
    out["decode_indication_kpm_8slices_no_memo"] = _decode_case(8, samples, False, {"p50_max": 100, "ratio_min": 10})
    out["encode_control_rc_quota_8slices"] = _encode_case(8, samples)
    return out
