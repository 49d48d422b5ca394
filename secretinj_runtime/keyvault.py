"""Key Vault: the secret GET client and the vault-host allow-list."""

from __future__ import annotations

from ._constants import KEYVAULT_API_VERSION, KEYVAULT_ROLE
from .errors import AccessDeniedError, NotFoundError, ServiceError, UntrustedEndpointError
from .references import VAULT_NAME, matches

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .clouds import Cloud
    from .references import KeyVaultReference
    from .retry import RetryPolicy
    from .transport import Transport


def check_vault_host(reference: KeyVaultReference, cloud: Cloud) -> None:
    """Refuse a reference whose host is not a vault of ``cloud`` (before any request)."""
    host = reference.host.lower()
    suffix = cloud.keyvault_suffix
    vault = host[: -len(suffix)] if host.endswith(suffix) else ""
    if not vault or "." in vault or not matches(VAULT_NAME, vault):
        why = (
            f"{vault!r} is not a vault name (3 to 24 letters, digits or '-')"
            if vault and "." not in vault
            else f"it is not a vault of {cloud.name} ('<vault>{suffix}')"
        )
        raise UntrustedEndpointError(
            f"Key Vault host {reference.host!r} is refused: {why}; no token is sent to it",
            reference=str(reference),
        )


class KeyVaultClient:
    """GETs secrets, from the vault's own host or from ``endpoint`` (an override, the mock)."""

    def __init__(
        self,
        transport: Transport,
        token: Callable[[], str],
        endpoint: str | None = None,
        api_version: str = KEYVAULT_API_VERSION,
    ) -> None:
        self.transport = transport
        self.token = token
        self.endpoint = endpoint
        self.api_version = api_version

    def url(self, reference: KeyVaultReference) -> str:
        """Return the GET URL of the secret (the override routes by vault name)."""
        path = f"/secrets/{reference.secret}" + (
            f"/{reference.version}" if reference.version else ""
        )
        base = f"{self.endpoint}/{reference.vault_name}" if self.endpoint else reference.vault_url
        return f"{base}{path}?api-version={self.api_version}"

    def get_secret(self, reference: KeyVaultReference, policy: RetryPolicy | None = None) -> str:
        """Return the secret's value (``policy`` overrides the transport's retry policy)."""
        what = f"secret {reference.secret!r}" + (
            f" version {reference.version}" if reference.version else " (latest version)"
        )
        vault = reference.vault_name
        try:
            body = self.transport.request_json(
                "GET",
                self.url(reference),
                token=self.token,
                service="Key Vault",
                policy=policy,
                name_error_is_final=self.endpoint is None,
            )
        except AccessDeniedError as ex:
            raise ex.with_message(f"{_denied_hint(ex, what, vault)}. {ex.message}") from None
        except NotFoundError as ex:
            if ex.code == "NameResolutionFailed":
                raise ex.with_message(
                    f"there is no vault named {vault!r} in this cloud: {reference.host} does "
                    "not resolve (check the vault name in the reference)"
                ) from None
            raise ex.with_message(
                f"{what} was not found in vault {vault!r}: {ex.message}"
            ) from None
        value = body.get("value")
        if not isinstance(value, str):
            raise ServiceError(f"Key Vault answered without a string 'value' for {what}")
        return value


def _denied_hint(ex: AccessDeniedError, what: str, vault: str) -> str:
    """Say why Key Vault refused, from its ``innererror.code``, and what fixes it.

    Only a missing role may be a role assignment still propagating
    (`AccessDeniedError.may_be_propagating`); the other reasons fail at once.
    """
    if ex.http_status == 401:
        return "Key Vault rejected the managed identity's token (wrong tenant?)"
    if ex.code == "SecretDisabled":
        return (
            f"{what} of vault {vault!r} is disabled: enable it (az keyvault secret "
            f"set-attributes --vault-name {vault} --name <name> --enabled true) or reference "
            "an enabled version"
        )
    if ex.code == "ForbiddenByFirewall":
        return (
            f"the firewall of vault {vault!r} refused the deployment's network: allow it in "
            "the vault's networking settings, or reach the vault through a private endpoint"
        )
    if ex.code == "ForbiddenByPolicy":
        return (
            f"vault {vault!r} uses access policies: secret injection needs the Azure RBAC "
            f"permission model, with the '{KEYVAULT_ROLE}' role for the managed identity"
        )
    return (
        f"the managed identity may not read {what} of vault {vault!r}: grant it the "
        f"'{KEYVAULT_ROLE}' role on the vault (RBAC permission model)"
    )
