"""Governance configuration: one explicit object, parsed at the edge (CLI), validated here.

Profiles: ``secure`` (the default) requires bearer tokens (``tokens_file``); ``demo`` turns authentication off
and must be asked for by name. TLS is optional in both (``tls``); the gRPC and HTTP listeners use the same
certificate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from rapps.governance.reports import DEFAULT_ENERGY_J_PER_CPU_S
from ricsdk.errors import ConfigError

__all__ = ["GovernanceConfig", "Profile", "TlsConfig", "parse_listen"]


class Profile(enum.Enum):
    SECURE = "secure"
    DEMO = "demo"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None

    def __post_init__(self) -> None:
        for name in ("cert_file", "key_file", "client_ca_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{path} is not a file", field=name)


def parse_listen(text: str, *, field_name: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) -> (host, port); port 0 picks a free port."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"expected HOST:PORT, got {text!r}", field=field_name)
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass(frozen=True, slots=True)
class GovernanceConfig:
    """Everything ``ricsdk governance serve`` needs. ``database`` is a SQLite path or a PostgreSQL URL/DSN."""

    database: str = "governance.db"
    grpc_listen: tuple[str, int] = ("127.0.0.1", 50071)
    http_listen: tuple[str, int] = ("127.0.0.1", 8071)
    profile: Profile = Profile.SECURE
    tokens_file: Path | None = None
    tls: TlsConfig | None = None
    energy_j_per_cpu_s: float = DEFAULT_ENERGY_J_PER_CPU_S
    window_s: float = 60.0
    max_batch_records: int = 65536
    max_message_bytes: int = 64 * 1024 * 1024
    max_upload_bytes: int = 256 * 1024 * 1024
    report_rows: int = 2000
    robustness_trials: int = 5
    robustness_epsilon: float = 0.01
    ready_file: Path | None = field(default=None)

    def __post_init__(self) -> None:
        if self.profile is Profile.SECURE and self.tokens_file is None:
            raise ConfigError(
                "the secure profile needs a token file (--tokens); only the demo profile runs without one",
                field="tokens_file",
            )
        if self.profile is Profile.DEMO and self.tokens_file is not None:
            raise ConfigError("the demo profile runs without authentication; drop --tokens", field="tokens_file")
        if not self.energy_j_per_cpu_s >= 0:
            raise ConfigError("the energy coefficient must be >= 0", field="energy_j_per_cpu_s")
        if not self.window_s > 0 or self.max_batch_records < 1 or self.report_rows < 1:
            raise ConfigError("window_s, max_batch_records and report_rows must be positive")
        if not 0 < self.robustness_epsilon < 1 or self.robustness_trials < 1:
            raise ConfigError("robustness_epsilon must be in (0, 1) and robustness_trials >= 1")
