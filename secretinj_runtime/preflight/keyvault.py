"""Key Vault data plane for preflight: a secret's versions and attributes, never a value.

``GET /secrets/{name}/versions`` (GetSecretVersions) needs the list permission
(``secrets/readMetadata/action``); the GET of a secret, which returns the value, is never
called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._constants import KEYVAULT_API_VERSION
from ..references import KeyVaultReference
from .arm import MAX_PAGES, same_origin

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..transport import Transport


class VaultVersions:
    """Lists secret versions, from the vault's host or from ``endpoint`` (an override)."""

    def __init__(
        self, transport: Transport, token: Callable[[], str], endpoint: str | None = None
    ) -> None:
        self.transport = transport
        self.token = token
        self.endpoint = endpoint

    def url(self, reference: KeyVaultReference) -> str:
        """Return the versions URL of the secret a reference names."""
        base = f"{self.endpoint}/{reference.vault_name}" if self.endpoint else reference.vault_url
        query = f"api-version={KEYVAULT_API_VERSION}&maxresults=25"
        return f"{base}/secrets/{reference.secret}/versions?{query}"

    def versions(self, reference: KeyVaultReference) -> list[dict[str, Any]]:
        """Every version of the secret: ``{id, attributes: {enabled, exp, nbf, created}}``."""
        first = self.url(reference)
        service = f"Key Vault (versions of {reference.secret})"
        final = self.endpoint is None  # a vault host that does not resolve does not exist
        body = self.transport.request_json(
            "GET", first, token=self.token, service=service, name_error_is_final=final
        )
        items = [i for i in body.get("value") or [] if isinstance(i, dict)]
        for _ in range(MAX_PAGES):
            link = body.get("nextLink")
            if not isinstance(link, str) or not link or not same_origin(link, first):
                break
            body = self.transport.request_json("GET", link, token=self.token, service=service)
            items += [i for i in body.get("value") or [] if isinstance(i, dict)]
        return items


def version_of(item: dict[str, Any]) -> str:
    """Return the version id at the end of a version item's ``id`` (lower case)."""
    return str(item.get("id", "")).rstrip("/").rsplit("/", 1)[-1].lower()
