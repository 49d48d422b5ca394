"""Names of the environment variables the runtime reads, in one place.

Read only when a resolver is built (never at import time).
"""

from __future__ import annotations


class EnvironmentVariables:
    """Environment variables that configure the runtime."""

    WORKSPACE_ID = "SECRETINJ_WORKSPACE_ID"
    DEPLOYMENT_RESOURCE_ID = "AML_DEPLOYMENT_RESOURCE_ID"
    ARM_SUBSCRIPTION = "AZUREML_ARM_SUBSCRIPTION"
    ARM_RESOURCE_GROUP = "AZUREML_ARM_RESOURCEGROUP"
    ARM_WORKSPACE_NAME = "AZUREML_ARM_WORKSPACE_NAME"
    CLIENT_ID = "SECRETINJ_CLIENT_ID"
    AZURE_CLIENT_ID = "AZURE_CLIENT_ID"
    UAI_CLIENT_ID = "UAI_CLIENT_ID"
    CLOUD = "SECRETINJ_CLOUD"
    ARM_ENDPOINT = "SECRETINJ_ARM_ENDPOINT"
    KEYVAULT_ENDPOINT = "SECRETINJ_KEYVAULT_ENDPOINT"
    CACHE_TTL_S = "SECRETINJ_CACHE_TTL_S"
    ACCESS_WAIT_S = "SECRETINJ_ACCESS_WAIT_S"
    MAX_STALE_S = "SECRETINJ_MAX_STALE_S"
    REVOCATION_GRACE_S = "SECRETINJ_REVOCATION_GRACE_S"
    REFRESH_INTERVAL_S = "SECRETINJ_REFRESH_INTERVAL_S"
    MIN_REFRESH_INTERVAL_S = "SECRETINJ_MIN_REFRESH_INTERVAL_S"
    AZUREML_CLOUD = "AZUREML_CURRENT_CLOUD"
    #: Set by ``secretinj run`` for its command: the names (never values) it resolved.
    RESOLVED = "SECRETINJ_RESOLVED"
    MSI_ENDPOINT = "MSI_ENDPOINT"
    MSI_SECRET = "MSI_SECRET"  # noqa: S105 - a variable name, not a secret
    IDENTITY_ENDPOINT = "IDENTITY_ENDPOINT"

    #: Client-id variables, in order of precedence.
    CLIENT_ID_CHAIN = (CLIENT_ID, AZURE_CLIENT_ID, UAI_CLIENT_ID)

    #: Every variable that changes how a resolver is built.
    CONFIG = (
        WORKSPACE_ID,
        DEPLOYMENT_RESOURCE_ID,
        ARM_SUBSCRIPTION,
        ARM_RESOURCE_GROUP,
        ARM_WORKSPACE_NAME,
        CLIENT_ID,
        AZURE_CLIENT_ID,
        UAI_CLIENT_ID,
        CLOUD,
        ARM_ENDPOINT,
        KEYVAULT_ENDPOINT,
        CACHE_TTL_S,
        ACCESS_WAIT_S,
        MAX_STALE_S,
        REVOCATION_GRACE_S,
        REFRESH_INTERVAL_S,
        MIN_REFRESH_INTERVAL_S,
        AZUREML_CLOUD,
        MSI_ENDPOINT,
        IDENTITY_ENDPOINT,
    )


#: The package version (``secretinj_runtime.__version__``), sent in the User-Agent.
VERSION = "0.1.0"

DEFAULT_CACHE_TTL_S = 3600.0
DEFAULT_MAX_STALE_S = 86400.0
DEFAULT_REVOCATION_GRACE_S = 300.0
DEFAULT_MIN_REFRESH_INTERVAL_S = 5.0
LISTSECRETS_API_VERSION = "2024-10-01"
KEYVAULT_API_VERSION = "7.5"

#: Roles named in access-denied messages.
CONNECTION_ROLE = "Azure Machine Learning Workspace Connection Secrets Reader"
KEYVAULT_ROLE = "Key Vault Secrets User"


class _Raise:
    def __repr__(self) -> str:
        return "<raise>"


#: Default of ``get_secret``'s ``default``: raise `MissingSecretError` when unset.
RAISE: object = _Raise()
