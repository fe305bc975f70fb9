"""Route table parsing and lookup, following librmr's rt_tables.rst and rt_generic_static.c."""

from __future__ import annotations

import pytest

from ricsdk.errors import ConfigError, NoEndpointError
from ricsdk.rmr.routes import (
    RouteEntry,
    RouteTableLoader,
    TableInstalled,
    TableRejected,
    parse_endpoint,
    parse_route_table,
)

FIGURE_1 = """\
newrt | start | rt-0928
rte   | 2000  | logger:30311
mse   | 1000  | 10 | forwarder:43086
mse   | 1000  | 21 | app0:43086,app1:43086
newrt | end   | 3
"""


def test_basic_table_and_lookup_fallback_to_minus_one() -> None:
    table = parse_route_table(FIGURE_1)
    assert table.table_id == "rt-0928"
    assert table.lookup(2000) == RouteEntry(2000, -1, (("logger:30311",),))
    assert table.lookup(2000, 55) == RouteEntry(2000, -1, (("logger:30311",),))
    assert table.select(1000, 10) == ("forwarder:43086",)
    assert table.lookup(1000, 99) is None
    with pytest.raises(NoEndpointError) as info:
        table.select(1000, 99)
    assert (info.value.mtype, info.value.sub_id) == (1000, 99)


def test_exact_sub_id_wins_over_minus_one() -> None:
    table = parse_route_table("newrt|start\nmse|5|-1|a:1\nmse|5|7|b:2\nnewrt|end|2\n")
    assert table.select(5, 7) == ("b:2",)
    assert table.select(5, 8) == ("a:1",)
    assert table.select(5) == ("a:1",)


def test_round_robin_inside_a_group_is_deterministic() -> None:
    table = parse_route_table("newrt|start\nmse|1|-1|a:1,b:2,c:3\nnewrt|end\n")
    assert [table.select(1)[0] for _ in range(7)] == ["a:1", "b:2", "c:3", "a:1", "b:2", "c:3", "a:1"]


def test_one_copy_per_group() -> None:
    table = parse_route_table("newrt|start\nmse|1|-1|a:1,b:2;c:3;d:4,e:5\nnewrt|end\n")
    assert table.select(1) == ("a:1", "c:3", "d:4")
    assert table.select(1) == ("b:2", "c:3", "e:5")
    assert table.select_groups(1) == (("a:1", "b:2"), ("c:3",), ("d:4", "e:5"))


def test_count_mismatch_rejects_the_table_and_keeps_the_old_one() -> None:
    loader = RouteTableLoader()
    (ok,) = loader.feed("newrt|start|one\nmse|1|-1|a:1\nnewrt|end|1\n")
    assert isinstance(ok, TableInstalled)
    (bad,) = loader.feed("newrt|start|two\nmse|1|-1|b:1\nmse|2|-1|b:1\nnewrt|end|3\n", source="rm")
    assert isinstance(bad, TableRejected)
    assert bad.table_id == "two"
    assert "expected 3 got 2" in bad.reason
    assert bad.error.source == "rm" and bad.error.field == "line 4"
    assert loader.active is not None and loader.active.table_id == "one"


def test_rte_and_del_count_as_records() -> None:
    text = "newrt|start\nrte|1|a:1\nmse|2|-1|a:1\ndel|1|-1\nnewrt|end|3\n"
    table = parse_route_table(text)
    assert table.lookup(1) is None
    assert table.lookup(2) is not None


def test_rte_fourth_field_is_the_sub_id() -> None:
    table = parse_route_table("newrt|start\nrte|1|a:1|12\nnewrt|end|1\n")
    assert table.entries == {(1, 12): RouteEntry(1, 12, (("a:1",),))}


def test_updatert_only_after_a_full_table() -> None:
    loader = RouteTableLoader()
    events = loader.feed("updatert|start|u1\nmse|9|-1|z:9\nupdatert|end|1\n")
    assert isinstance(events[0], TableRejected)
    assert "before any full table" in events[0].reason
    assert loader.active is None
    loader.feed("newrt|start|full\nmse|1|-1|a:1\nmse|2|-1|a:1\nnewrt|end|2\n")
    (event,) = loader.feed("updatert|start|u2\nmse|3|-1|c:3\ndel|1|-1\nupdatert|end|2\n")
    assert isinstance(event, TableInstalled) and event.kind == "update"
    assert loader.active is not None
    assert set(loader.active.entries) == {(2, -1), (3, -1)}


def test_new_full_table_replaces_entries() -> None:
    loader = RouteTableLoader()
    loader.feed("newrt|start\nmse|1|-1|a:1\nnewrt|end\n")
    loader.feed("newrt|start\nmse|2|-1|a:1\nnewrt|end\n")
    assert loader.active is not None and set(loader.active.entries) == {(2, -1)}


def test_start_while_a_table_is_in_progress_rejects_the_first() -> None:
    loader = RouteTableLoader()
    events = loader.feed("newrt|start|a\nmse|1|-1|a:1\nnewrt|start|b\nmse|2|-1|b:2\nnewrt|end|1\n")
    assert [type(e) for e in events] == [TableRejected, TableInstalled]
    assert events[0].table_id == "a" and "table not complete" in events[0].reason
    assert loader.active is not None and set(loader.active.entries) == {(2, -1)}


def test_sender_filter_loads_entries_only_for_us_and_last_valid_wins() -> None:
    text = """\
newrt | start | rt-0928
rte | 2000 | logger:30311
mse | 1000 | 10 | forwarder:43086
mse | 1000,forwarder:43086 | 10 | app2:43086
mse | 1000 | -1 | app0:43086,app1:43086; logger:20311
newrt | end | 4
"""
    elsewhere = parse_route_table(text, my_names={"other:1"})
    assert elsewhere.select(1000, 10) == ("forwarder:43086",)
    forwarder = parse_route_table(text, my_names={"forwarder:43086"})
    assert forwarder.select(1000, 10) == ("app2:43086",)
    assert forwarder.select(1000) == ("app0:43086", "logger:20311")


def test_sender_list_may_name_several_senders() -> None:
    text = "newrt|start\nmse|7,x:1,me:5|-1|t:1\nnewrt|end|1\n"
    assert parse_route_table(text, my_names={"me:5"}).lookup(7) is not None
    assert parse_route_table(text, my_names={"y:2"}).lookup(7) is None


def test_endpoints_that_are_us_are_left_out() -> None:
    table = parse_route_table("newrt|start\nmse|1|-1|me:5,b:2;me:5\nnewrt|end\n", my_names={"me:5"})
    assert table.lookup(1) == RouteEntry(1, -1, (("b:2",),))


def test_comments_whitespace_and_blank_lines() -> None:
    text = (
        "# a full comment line\n"
        "   # indented comment\n"
        "\n"
        "\t newrt |start| id-1   # trailing comment\n"
        "mse|1|-1|a:1\t# tab then comment\n"
        "   \n"
        "  mse  |  2  |  -1  |  b:2 , c:3  ;  d:4  \n"
        "newrt|end|2 # two records\n"
    )
    table = parse_route_table(text)
    assert table.table_id == "id-1"
    assert table.lookup(2) == RouteEntry(2, -1, (("b:2", "c:3"), ("d:4",)))


def test_hash_not_preceded_by_whitespace_is_not_a_comment() -> None:
    with pytest.raises(ConfigError, match="line 2"):
        parse_route_table("newrt|start\nmse|1|-1|a:1#nope\nnewrt|end\n")


def test_crlf_and_cr_terminate_records() -> None:
    table = parse_route_table("newrt|start\r\nmse|1|-1|a:1\rmse|2|-1|a:1\r\nnewrt|end|2\r\n")
    assert len(table) == 2


def test_last_record_must_end_with_a_newline() -> None:
    loader = RouteTableLoader()
    (event,) = loader.feed("newrt|start\nmse|1|-1|a:1\nnewrt|end", source="seed.rt")
    assert isinstance(event, TableRejected)
    assert event.error.field == "line 3"
    assert "newline" in event.reason
    assert loader.active is None
    with pytest.raises(ConfigError, match="newline"):
        parse_route_table("newrt|start\nmse|1|-1|a:1\nnewrt|end")


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("mse|abc|-1|a:1", "mtype 'abc' is not an integer"),
        ("mse|1|x|a:1", "sub_id 'x' is not an integer"),
        ("mse|1|-1", "needs 4 fields"),
        ("mse|1|-1|nohostport", "expected host:port"),
        ("mse|1|-1|h:99999", "port must be"),
        ("mse|1|-1|", "no endpoint group"),
        ("rte|1", "needs 3 fields"),
        ("del|1", "needs 3 fields"),
        ("bogus|1|2", "unknown record type"),
        ("mse|1|99999999999|a:1", "outside int32"),
        ("mme_ar|a:1", "needs 3 fields"),
    ],
)
def test_bad_record_names_its_line(record: str, message: str) -> None:
    text = f"newrt|start|t\n{record}\nnewrt|end\n"
    with pytest.raises(ConfigError) as info:
        parse_route_table(text, source="seed.rt")
    assert message in str(info.value)
    assert info.value.source == "seed.rt"
    assert info.value.field == "line 2"


def test_bad_record_rejects_the_table_at_its_end() -> None:
    loader = RouteTableLoader()
    events = loader.feed("newrt|start|t\nmse|x|-1|a:1\nmse|2|-1|a:1\nnewrt|end\n")
    assert len(events) == 1 and isinstance(events[0], TableRejected)
    assert events[0].table_id == "t" and events[0].error.field == "line 2"


def test_records_outside_a_table_are_reported() -> None:
    loader = RouteTableLoader()
    (event,) = loader.feed("mse|1|-1|a:1\n")
    assert isinstance(event, TableRejected) and "outside a table" in event.reason
    (event,) = loader.feed("newrt|end|0\n")
    assert isinstance(event, TableRejected) and "without a matching start" in event.reason


def test_no_table_at_all_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no route table"):
        parse_route_table("# only a comment\n")
    with pytest.raises(ConfigError, match="no end record"):
        parse_route_table("newrt|start\nmse|1|-1|a:1\n")


SEED_WITH_MEID = """\
newrt|start | id-64306
mse|0|-1| %meid
mse|1|-1|172.19.0.2:4560
newrt|end

meid_map | start | id-028919
mme_ar| 172.19.0.2:4560 | meid000 meid001 meid002
mme_ar| 172.19.0.42:4560 | meid100 meid101
mme_del | meid001
meid_map | end | 3
"""


def test_meid_map_and_meid_routing() -> None:
    loader = RouteTableLoader()
    events = loader.feed(SEED_WITH_MEID)
    assert [(type(e).__name__, e.kind) for e in events] == [("TableInstalled", "route"), ("TableInstalled", "meid_map")]
    table = loader.active
    assert table is not None
    assert table.select(0, -1, "meid100") == ("172.19.0.42:4560",)
    assert table.select(0, 5, "meid000") == ("172.19.0.2:4560",)
    for meid in ("meid001", "unknown", ""):
        with pytest.raises(NoEndpointError):
            table.select(0, -1, meid)
    assert table.owner_of("meid002") == "172.19.0.2:4560"
    assert "172.19.0.42:4560" in table.endpoints()


def test_meid_map_count_mismatch_is_rejected() -> None:
    loader = RouteTableLoader()
    events = loader.feed(SEED_WITH_MEID.replace("meid_map | end | 3", "meid_map | end | 1"))
    assert isinstance(events[-1], TableRejected)
    assert loader.active is not None and loader.active.owner_of("meid000") is None


def test_meid_map_survives_a_new_full_table() -> None:
    loader = RouteTableLoader()
    loader.feed(SEED_WITH_MEID)
    loader.feed("newrt|start|next\nmse|0|-1|%meid\nnewrt|end|1\n")
    assert loader.active is not None
    assert loader.active.select(0, -1, "meid100") == ("172.19.0.42:4560",)


def test_meid_records_inside_a_route_table_count_separately() -> None:
    text = "newrt|start\nmse|5|-1|%meid\nmme_ar|own:1|gnb1\nnewrt|end|1\n"
    assert parse_route_table(text).select(5, -1, "gnb1") == ("own:1",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("host:80", ("host", 80)), ("10.0.0.1:4560", ("10.0.0.1", 4560)), ("[::1]:4560", ("::1", 4560))],
)
def test_parse_endpoint(text: str, expected: tuple[str, int]) -> None:
    assert parse_endpoint(text) == expected


@pytest.mark.parametrize("text", ["host", ":80", "host:", "host:0", "[::1]4560", "a b:1", "h:-1"])
def test_parse_endpoint_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_endpoint(text)
