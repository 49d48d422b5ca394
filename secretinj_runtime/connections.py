"""Workspace connections: the ListSecrets client and field extraction per authType."""

from __future__ import annotations

import json

from ._constants import CONNECTION_ROLE, LISTSECRETS_API_VERSION
from .errors import AccessDeniedError, NotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ._ratelimit import WriteLimiter
    from .references import ConnectionReference
    from .retry import RetryPolicy
    from .transport import Transport
    from .workspace import Workspace


class ConnectionsClient:
    """Calls ``.../connections/<name>/listsecrets`` (an ARM POST, a *write* for throttling).

    With a ``limiter`` (the resolver's `WriteLimiter`), every call keeps to its write rate.
    """

    def __init__(
        self,
        transport: Transport,
        workspace: Workspace,
        arm_endpoint: str,
        token: Callable[[], str],
        api_version: str = LISTSECRETS_API_VERSION,
        limiter: WriteLimiter | None = None,
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.workspace = workspace
        self.arm_endpoint = arm_endpoint
        self.token = token
        self.api_version = api_version

    def list_secrets(self, connection: str, policy: RetryPolicy | None = None) -> dict[str, Any]:
        """Return the ListSecrets response of ``connection`` (the ARM resource with secrets).

        ``policy`` overrides the transport's retry policy for this call.
        """
        url = self.workspace.listsecrets_url(self.arm_endpoint, connection, self.api_version)
        try:
            return self.transport.request_json(
                "POST",
                url,
                token=self.token,
                service="ARM ListSecrets",
                policy=policy,
                limiter=self.limiter,
            )
        except AccessDeniedError as ex:
            if ex.http_status == 401:
                message = (
                    f"ARM rejected the managed identity's token for connection {connection!r} "
                    f"(is the identity in the workspace's tenant?): {ex.message}"
                )
            else:
                message = (
                    f"the managed identity may not read the secrets of connection "
                    f"{connection!r}: grant it the '{CONNECTION_ROLE}' role on workspace "
                    f"{self.workspace.resource_id} (role assignments can take minutes to "
                    f"propagate). {ex.message}"
                )
            raise ex.with_message(message) from None
        except NotFoundError as ex:
            raise ex.with_message(
                f"connection {connection!r} was not found in workspace "
                f"{self.workspace.resource_id}: {ex.message}"
            ) from None


def extract(reference: ConnectionReference, body: dict[str, Any]) -> str:
    """Pick the field ``reference`` names out of a ListSecrets response.

    Raises `NotFoundError` from a frame that no longer holds the response (a crash reporter
    capturing the locals of the traceback's frames finds no credential).
    """
    value, problem = _pick(reference, body)
    if problem is not None:
        del body
        raise NotFoundError(problem)
    assert value is not None
    return value


def _pick(reference: ConnectionReference, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Return (the field's value, None) or (None, what is missing)."""
    if reference.part == "connection":
        return json.dumps(body), None
    props = body.get("properties")
    props = props if isinstance(props, dict) else {}
    name = reference.connection
    if reference.part == "target":
        target = props.get("target")
        if target is None or target == "":
            return None, f"connection {name!r} has no target"
        return _as_text(target), None
    key = reference.key or ""
    if reference.part == "metadata":
        return _lookup(props.get("metadata"), key, f"metadata of connection {name!r}")
    credentials = props.get("credentials")
    credentials = credentials if isinstance(credentials, dict) else {}
    where = f"credentials of connection {name!r} (authType {props.get('authType', 'unknown')})"
    keys = credentials.get("keys")
    if isinstance(keys, dict) and key != "keys":  # CustomKeys: {"keys": {name: value}}
        return _lookup({k: v for k, v in credentials.items() if k != "keys"} | keys, key, where)
    return _lookup(credentials, key, where)


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


def _lookup(mapping: object, key: str, where: str) -> tuple[str | None, str | None]:
    if not isinstance(mapping, dict) or not mapping:
        return None, f"key {key!r} not found: the {where} are empty"
    if key in mapping:
        return _as_text(mapping[key]), None
    folded = {k.lower(): k for k in mapping}
    if key.lower() in folded:
        return _as_text(mapping[folded[key.lower()]]), None
    names = ", ".join(sorted(str(k) for k in mapping))
    return None, f"key {key!r} not found in the {where}; keys there: {names}"


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
