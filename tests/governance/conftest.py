"""Governance test fixtures: a throw-away PostgreSQL server, stores of both kinds, record factories.

PostgreSQL comes from Debian's packages (``make system-deps`` installs ``postgresql``). The session starts its
own server: ``initdb`` into a fresh directory under /tmp, then ``pg_ctl start`` on a free loopback port with the
socket in that directory. PostgreSQL refuses to run as root, and CI runs as root, so when the tests run as root
both commands run as the ``postgres`` system user (created by the Debian package) through ``runuser -u
postgres --``, and the directory is handed to that user first. ``fsync=off`` makes the throw-away server fast;
nothing here tests PostgreSQL's own durability. Each test gets a fresh database (``CREATE DATABASE``). Set
``RICSDK_TEST_POSTGRES_DSN`` to use an existing server instead.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapps.governance.store import PostgresStore, SqliteStore, SqlStore
from ricsdk.lineage import ModelRef, RcAction, Slot
from ricsdk.lineage.processors import ChainHasher, Enricher, digest

MODEL_A = ModelRef("prb", "1.0.0", "sha256:" + "aa" * 32, Slot.ACTIVE)
MODEL_B = ModelRef("prb", "2.0.0", "sha256:" + "bb" * 32, Slot.ACTIVE)
T0 = 1_800_000_000_000_000_000
SECOND = 1_000_000_000


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


ROOT = Path(__file__).resolve().parents[2]
INGEST = "ingest-token-reliability-0001"
READER = "reader-token-reliability-0001"
WRITER = "writer-token-reliability-0001"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


class Governance:
    """``python -m rapps.governance serve`` as a child process on fixed ports (so it can be restarted)."""

    def __init__(self, tmp: Path, database: str | None = None) -> None:
        self.tmp = tmp
        self.database = tmp / "governance.db"
        self.dsn = database
        self.tokens = tmp / "tokens"
        self.tokens.write_text(f"xapp ingest {INGEST}\naudit read {READER}\nops read,write {WRITER}\n")
        self.grpc_port = _free_port()
        self.http_port = _free_port()
        self.ready = tmp / "ready.json"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        self.ready.unlink(missing_ok=True)
        log = (self.tmp / "governance.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rapps.governance",
                "serve",
                "--database",
                self.dsn or str(self.database),
                "--grpc-listen",
                self.target,
                "--http-listen",
                f"127.0.0.1:{self.http_port}",
                "--tokens",
                str(self.tokens),
                "--ready-file",
                str(self.ready),
            ],
            cwd=ROOT,
            env=ENV,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 30
        while not self.ready.exists():
            assert self.proc.poll() is None, (self.tmp / "governance.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "governance did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None

    def get(self, path: str, token: str | None = READER) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=headers, timeout=30)


@pytest.fixture
def governance(tmp_path: Path) -> Iterator[Governance]:
    """A governance child process (secure profile, tokens INGEST and READER)."""
    gov = Governance(tmp_path)
    gov.start()
    yield gov
    gov.stop()


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, run as a non-root user when we are root."""

    def __init__(self) -> None:
        bindir = _pg_bindir()
        if bindir is None:
            pytest.skip("PostgreSQL server binaries not installed (make system-deps installs 'postgresql')")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="ricsdk-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.dsn = f"host=127.0.0.1 port={self.port} user=ricsdk dbname=postgres"
        self._counter = itertools.count()

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "ricsdk",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self) -> str:
        import psycopg

        name = f"gov_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"host=127.0.0.1 port={self.port} user=ricsdk dbname={name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Callable[[], str]]:
    """A factory of fresh PostgreSQL database DSNs."""
    external = os.environ.get("RICSDK_TEST_POSTGRES_DSN")
    if external:
        import psycopg

        counter = itertools.count()

        def make() -> str:
            name = f"gov_{os.getpid()}_{next(counter)}"
            with psycopg.connect(external, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            return f"{external} dbname={name}"

        yield make
        return
    server = PostgresServer()
    server.start()
    try:
        yield server.new_database
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """An open store of each kind, with a 1 s lifecycle window."""
    made: SqlStore
    if request.param == "sqlite":
        made = SqliteStore(tmp_path / "governance.db", window_ns=SECOND)
    else:
        made = PostgresStore(request.getfixturevalue("postgres")(), window_ns=SECOND)
    made.open()
    yield made
    made.close()


class Producer:
    """Builds chained payloads the way the recorder does (one instance, both spool logs)."""

    def __init__(self, instance: str = "xapp-1", start_sequence: int = 0) -> None:
        self.enricher = Enricher(instance, next_sequence=start_sequence)
        self.hashers = {1: ChainHasher(), 2: ChainHasher()}

    def make(
        self,
        *,
        stream: int = 1,
        ts: int = T0,
        slice_id: str = "1-000001",
        model: ModelRef = MODEL_A,
        features: tuple[float, ...] | None = (1.0, 2.0, 3.0),
        output: tuple[float, ...] = (30.0,),
        action: RcAction | None = None,
        policy_ids: tuple[str, ...] = ("sla-1",),
        cell: str = "cell-1",
        cpu_ns: int = 20_000,
    ) -> bytes:
        event: Any = {
            "decision_id": "",
            "timestamp_ns": ts,
            "e2_node": "gnb-1",
            "cell": cell,
            "slice_id": slice_id,
            "model": model,
            "input_digest": "",
            "features": features,
            "output": output,
            "action": action if action is not None else RcAction(5, 60, 0, True),
            "policy_ids": policy_ids,
            "stage_ns": {"infer": 1000},
            "cpu_ns": cpu_ns,
        }
        event = self.hashers[stream](digest(self.enricher(event)))
        payload: bytes = event["payload"]
        return payload

    def many(self, n: int, *, step_ns: int = SECOND // 10, start_ns: int = T0, **kwargs: Any) -> list[bytes]:
        return [self.make(ts=start_ns + i * step_ns, **kwargs) for i in range(n)]
