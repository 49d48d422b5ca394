"""A client for the mock's control API (``/_mock/``), over HTTP with the standard library.

`MockServer` (pytest and in-process use) builds on it; so can anything that only knows the
mock's URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Literal


class ControlError(RuntimeError):
    """A control API call failed; ``status`` and ``body`` say why."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"control API answered {status}: {body}")
        self.status = status
        self.body = body


class ControlClient:
    """Calls the control API of the mock at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def call(self, method: str, path: str, body: object = None) -> Any:
        """Call the control API (``path`` relative to ``/_mock``) and return the JSON answer.

        Raises :class:`ControlError` on a non-2xx answer.
        """
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(  # noqa: S310 - always our own loopback URL
            f"{self.url}/_mock{path}", data=data, method=method
        )
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                raise ControlError(exc.code, exc.read().decode(errors="replace")) from None

    def put_connection(self, name: str, connection: Mapping[str, Any]) -> None:
        """Create or replace connection ``name`` (state-file shape: authType, category, ...)."""
        self.call("PUT", f"/connections/{name}", dict(connection))

    def delete_connection(self, name: str) -> None:
        """Delete connection ``name`` (ListSecrets then answers 404)."""
        self.call("DELETE", f"/connections/{name}")

    def set_secret(self, vault: str, name: str, value: str, **attributes: Any) -> str:
        """Add a version of secret ``name`` (creating vault/secret); return its version id.

        ``attributes``: ``enabled``, ``exp``, ``nbf`` (epoch seconds or ISO 8601),
        ``content_type``.
        """
        body = {"value": value, **attributes}
        return str(self.call("POST", f"/vaults/{vault}/secrets/{name}", body)["version"])

    def rotate_secret(self, vault: str, name: str, value: str, **attributes: Any) -> str:
        """Add a new latest version to an existing secret; return its version id."""
        path = f"/vaults/{vault}/secrets/{name}/rotate"
        return str(self.call("POST", path, {"value": value, **attributes})["version"])

    def update_secret(
        self, vault: str, name: str, version: str = "latest", **attributes: Any
    ) -> dict[str, Any]:
        """Change a version's ``enabled``, ``exp``, ``nbf`` or ``content_type``."""
        path = f"/vaults/{vault}/secrets/{name}/{version}"
        return dict(self.call("PATCH", path, attributes))

    def delete_secret(self, vault: str, name: str, *, purge: bool = False) -> None:
        """Soft-delete a secret (404 until recovered), or purge it."""
        suffix = "?purge=true" if purge else ""
        self.call("DELETE", f"/vaults/{vault}/secrets/{name}{suffix}")

    def recover_secret(self, vault: str, name: str) -> None:
        """Undo a soft delete."""
        self.call("POST", f"/vaults/{vault}/secrets/{name}/recover")

    def configure_vault(self, vault: str, **settings: Any) -> dict[str, Any]:
        """Change a vault's ``firewall`` ("allow"/"deny"), ``rbac_authorization``, ..."""
        return dict(self.call("PATCH", f"/vaults/{vault}/settings", settings))

    def set_api_versions(self, api: str, versions: list[str]) -> dict[str, list[str]]:
        """Replace the api-versions ``api`` (``ml``, ``keyvault``, ``msi``) accepts."""
        return dict(self.call("PUT", "/api-versions", {"api": api, "versions": versions}))

    def rotate_connection_key(
        self, name: str, credential: str = "key", value: str | None = None
    ) -> str:
        """Replace one credential of a connection (CustomKeys: one of ``keys``); return it.

        A random value is generated when ``value`` is None.
        """
        body = {"credential": credential, "value": value}
        return str(self.call("POST", f"/connections/{name}/rotate", body)["value"])

    def grant(
        self, identity: str = "system", *, vault: str | None = None, propagation_delay_s: float = 0
    ) -> None:
        """Grant ``identity`` the role on the workspace, or on ``vault`` when given.

        During ``propagation_delay_s`` (mock clock) the grant still answers 403.
        """
        self.call("POST", "/access/grant", _access(identity, vault, propagation_delay_s))

    def revoke(self, identity: str = "system", *, vault: str | None = None) -> None:
        """Revoke ``identity``'s role on the workspace, or on ``vault`` when given."""
        self.call("POST", "/access/revoke", _access(identity, vault, 0))

    def queue_fault(
        self,
        kind: Literal["msi", "listsecrets", "keyvault", "keyvault_versions", "arm", "downstream"],
        status: int | None = None,
        *,
        count: int = 1,
        name: str | None = None,
        retry_after_s: float | None = None,
        latency_s: float | None = None,
        drop_connection: bool = False,
        body: str | dict[str, Any] | None = None,
    ) -> int:
        """Queue a fault for the next ``count`` requests of ``kind`` (optionally ``name``).

        ``name`` is the connection (listsecrets), secret (keyvault), identity (msi) or
        deployment (downstream). ``body`` is ``"html"``, ``"invalid_json"``, ``"empty"`` or a
        JSON object. Returns the fault id.
        """
        fault = {
            "kind": kind,
            "status": status,
            "count": count,
            "name": name,
            "retry_after_s": retry_after_s,
            "latency_s": latency_s,
            "drop_connection": drop_connection,
            "body": body,
        }
        return int(self.call("POST", "/faults", fault)["id"])

    def set_latency(self, kind: str, latency_s: float) -> None:
        """Add ``latency_s`` to every request of ``kind`` (or ``"all"``); 0 removes it."""
        self.call("PUT", "/latency", {"kind": kind, "latency_s": latency_s})

    def configure_throttle(
        self,
        capacity: int | None = None,
        refill_per_s: float | None = None,
        *,
        enabled: bool = True,
    ) -> dict[str, Any]:
        """Reconfigure and refill the ARM write bucket (``enabled=False`` disables it)."""
        body = {"enabled": enabled, "capacity": capacity, "refill_per_s": refill_per_s}
        return dict(self.call("PUT", "/throttle", body))

    def advance_clock(self, seconds: float) -> float:
        """Move the mock's clock forward; return the new mock time."""
        return float(self.call("POST", "/clock/advance", {"seconds": seconds})["now"])

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        """Return the request log (optionally one route kind); control calls are excluded."""
        suffix = f"?route={route}" if route else ""
        return list(self.call("GET", f"/requests{suffix}"))

    def reset(self) -> None:
        """Return the mock to its initial state (tokens stay valid)."""
        self.call("POST", "/reset")


def _access(identity: str, vault: str | None, delay: float) -> dict[str, Any]:
    scope = "workspace" if vault is None else "vault"
    return {"identity": identity, "scope": scope, "vault": vault, "propagation_delay_s": delay}
