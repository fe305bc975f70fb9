"""The twin's E2 nodes, driven with raw E2AP over the in-memory transport: setup, reports, controls, batching."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ricsdk.e2 import e2ap, rc
from ricsdk.e2.common import Snssai
from ricsdk.e2.kpm import (
    KPM_OID_V2,
    KPM_OID_V3,
    F1Encoder,
    IndicationMessageF1,
    KpmCodec,
    KpmVersion,
    MeasInfoItem,
    MeasLabel,
    Missing,
)
from ricsdk.e2.slice_quota import (
    GAPLESS_QUOTA_IDS,
    SRSRAN_QUOTA_IDS,
    QuotaParamIds,
    SliceQuota,
    encode_slice_quotas,
    quota_control_header,
    quota_ids_from_ran_function,
)
from ricsdk.runtime.subscriptions import KpmSubscriptionSpec
from ricsdk.transport.base import Message
from ricsdk.transport.memory import MEID_ROUTE, MemoryHub, MemoryTransport
from ricsdk.twin import MEASUREMENTS, Twin, TwinConfig, load_scenario
from ricsdk.twin.batch import BatchF1Encoder, F1Template
from ricsdk.twin.node import ntp_timestamp
from ricsdk.twin.sim import M_PRB_DL, M_THP_DL

PLMN = b"\x00\xf1\x10"
SLICES = (Snssai.of(1, 1), Snssai.of(2, 2), Snssai.of(3, 3))


@dataclass
class Ric:
    """The RIC side of a started twin: sends raw E2AP requests and reads what comes back."""

    twin: Twin
    end: MemoryTransport
    it: AsyncIterator[Message]
    next_instance: int = 1

    async def request(self, node: str, mtype: int, pdu: bytes) -> e2ap.E2apMessage:
        await self.end.send(Message(mtype, pdu, meid=node))
        msg = await anext(self.it)
        return e2ap.decode_e2ap(msg.payload)

    async def subscribe(self, node: str, spec: KpmSubscriptionSpec) -> e2ap.E2apMessage:
        rid = e2ap.RicRequestId(123, self.next_instance)
        self.next_instance += 1
        return await self.request(node, 12010, e2ap.encode_e2ap(spec.request(rid)))

    async def control(self, node: str, header: bytes, message: bytes) -> e2ap.E2apMessage:
        req = e2ap.RicControlRequest(e2ap.RicRequestId(123, 1), 3, header, message, b"\x01", e2ap.ControlAckRequest.ACK)
        return await self.request(node, 12040, e2ap.encode_e2ap(req))

    async def indications(self) -> list[Message]:
        out = []
        while self.end.pending:
            out.append(await anext(self.it))
        return out


async def _ric(twin: Twin) -> Ric:
    hub = MemoryHub(clock_ns=twin.clock)
    node_end = hub.endpoint("twin", meids=twin.node_ids)
    ric = hub.endpoint("ric")
    for mtype in (12010, 12020, 12040):
        hub.add_route(mtype, MEID_ROUTE)
    hub.add_route(12050, "ric")
    await ric.start()
    await twin.start(node_end)
    return Ric(twin, ric, ric.__aiter__())


@pytest.fixture
async def ric() -> AsyncIterator[Ric]:
    twin = Twin(load_scenario("flash_crowd"))
    r = await _ric(twin)
    yield r
    await twin.aclose()
    await r.end.aclose()


def _spec(node: str = "cell-001", period_ms: int = 100, **kw: object) -> KpmSubscriptionSpec:
    return KpmSubscriptionSpec("kpm", node, MEASUREMENTS, SLICES, period_ms=period_ms, **kw)  # type: ignore[arg-type]


def _decode(msg: Message, version: KpmVersion = KpmVersion.V2) -> tuple[e2ap.RicIndication, IndicationMessageF1]:
    ind = e2ap.decode_e2ap(msg.payload)
    assert isinstance(ind, e2ap.RicIndication)
    body = KpmCodec(version).decode_indication_message(ind.message)
    assert isinstance(body, IndicationMessageF1)
    return ind, body


# -- E2 setup -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "oid"), [(KpmVersion.V2, KPM_OID_V2), (KpmVersion.V3, KPM_OID_V3)])
@pytest.mark.parametrize("ids", [SRSRAN_QUOTA_IDS, GAPLESS_QUOTA_IDS])
async def test_e2_setup_announces_kpm_and_rc_with_the_quota_action(
    version: KpmVersion, oid: str, ids: QuotaParamIds
) -> None:
    twin = Twin(load_scenario("steady"), TwinConfig(kpm_version=version, quota_ids=ids))
    ric = await _ric(twin)
    try:
        setup = e2ap.decode_e2ap(twin.nodes["cell-002"].setup_request())
        assert isinstance(setup, e2ap.E2setupRequest)
        assert isinstance(setup.global_e2node_id, e2ap.GnbE2NodeId)
        assert setup.global_e2node_id.global_gnb.plmn == PLMN
        assert setup.global_e2node_id.global_gnb.gnb_id.value == 2
        kpm_fn, rc_fn = setup.ran_functions
        assert (kpm_fn.id, kpm_fn.oid, rc_fn.id, rc_fn.oid) == (2, oid, 3, rc.RC_OID)
        desc = KpmCodec(version).decode_ran_function_description(kpm_fn.definition)
        assert desc.name.e2sm_oid == oid
        assert tuple(m.name for m in desc.report_styles[0].meas_info_action) == MEASUREMENTS
        definition = rc.decode_ran_function_definition(rc_fn.definition)
        assert definition.control_action(2, 6) is not None
        assert quota_ids_from_ran_function(definition) == ids
    finally:
        await twin.aclose()
        await ric.end.aclose()


# -- reports ------------------------------------------------------------------------------------------------


async def test_indications_carry_the_ticks_per_slice_values_in_the_requested_layout(ric: Ric) -> None:
    spec = KpmSubscriptionSpec(
        "kpm",
        "cell-003",
        ("DRB.UEThpDl", "RRU.PrbUsedDl", "DRB.NotATwinMeasurement"),
        (SLICES[1], Snssai.of(9)),
        period_ms=100,
    )
    answer = await ric.subscribe("cell-003", spec)
    assert isinstance(answer, e2ap.RicSubscriptionResponse)
    result = await ric.twin.step()
    (msg,) = await ric.indications()
    assert (msg.mtype, msg.meid, msg.sub_id) == (12050, "cell-003", 1)
    ind, body = _decode(msg)
    assert ind.sn == 1
    assert [i.labels[0].slice_id for i in body.meas_info] == [SLICES[1]] * 3 + [Snssai.of(9)] * 3
    m = result.measurements[2, 1]
    assert body.meas_data[0].records == (
        round(m[M_THP_DL]),
        round(m[M_PRB_DL]),
        Missing.NO_VALUE,
        Missing.NO_VALUE,
        Missing.NO_VALUE,
        Missing.NO_VALUE,
    )
    header = KpmCodec(KpmVersion.V2).decode_indication_header(ind.header)
    assert header.collect_start_time == ntp_timestamp(result.start_ns, 4)


async def test_batched_and_one_by_one_indications_are_identical() -> None:
    pdus = []
    for batch in (True, False):
        twin = Twin(load_scenario("steady"))
        ric = await _ric(twin)
        for node in twin.node_ids:
            await ric.subscribe(node, _spec(node))
        if not batch:
            for node in twin.nodes.values():
                node.batchable = False
                node._plans.clear()
        for _ in range(3):
            await twin.step()
        pdus.append([m.payload for m in await ric.indications()])
        await twin.aclose()
    assert len(pdus[0]) == 3 * 6
    assert pdus[0] == pdus[1]


async def test_a_longer_period_reports_the_mean_of_its_ticks(ric: Ric) -> None:
    await ric.subscribe("cell-001", _spec(period_ms=300))
    results = [await ric.twin.step() for _ in range(6)]
    msgs = await ric.indications()
    assert len(msgs) == 2  # after ticks 3 and 6
    _, body = _decode(msgs[1])
    mean_thp = np.mean([r.measurements[0, 0, M_THP_DL] for r in results[3:]])
    assert body.meas_data[0].records[0] == round(mean_thp)
    assert body.granul_period == 300


async def test_a_period_that_is_not_a_whole_number_of_ticks_is_refused(ric: Ric) -> None:
    answer = await ric.subscribe("cell-001", _spec(period_ms=250))
    assert isinstance(answer, e2ap.RicSubscriptionFailure)
    assert answer.cause == e2ap.Cause.of("ricRequest", "action-not-supported")


async def test_kpm_v3_nodes_send_64_bit_timestamps() -> None:
    twin = Twin(load_scenario("steady"), TwinConfig(kpm_version=KpmVersion.V3))
    ric = await _ric(twin)
    try:
        await ric.subscribe("cell-001", _spec(kpm_version=KpmVersion.V3))
        r = await twin.step()
        ind, _ = _decode((await ric.indications())[0], KpmVersion.V3)
        header = KpmCodec(KpmVersion.V3).decode_indication_header(ind.header)
        assert len(header.collect_start_time) == 8
        assert header.collect_start_unix == pytest.approx(r.start_ns / 1e9)
    finally:
        await twin.aclose()


async def test_real_values_are_reported_as_reals() -> None:
    twin = Twin(load_scenario("steady"), TwinConfig(real_values=True))
    ric = await _ric(twin)
    try:
        await ric.subscribe("cell-001", _spec())
        r = await twin.step()
        _, body = _decode((await ric.indications())[0])
        assert body.meas_data[0].records[0] == pytest.approx(r.measurements[0, 0, M_THP_DL], abs=1e-3)
        assert isinstance(body.meas_data[0].records[0], float)
    finally:
        await twin.aclose()


# -- controls -------------------------------------------------------------------------------------------------


async def test_a_quota_control_is_acknowledged_and_applies_from_the_next_tick(ric: Ric) -> None:
    await ric.twin.step()
    header, message = encode_slice_quotas([SliceQuota(PLMN, SLICES[0], 5, 10, 0)])
    answer = await ric.control("cell-004", header, message)
    assert isinstance(answer, e2ap.RicControlAcknowledge)
    assert answer.call_process_id == b"\x01"
    sim = ric.twin.sim
    assert sim.quotas.in_force(3, 0) == (0, 100, 0)
    r = await ric.twin.step()
    assert sim.quotas.in_force(3, 0) == (5, 10, 0)
    assert r.measurements[3, 0, M_PRB_DL] <= 10.0 + 1e-9


def _raw_quota(ids: QuotaParamIds, snssai: Snssai, mn: int, mx: int, dd: int, plmn: bytes = PLMN) -> bytes:
    """An RC control message for one slice with any ratios (SliceQuota itself refuses min > max)."""
    p, ef = rc.RanParameter, rc.ElementFalse
    member = rc.Structure(
        (
            p(ids.plmn_identity, ef(plmn)),
            p(ids.s_nssai, rc.Structure((p(ids.sst, ef(snssai.sst)), p(ids.sd, ef(snssai.sd))))),
        )
    )
    policy = rc.Structure(
        (p(ids.rrm_policy_member_list, rc.StructureList((rc.Structure((p(ids.rrm_policy_member, member),)),))),)
    )
    group = rc.Structure(
        (
            p(ids.rrm_policy, policy),
            p(ids.min_prb_policy_ratio, ef(mn)),
            p(ids.max_prb_policy_ratio, ef(mx)),
            p(ids.dedicated_prb_policy_ratio, ef(dd)),
        )
    )
    entry = rc.Structure((p(ids.rrm_policy_ratio_group, group),))
    return rc.encode_control_message(
        rc.ControlMessageFormat1((p(ids.rrm_policy_ratio_list, rc.StructureList((entry,))),))
    )


@pytest.mark.parametrize(
    "case",
    ["min_above_max", "dedicated_over_100_with_the_quotas_in_force", "unknown_slice", "other_plmn", "not_a_quota"],
)
async def test_invalid_quota_controls_are_refused_with_a_cause(ric: Ric, case: str) -> None:
    header = rc.encode_control_header(quota_control_header())
    ids = SRSRAN_QUOTA_IDS
    if case == "min_above_max":
        message = _raw_quota(ids, SLICES[0], 50, 20, 0)
    elif case == "dedicated_over_100_with_the_quotas_in_force":
        ok = await ric.control("cell-001", *encode_slice_quotas([SliceQuota(PLMN, SLICES[0], 70, 100, 70)]))
        assert isinstance(ok, e2ap.RicControlAcknowledge)
        message = encode_slice_quotas([SliceQuota(PLMN, SLICES[1], 40, 100, 40)])[1]
    elif case == "unknown_slice":
        message = encode_slice_quotas([SliceQuota(PLMN, Snssai.of(7, 7), 10, 20, 0)])[1]
    elif case == "other_plmn":
        message = _raw_quota(ids, SLICES[0], 10, 20, 0, plmn=b"\x00\xf2\x20")
    else:
        message = b"\x00\x01\x02"
    before = ric.twin.sim.quotas.pending.copy()
    answer = await ric.control("cell-001", header, message)
    assert isinstance(answer, e2ap.RicControlFailure)
    assert answer.cause == e2ap.Cause.of("ricRequest", "control-message-invalid")
    assert ric.twin.sim.quotas.pending == before
    await ric.twin.step()
    assert ric.twin.sim.quotas.in_force(0, 1) == (0, 100, 0)


async def test_requests_for_an_unknown_node_are_counted(ric: Ric) -> None:
    await ric.twin.handle(Message(12040, b"\x00", meid="cell-999"))
    assert ric.twin.stats.unknown_node == 1


# -- the batch encoder -------------------------------------------------------------------------------------------


INFO = tuple(MeasInfoItem(m, (MeasLabel(slice_id=s),)) for s in SLICES for m in MEASUREMENTS)


@given(
    st.lists(
        st.lists(st.integers(0, 2**32 - 1), min_size=len(INFO), max_size=len(INFO)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([None, 100, 1000]),
    st.sampled_from(list(KpmVersion)),
)
def test_batch_encoder_matches_f1encoder_byte_for_byte(
    rows: list[list[int]], granul: int | None, v: KpmVersion
) -> None:
    enc = F1Encoder(INFO, granul, v)
    out = BatchF1Encoder().encode(F1Template(enc, len(INFO)), np.array(rows, dtype=np.int64))
    assert out == [enc.encode(tuple(r)) for r in rows]


@given(st.integers(1, 300))
def test_batch_templates_fit_any_record_count(n: int) -> None:
    info = tuple(MeasInfoItem(f"m{i}") for i in range(n))
    enc = F1Encoder(info, 100)
    values = np.arange(n, dtype=np.int64)[None, :] * 997
    assert BatchF1Encoder().encode(F1Template(enc, n), values) == [enc.encode(tuple(values[0].tolist()))]
