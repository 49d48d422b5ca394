"""Workspace connections: the ListSecrets client and field extraction per authType."""

from __future__ import annotations

import json

from ._constants import CONNECTION_ROLE, LISTSECRETS_API_VERSION
from .errors import AccessDeniedError, NotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .references import ConnectionReference
    from .transport import Transport
    from .workspace import Workspace


class ConnectionsClient:
    """Calls ``.../connections/<name>/listsecrets`` (an ARM POST, a *write* for throttling)."""

    def __init__(
        self,
        transport: Transport,
        workspace: Workspace,
        arm_endpoint: str,
        token: Callable[[], str],
        api_version: str = LISTSECRETS_API_VERSION,
    ) -> None:
        self.transport = transport
        self.workspace = workspace
        self.arm_endpoint = arm_endpoint
        self.token = token
        self.api_version = api_version

    def list_secrets(self, connection: str) -> dict[str, Any]:
        """Return the ListSecrets response of ``connection`` (the ARM resource with secrets)."""
        url = self.workspace.listsecrets_url(self.arm_endpoint, connection, self.api_version)
        try:
            return self.transport.request_json(
                "POST", url, token=self.token, service="ARM ListSecrets"
            )
        except AccessDeniedError as ex:
            if ex.http_status == 401:
                raise AccessDeniedError(
                    f"ARM rejected the managed identity's token for connection {connection!r} "
                    f"(is the identity in the workspace's tenant?): {ex.message}",
                    http_status=401,
                    request_id=ex.request_id,
                ) from None
            raise AccessDeniedError(
                f"the managed identity may not read the secrets of connection {connection!r}: "
                f"grant it the '{CONNECTION_ROLE}' role on workspace "
                f"{self.workspace.resource_id} (role assignments can take minutes to "
                f"propagate). {ex.message}",
                http_status=ex.http_status,
                request_id=ex.request_id,
            ) from None
        except NotFoundError as ex:
            raise NotFoundError(
                f"connection {connection!r} was not found in workspace "
                f"{self.workspace.resource_id}: {ex.message}",
                http_status=404,
                request_id=ex.request_id,
            ) from None


def extract(reference: ConnectionReference, body: dict[str, Any]) -> str:
    """Pick the field ``reference`` names out of a ListSecrets response."""
    if reference.part == "connection":
        return json.dumps(body)
    props = body.get("properties")
    props = props if isinstance(props, dict) else {}
    name = reference.connection
    if reference.part == "target":
        target = props.get("target")
        if target is None or target == "":
            raise NotFoundError(f"connection {name!r} has no target")
        return _as_text(target)
    key = reference.key or ""
    if reference.part == "metadata":
        return _lookup(props.get("metadata"), key, f"metadata of connection {name!r}")
    credentials = props.get("credentials")
    credentials = credentials if isinstance(credentials, dict) else {}
    keys = credentials.get("keys")
    if isinstance(keys, dict) and key != "keys":  # CustomKeys: {"keys": {name: value}}
        merged = {k: v for k, v in credentials.items() if k != "keys"} | keys
        return _lookup(
            merged,
            key,
            f"credentials of connection {name!r} (authType {props.get('authType', 'unknown')})",
        )
    return _lookup(
        credentials,
        key,
        f"credentials of connection {name!r} (authType {props.get('authType', 'unknown')})",
    )


def secret_values(body: dict[str, Any]) -> list[str]:
    """Return the credential values of a ListSecrets response (for log redaction)."""
    props = body.get("properties")
    credentials = props.get("credentials") if isinstance(props, dict) else None
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, str):
            out.append(node)

    walk(credentials)
    return out


def _lookup(mapping: object, key: str, where: str) -> str:
    if not isinstance(mapping, dict) or not mapping:
        raise NotFoundError(f"key {key!r} not found: the {where} are empty")
    if key in mapping:
        return _as_text(mapping[key])
    folded = {k.lower(): k for k in mapping}
    if key.lower() in folded:
        return _as_text(mapping[folded[key.lower()]])
    names = ", ".join(sorted(str(k) for k in mapping))
    raise NotFoundError(f"key {key!r} not found in the {where}; keys there: {names}")


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
