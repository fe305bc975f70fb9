"""The governance service: the store, gRPC ingest and the REST API in one process, with an explicit lifecycle.

``GovernanceServer(config)`` does nothing until ``start()``: it opens (and migrates) the store, loads the chain
state, starts the gRPC server (``grpc.aio``) and the HTTP server (uvicorn, on a socket it binds itself, so
port 0 works and the bound ports are known: :attr:`grpc_port`, :attr:`http_port`). ``aclose()`` stops taking
calls, lets running ones finish (``grace_s``), and closes the store. Signals are the caller's business (the
CLI installs handlers that call ``aclose()``); uvicorn's own signal capture is switched off.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import grpc
import structlog
import uvicorn

from rapps.governance.api import create_app
from rapps.governance.auth import TokenAuth
from rapps.governance.config import GovernanceConfig, Profile
from rapps.governance.ingest import Ingestor, LineageServicer
from rapps.governance.reports import ReportBuilder, ReportSettings
from rapps.governance.store import SqlStore, open_store

__all__ = ["GovernanceServer"]

log = structlog.get_logger("rapps.governance.server")

# Imported by name: the generated modules are not type-checked (see ricsdk._proto.build).
lineage_pb2_grpc: Any = importlib.import_module("ricsdk._proto.lineage.v1.lineage_pb2_grpc")


class _Uvicorn(uvicorn.Server):
    """uvicorn without its signal handlers (the process owner decides what a signal means)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class GovernanceServer:
    """See the module docstring."""

    def __init__(self, config: GovernanceConfig, *, store: SqlStore | None = None, grace_s: float = 5.0) -> None:
        self.config = config
        self.store = store
        self.grace_s = grace_s
        self.ingestor: Ingestor | None = None
        self.grpc_port = 0
        self.http_port = 0
        self._grpc: Any = None
        self._http: _Uvicorn | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self._closed = asyncio.Event()

    def _auth(self) -> TokenAuth:
        if self.config.profile is Profile.DEMO:
            log.warning("governance runs the DEMO profile: authentication is OFF; never expose it")
            return TokenAuth.disabled()
        assert self.config.tokens_file is not None
        return TokenAuth.from_file(self.config.tokens_file)

    async def start(self) -> None:
        """Open the store and start both servers; on failure, undo what was started and raise."""
        try:
            await self._start()
        except BaseException:
            await self.aclose()
            raise

    async def _start(self) -> None:
        config = self.config
        auth = self._auth()
        if self.store is None:
            self.store = open_store(config.database, window_ns=int(config.window_s * 1e9))
        store = self.store
        await asyncio.to_thread(store.open)
        self.ingestor = Ingestor(store)
        await asyncio.to_thread(self.ingestor.open)

        options = [
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", config.max_message_bytes),
        ]
        self._grpc = grpc.aio.server(options=options)
        lineage_pb2_grpc.add_LineageServiceServicer_to_server(
            LineageServicer(self.ingestor, auth, max_batch_records=config.max_batch_records), self._grpc
        )
        host, port = config.grpc_listen
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if config.tls is not None:
            tls = config.tls
            credentials = grpc.ssl_server_credentials(
                [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())],
                root_certificates=tls.client_ca_file.read_bytes() if tls.client_ca_file else None,
                require_client_auth=tls.client_ca_file is not None,
            )
            self.grpc_port = self._grpc.add_secure_port(address, credentials)
        else:
            self.grpc_port = self._grpc.add_insecure_port(address)
        await self._grpc.start()

        settings = ReportSettings(
            energy_j_per_cpu_s=config.energy_j_per_cpu_s,
            rows=config.report_rows,
            trials=config.robustness_trials,
            epsilon=config.robustness_epsilon,
        )
        app = create_app(
            store,
            auth,
            ReportBuilder(store, settings),
            ingestor=self.ingestor,
            max_upload_bytes=config.max_upload_bytes,
        )
        http_host, http_port = config.http_listen
        self._socket = _bind(http_host, http_port)
        self.http_port = self._socket.getsockname()[1]
        tls_kwargs: dict[str, Any] = {}
        if config.tls is not None:
            tls_kwargs = {"ssl_certfile": str(config.tls.cert_file), "ssl_keyfile": str(config.tls.key_file)}
            if config.tls.client_ca_file is not None:
                tls_kwargs["ssl_ca_certs"] = str(config.tls.client_ca_file)
        self._http = _Uvicorn(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", **tls_kwargs))
        self._http_task = asyncio.create_task(self._http.serve(sockets=[self._socket]), name="governance-http")
        while not self._http.started:
            if self._http_task.done():
                self._http_task.result()
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        log.info(
            "governance serving",
            store=store.describe(),
            grpc_port=self.grpc_port,
            http_port=self.http_port,
            profile=config.profile.value,
            tls=config.tls is not None,
        )
        if config.ready_file is not None:
            self._write_ready()

    def _write_ready(self) -> None:
        assert self.config.ready_file is not None
        path = self.config.ready_file
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"grpc_port": self.grpc_port, "http_port": self.http_port, "pid": os.getpid()}))
        os.replace(tmp, path)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def aclose(self) -> None:
        """Stop both servers (running calls get ``grace_s``) and close the store. Idempotent."""
        if self._closed.is_set():
            return
        if self._grpc is not None:
            await self._grpc.stop(self.grace_s)
            self._grpc = None
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._http_task
            self._http = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self.store is not None:
            await asyncio.to_thread(self.store.close)
        self._closed.set()
        log.info("governance stopped")
