"""Fixtures: an xApp and a fake E2 node connected over real native-RMR sockets on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from ricsdk.transport.rmr import RmrConfig, RmrTransport

EMPTY_TABLE = "newrt|start\nnewrt|end\n"


@dataclass
class RmrPair:
    xapp: RmrTransport
    node: RmrTransport
    xapp_table: Path
    node_table: Path

    async def route(self, xapp_routes: Sequence[str], node_routes: Sequence[str]) -> None:
        """Install seed tables (re-read because rtg_svc is -1) and wait until both sides loaded them."""
        for path, routes in ((self.xapp_table, xapp_routes), (self.node_table, node_routes)):
            path.write_text("newrt|start\n" + "".join(r + "\n" for r in routes) + "newrt|end\n")
        for t, n in ((self.xapp, len(xapp_routes)), (self.node, len(node_routes))):
            await asyncio.wait_for(t.wait_route_table(lambda rt, n=n: len(rt) >= n), 5)


def _config(table: Path, name: str) -> RmrConfig:
    table.write_text(EMPTY_TABLE)
    return RmrConfig(
        listen_host="127.0.0.1",
        listen_port=0,
        src_id=name,
        advertise_ip="127.0.0.1",
        seed_route_table=table,
        rtg_svc="-1",
        seed_poll_interval=0.02,
        backoff_initial=0.02,
    )


@pytest.fixture
async def rmr_pair(tmp_path: Path) -> AsyncIterator[RmrPair]:
    xt, nt = tmp_path / "xapp.rt", tmp_path / "node.rt"
    pair = RmrPair(RmrTransport(_config(xt, "xapp")), RmrTransport(_config(nt, "e2term")), xt, nt)
    await pair.xapp.start()
    await pair.node.start()
    await pair.route(
        [f"mse|{m}|-1|127.0.0.1:{pair.node.port}" for m in (12010, 12020, 12040)],
        [f"mse|12050|-1|127.0.0.1:{pair.xapp.port}"],
    )
    try:
        yield pair
    finally:
        await pair.xapp.aclose()
        await pair.node.aclose()


class CountingSource:
    """Deterministic per-slice measurements: throughput grows with the period, PRB usage is fixed per slice."""

    def measure(self, period: int, slices: Sequence[str]) -> Mapping[str, Mapping[str, float | int | None]]:
        return {
            s: {"DRB.UEThpDl": 1000 * (i + 1) + period, "RRU.PrbUsedDl": 10 * (i + 1), "DRB.RlcSduDelayDl": None}
            for i, s in enumerate(slices)
        }
