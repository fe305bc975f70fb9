"""Hypothesis strategies generating valid E2AP messages (every message type the codec supports)."""

from __future__ import annotations

from hypothesis import strategies as st

from ricsdk.e2 import e2ap as m
from ricsdk.e2.per import BitString

PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"

u16 = st.integers(0, 65535)
func_id = st.integers(0, 4095)
small_bytes = st.binary(min_size=0, max_size=40)
plmn = st.binary(min_size=3, max_size=3)
node_part = st.integers(0, 68719476735)


def bits(lengths: list[int]) -> st.SearchStrategy[BitString]:
    return st.sampled_from(lengths).flatmap(lambda n: st.integers(0, (1 << n) - 1).map(lambda v: BitString(v, n)))


request_id = st.builds(m.RicRequestId, u16, u16)
time_to_wait = st.sampled_from(list(m.TimeToWait))


@st.composite
def cause(draw: st.DrawFn, v3: bool = True) -> m.Cause:
    group = draw(st.sampled_from(list(m.CauseGroup)))
    root, ext = m._CAUSE_NAMES[group]
    n = len(root) + (len(ext) if v3 else 0)
    return m.Cause(group, draw(st.integers(0, n - 1)))


crit_diag = st.builds(
    m.CriticalityDiagnostics,
    st.none() | st.integers(0, 255),
    st.none() | st.sampled_from(list(m.TriggeringMessage)),
    st.none() | st.sampled_from(list(m.Criticality)),
    st.none() | request_id,
    st.lists(
        st.builds(
            m.CriticalityDiagnosticsItem,
            st.sampled_from(list(m.Criticality)),
            u16,
            st.sampled_from(list(m.TypeOfError)),
        ),
        max_size=4,
    ).map(tuple),
)

global_gnb = st.builds(m.GlobalGnbId, plmn, bits(list(range(22, 33))))
global_en_gnb = st.builds(m.GlobalEnGnbId, plmn, bits(list(range(22, 33))))
global_ng_enb = st.builds(m.GlobalNgEnbId, plmn, bits([18, 20, 21]))
global_enb = st.builds(m.GlobalEnbId, plmn, bits([18, 20, 21, 28]))

global_e2node = st.one_of(
    st.builds(m.GnbE2NodeId, global_gnb, st.none() | global_en_gnb, st.none() | node_part, st.none() | node_part),
    st.builds(m.EnGnbE2NodeId, global_en_gnb, st.none() | node_part, st.none() | node_part),
    st.builds(m.NgEnbE2NodeId, global_ng_enb, st.none() | global_enb, st.none() | node_part),
    st.builds(m.EnbE2NodeId, global_enb),
)

name150 = st.text(PRINTABLE, min_size=1, max_size=30)
component_id = st.one_of(
    st.builds(m.E2nodeComponentNg, name150),
    st.builds(m.E2nodeComponentXn, global_gnb | global_ng_enb),
    st.builds(m.E2nodeComponentE1, node_part),
    st.builds(m.E2nodeComponentF1, node_part),
    st.builds(m.E2nodeComponentW1, node_part),
    st.builds(m.E2nodeComponentS1, name150),
    st.builds(m.E2nodeComponentX2, st.none() | global_enb, st.none() | global_en_gnb),
)
interface_type = st.sampled_from(list(m.E2nodeComponentInterfaceType))


@st.composite
def subscription_request(draw: st.DrawFn, v3: bool = True) -> m.RicSubscriptionRequest:
    ids = draw(st.lists(st.integers(0, 255), min_size=1, max_size=5, unique=True))
    actions = tuple(
        m.ActionToBeSetup(
            i,
            draw(st.sampled_from(list(m.ActionType))),
            draw(st.none() | small_bytes),
            draw(
                st.none()
                | st.builds(
                    m.SubsequentAction,
                    st.sampled_from(list(m.SubsequentActionType)),
                    st.sampled_from(list(m.TimeToWait)),
                )
            ),
            draw(st.none() | st.integers(0, 255)) if v3 else None,
        )
        for i in ids
    )
    t8 = st.binary(min_size=8, max_size=8)
    return m.RicSubscriptionRequest(
        draw(request_id),
        draw(func_id),
        draw(small_bytes),
        actions,
        draw(st.none() | t8) if v3 else None,
        draw(st.none() | t8) if v3 else None,
    )


def messages(v3: bool = True) -> st.SearchStrategy[m.E2apMessage]:
    c = cause(v3)
    opt_bytes = st.none() | small_bytes
    return st.one_of(
        st.builds(
            m.RicIndication,
            request_id,
            func_id,
            st.integers(0, 255),
            st.sampled_from(list(m.IndicationType)),
            st.binary(max_size=300),
            st.binary(max_size=300),
            st.none() | u16,
            opt_bytes,
        ),
        st.builds(
            m.RicControlRequest,
            request_id,
            func_id,
            st.binary(max_size=300),
            st.binary(max_size=300),
            opt_bytes,
            st.none() | st.sampled_from(list(m.ControlAckRequest)),
        ),
        st.builds(m.RicControlAcknowledge, request_id, func_id, opt_bytes, opt_bytes),
        st.builds(m.RicControlFailure, request_id, func_id, c, opt_bytes, opt_bytes, st.none() | crit_diag),
        subscription_request(v3),
        st.builds(
            m.RicSubscriptionResponse,
            request_id,
            func_id,
            st.lists(st.integers(0, 255), min_size=1, max_size=16).map(tuple),
            st.lists(st.builds(m.ActionNotAdmitted, st.integers(0, 255), c), max_size=16).map(tuple),
        ),
        st.builds(m.RicSubscriptionFailure, request_id, func_id, c, st.none() | crit_diag),
        st.builds(m.RicSubscriptionDeleteRequest, request_id, func_id),
        st.builds(m.RicSubscriptionDeleteResponse, request_id, func_id),
        st.builds(m.RicSubscriptionDeleteFailure, request_id, func_id, c, st.none() | crit_diag),
        st.builds(
            m.E2setupRequest,
            st.integers(0, 255),
            global_e2node,
            st.lists(
                st.builds(m.RanFunction, func_id, small_bytes, func_id, st.text(PRINTABLE, min_size=1, max_size=40)),
                min_size=1,
                max_size=4,
            ).map(tuple),
            st.lists(
                st.builds(m.ComponentConfigAddition, interface_type, component_id, small_bytes, small_bytes),
                min_size=1,
                max_size=3,
            ).map(tuple),
        ),
        st.builds(
            m.E2setupResponse,
            st.integers(0, 255),
            st.builds(m.GlobalRicId, plmn, bits([20])),
            st.lists(
                st.builds(
                    m.ComponentConfigAdditionAck,
                    interface_type,
                    component_id,
                    st.sampled_from(list(m.UpdateOutcome)),
                    st.none() | c,
                ),
                min_size=1,
                max_size=3,
            ).map(tuple),
            st.lists(st.builds(m.RanFunctionIdItem, func_id, func_id), max_size=4).map(tuple),
            st.lists(st.builds(m.RanFunctionIdCause, func_id, c), max_size=4).map(tuple),
        ),
        st.builds(
            m.E2setupFailure,
            st.integers(0, 255),
            c,
            st.none() | st.sampled_from(list(m.SetupTimeToWait)),
            st.none() | crit_diag,
            st.none() | st.builds(m.TnlInformation, bits(list(range(1, 161))), st.none() | bits([16])),
        ),
        st.builds(
            m.ErrorIndication,
            st.none() | st.integers(0, 255),
            st.none() | request_id,
            st.none() | func_id,
            st.none() | c,
            st.none() | crit_diag,
        ),
    )
