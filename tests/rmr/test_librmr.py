"""The optional librmr backend: lazy import always checked; behaviour only where librmr_si.so loads."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ricsdk.errors import ConfigError, TransportError
from ricsdk.transport.base import Message, Transport
from ricsdk.transport.librmr import LIBRARY_NAME, LibRmrConfig, LibRmrTransport, librmr_available
from ricsdk.transport.rmr import RmrConfig, RmrTransport

HAVE_LIBRMR = librmr_available()
needs_librmr = pytest.mark.skipif(not HAVE_LIBRMR, reason=f"{LIBRARY_NAME} cannot be loaded on this machine")


def test_importing_the_backend_does_not_import_ricxappframe() -> None:
    code = "import sys, ricsdk.transport.librmr; print(any(m.startswith('ricxappframe') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_constructor_is_inert_and_satisfies_the_protocol() -> None:
    transport = LibRmrTransport(LibRmrConfig(port=4560))
    assert isinstance(transport, Transport)


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        LibRmrConfig(port=0)
    with pytest.raises(ConfigError):
        LibRmrConfig(send_retries=-1)


@pytest.mark.skipif(HAVE_LIBRMR, reason=f"{LIBRARY_NAME} is present; the absent-library path cannot be shown")
async def test_start_without_the_library_raises_a_clear_transport_error() -> None:
    transport = LibRmrTransport(LibRmrConfig(port=4560))
    with pytest.raises(TransportError, match=LIBRARY_NAME):
        await transport.start()
    with pytest.raises(TransportError):
        await transport.send(Message(mtype=1, payload=b""))
    await transport.aclose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@needs_librmr
async def test_librmr_and_native_transport_interoperate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    native = RmrTransport(RmrConfig(listen_host="127.0.0.1", listen_port=0, src_id="127.0.0.1", rtg_svc="-1"))
    await native.start()
    lib_port = free_port()
    seed = tmp_path / "lib.rt"
    seed.write_text(f"newrt|start|lib\nmse|30000|-1|127.0.0.1:{native.port}\nnewrt|end|1\n")
    monkeypatch.setenv("RMR_SEED_RT", str(seed))
    monkeypatch.setenv("RMR_RTG_SVC", "-1")
    monkeypatch.setenv("RMR_SRC_ID", "127.0.0.1")
    lib = LibRmrTransport(LibRmrConfig(port=lib_port))
    await lib.start()
    try:
        async with asyncio.timeout(10):
            while not lib.ready:
                await asyncio.sleep(0.05)
            while True:
                try:
                    await lib.send(Message(mtype=30000, payload=b"from C", sub_id=5, meid="gnb", xid=b"x-1"))
                    break
                except TransportError:
                    await asyncio.sleep(0.05)
            got = await anext(aiter(native))
        assert (got.mtype, got.payload, got.sub_id, got.meid, got.xid) == (30000, b"from C", 5, "gnb", b"x-1")
        await native.reply(got, 30001, b"from Python")
        async with asyncio.timeout(10):
            back = await anext(aiter(lib))
        assert (back.mtype, back.payload, back.xid) == (30001, b"from Python", b"x-1")
    finally:
        await lib.aclose()
        await native.aclose()
