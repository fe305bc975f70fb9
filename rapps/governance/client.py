"""A small REST client for governance (what the CLI uses): bearer token, optional TLS, typed errors."""

from __future__ import annotations

import base64
import hashlib
import ssl
from types import TracebackType
from typing import Any

import httpx

from rapps.governance.errors import AuthError, GovernanceError, NotFoundError, RegistryError
from rapps.governance.registry import normalize_digest

__all__ = ["GovernanceClient"]


class GovernanceClient:
    """Calls ``/v1`` of a governance service. ``verify`` is True (system CAs), False, or a CA bundle path."""

    def __init__(
        self, base_url: str, *, token: str | None = None, verify: bool | str = True, timeout_s: float = 60.0
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        trust: bool | ssl.SSLContext = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, verify=trust, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GovernanceClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GovernanceError(f"{method} {path}: {exc}") from exc
        if response.status_code < 400:
            return response
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if response.status_code in (401, 403):
            raise AuthError(str(detail), status=response.status_code)
        if response.status_code == 404:
            raise NotFoundError(str(detail))
        if response.status_code in (409, 422):
            raise RegistryError(str(detail))
        raise GovernanceError(f"{method} {path}: HTTP {response.status_code}: {detail}")

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self._call("GET", path, params=clean).json()

    def chains(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/v1/chains")
        return result

    def verify_chain(self, instance: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/v1/chains/{instance}/verify")
        return result

    def push_model(self, manifest: dict[str, Any], artifact: bytes) -> dict[str, Any]:
        name = manifest.get("name")
        body = {"manifest": manifest, "artifact_b64": base64.b64encode(artifact).decode("ascii")}
        result: dict[str, Any] = self._call("POST", f"/v1/registry/models/{name}/versions", json=body).json()
        return result

    def models(self, name: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/v1/registry/models", name=name)
        return result

    def set_alias(self, name: str, alias: str, version: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "PUT", f"/v1/registry/models/{name}/aliases/{alias}", json={"version": version}
        ).json()
        return result

    def resolve(self, name: str, *, version: str | None = None, alias: str | None = None) -> dict[str, Any]:
        if (version is None) == (alias is None):
            raise GovernanceError("name exactly one of version and alias")
        path = (
            f"/v1/registry/models/{name}/versions/{version}"
            if version
            else f"/v1/registry/models/{name}/aliases/{alias}"
        )
        result: dict[str, Any] = self.get(path)
        return result

    def pull(self, name: str, version: str, digest: str) -> bytes:
        """The artifact of ``name`` ``version``, refused unless its sha256 is ``digest`` (checked here too)."""
        wanted = normalize_digest(digest)
        data = self._call(
            "GET", f"/v1/registry/models/{name}/versions/{version}/artifact", params={"digest": wanted}
        ).content
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != wanted:
            raise RegistryError(f"downloaded artifact has digest {actual}, expected {wanted}")
        return data
