"""Per-cloud endpoints and token scopes (ARM and Key Vault)."""

from __future__ import annotations

from .errors import ConfigurationError


class Cloud:
    """The endpoints and token scopes of one Azure cloud."""

    __slots__ = ("arm_endpoint", "authority_host", "keyvault_suffix", "name")

    def __init__(
        self, name: str, arm_endpoint: str, keyvault_suffix: str, authority_host: str
    ) -> None:
        self.name = name
        self.arm_endpoint = arm_endpoint
        self.keyvault_suffix = keyvault_suffix
        self.authority_host = authority_host
        """Microsoft Entra authority of the cloud (for credentials other than managed ones)."""

    @property
    def arm_scope(self) -> str:
        """Token scope for ARM (kept also when the endpoint is overridden)."""
        return f"{self.arm_endpoint}/.default"

    @property
    def keyvault_scope(self) -> str:
        """Token scope for Key Vault data-plane calls."""
        return f"https://{self.keyvault_suffix.lstrip('.')}/.default"

    def __repr__(self) -> str:
        return f"Cloud({self.name!r})"


AZURE_PUBLIC_CLOUD = Cloud(
    "AzureCloud",
    "https://management.azure.com",
    ".vault.azure.net",
    "login.microsoftonline.com",
)
AZURE_CHINA_CLOUD = Cloud(
    "AzureChinaCloud",
    "https://management.chinacloudapi.cn",
    ".vault.azure.cn",
    "login.chinacloudapi.cn",
)
AZURE_US_GOVERNMENT = Cloud(
    "AzureUSGovernment",
    "https://management.usgovcloudapi.net",
    ".vault.usgovcloudapi.net",
    "login.microsoftonline.us",
)

CLOUDS = {c.name.lower(): c for c in (AZURE_PUBLIC_CLOUD, AZURE_CHINA_CLOUD, AZURE_US_GOVERNMENT)}
_ALIASES = {
    "public": "azurecloud",
    "azurepubliccloud": "azurecloud",
    "china": "azurechinacloud",
    "usgovernment": "azureusgovernment",
    "azureusgovernmentcloud": "azureusgovernment",
}


def get_cloud(name: str | Cloud | None) -> Cloud:
    """Return the cloud for a name such as ``AzureCloud`` (case-insensitive); default public."""
    if isinstance(name, Cloud):
        return name
    if not name:
        return AZURE_PUBLIC_CLOUD
    key = name.strip().lower()
    cloud = CLOUDS.get(_ALIASES.get(key, key))
    if cloud is None:
        known = ", ".join(c.name for c in CLOUDS.values())
        raise ConfigurationError(f"unknown cloud {name!r}; expected one of {known}")
    return cloud
