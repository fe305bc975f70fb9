"""Bearer tokens for REST and gRPC: who may ingest, read and write.

A token file has one token per line, ``<name> <scopes> <token>``, scopes comma-separated from ``ingest``
(ship lineage), ``read`` (queries, reports, downloads) and ``write`` (uploads, aliases, policies), or ``*``
for all; blank lines and ``#`` comments are ignored. Tokens are kept only as sha256 digests. Every request must
carry ``Authorization: Bearer <token>``; a missing or unknown token is refused (HTTP 401, gRPC
UNAUTHENTICATED), a known token without the scope too (HTTP 403, gRPC PERMISSION_DENIED). Only the explicit
demo profile turns this off (:meth:`TokenAuth.disabled`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rapps.governance.errors import AuthError
from ricsdk.errors import ConfigError

__all__ = ["SCOPES", "Principal", "TokenAuth"]

SCOPES = frozenset({"ingest", "read", "write"})


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    scopes: frozenset[str]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenAuth:
    """Checks ``Authorization`` headers against known tokens (see the module docstring)."""

    def __init__(self, tokens: Iterable[tuple[str, Iterable[str], str]], *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._by_digest: dict[bytes, Principal] = {}
        for name, scopes, token in tokens:
            wanted = frozenset(scopes)
            unknown = wanted - SCOPES
            if unknown:
                raise ConfigError(f"unknown scopes {sorted(unknown)} for token {name!r}", field="scopes")
            if len(token) < 16:
                raise ConfigError(f"token {name!r} is shorter than 16 characters", field="token")
            self._by_digest[_digest(token)] = Principal(name, wanted)
        if enabled and not self._by_digest:
            raise ConfigError("authentication is on but no token is configured (use --tokens, or the demo profile)")

    @classmethod
    def disabled(cls) -> TokenAuth:
        """No authentication: every caller is ``demo`` with every scope (the demo profile only)."""
        return cls((), enabled=False)

    @classmethod
    def from_file(cls, path: str | Path) -> TokenAuth:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the token file: {exc}", source=str(file)) from exc
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 3:
                raise ConfigError("expected '<name> <scopes> <token>'", source=str(file), field=f"line {number}")
            name, scopes, token = parts
            entries.append((name, SCOPES if scopes == "*" else scopes.split(","), token))
        return cls(entries)

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller of an ``Authorization`` header value; :class:`AuthError` (401) when unknown or missing."""
        if not self.enabled:
            return Principal("demo", SCOPES)
        if not authorization:
            raise AuthError("missing bearer token")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("expected 'Authorization: Bearer <token>'")
        principal = self._by_digest.get(_digest(token.strip()))
        if principal is None:
            raise AuthError("unknown bearer token")
        return principal

    def require(self, authorization: str | None, scope: str) -> Principal:
        """:meth:`authenticate`, then :class:`AuthError` (403) without ``scope``."""
        principal = self.authenticate(authorization)
        if scope not in principal.scopes:
            raise AuthError(f"token {principal.name!r} lacks the {scope!r} scope", status=403)
        return principal
