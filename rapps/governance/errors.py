"""Errors of the governance rApp, under ricsdk's root error::

RicSdkError
└── GovernanceError          governance could not do what was asked
    ├── StoreError           the database failed or holds something it should not (carries the cause)
    ├── NotFoundError        no such decision, model version, alias, policy or report subject
    ├── RegistryError        a model upload refused: digest mismatch, bad manifest, unreadable ONNX
    └── AuthError            a missing, unknown or insufficient bearer token
"""

from __future__ import annotations

from ricsdk.errors import RicSdkError

__all__ = ["AuthError", "GovernanceError", "NotFoundError", "RegistryError", "StoreError"]


class GovernanceError(RicSdkError):
    """Root of the governance rApp's errors."""


class StoreError(GovernanceError):
    """The store failed (connection, SQL, migration) or holds inconsistent data."""


class NotFoundError(GovernanceError):
    """The thing asked for does not exist; ``what`` names it."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"not found: {what}")


class RegistryError(GovernanceError):
    """A model upload or alias change refused; ``field`` names the offending manifest entry when known."""

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class AuthError(GovernanceError):
    """Authentication failed (``status`` 401) or the token lacks the scope (``status`` 403)."""

    def __init__(self, message: str, *, status: int = 401) -> None:
        self.status = status
        super().__init__(message)
