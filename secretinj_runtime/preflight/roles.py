"""The Azure built-in roles that matter for secret injection, and the actions they gate.

GUIDs and permissions from PREFLIGHT.md (section 4); Reader and User Access Administrator
from the Azure built-in roles reference. The mock serves these definitions; `secretinj
preflight` reads definitions from ARM and uses this module only for action names and the
role names it puts in ``az`` commands.
"""

from __future__ import annotations

from dataclasses import dataclass

from .rbac import Permission

#: Read a connection's secrets (ListSecrets; an ARM POST).
LISTSECRETS = "Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action"
#: The second action secret injection needs for connections (the service names both).
METADATA_SECRETS_READ = "Microsoft.MachineLearningServices/workspaces/metadata/secrets/read"
#: Read a Key Vault secret's value (a data action).
GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"  # noqa: S105 - an action
#: List a secret's versions and attributes, no value (a data action).
READ_SECRET_METADATA = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"  # noqa: S105
#: Create role assignments.
ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"

_ML = "Microsoft.MachineLearningServices"


@dataclass(frozen=True)
class RoleDefinition:
    """A role: its GUID, name and permission elements."""

    id: str
    name: str
    permissions: tuple[Permission, ...]
    builtin: bool = True
    description: str = ""


CONNECTION_SECRETS_READER = RoleDefinition(
    "ea01e6af-a1c1-4350-9563-ad00f8c72ec5",
    "Azure Machine Learning Workspace Connection Secrets Reader",
    (Permission(actions=(LISTSECRETS, METADATA_SECRETS_READ)),),
    description="Can list workspace connection secrets",
)
KEYVAULT_SECRETS_USER = RoleDefinition(
    "4633458b-17de-408a-b874-0445c86b69e6",
    "Key Vault Secrets User",
    (Permission(data_actions=(GET_SECRET, READ_SECRET_METADATA)),),
    description="Read secret contents. Only works for key vaults that use the 'Azure "
    "role-based access control' permission model.",
)
KEYVAULT_SECRETS_OFFICER = RoleDefinition(
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets Officer",
    (
        Permission(
            actions=(
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Support/*",
                "Microsoft.KeyVault/checkNameAvailability/read",
                "Microsoft.KeyVault/deletedVaults/read",
                "Microsoft.KeyVault/locations/*/read",
                "Microsoft.KeyVault/vaults/*/read",
                "Microsoft.KeyVault/operations/read",
            ),
            data_actions=("Microsoft.KeyVault/vaults/secrets/*",),
        ),
    ),
)
AZUREML_DATA_SCIENTIST = RoleDefinition(
    "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "AzureML Data Scientist",
    (
        Permission(
            actions=(
                f"{_ML}/workspaces/*/read",
                f"{_ML}/workspaces/*/action",
                f"{_ML}/workspaces/*/delete",
                f"{_ML}/workspaces/*/write",
            ),
            not_actions=(
                f"{_ML}/workspaces/delete",
                f"{_ML}/workspaces/write",
                f"{_ML}/workspaces/computes/*/write",
                f"{_ML}/workspaces/computes/*/delete",
                f"{_ML}/workspaces/computes/listKeys/action",
                f"{_ML}/workspaces/listKeys/action",
                f"{_ML}/workspaces/hubs/write",
                f"{_ML}/workspaces/hubs/delete",
                f"{_ML}/workspaces/featurestores/write",
                f"{_ML}/workspaces/featurestores/delete",
            ),
        ),
    ),
)
CONTRIBUTOR = RoleDefinition(
    "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Contributor",
    (
        Permission(
            actions=("*",),
            not_actions=(
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
                "Microsoft.Purview/consents/write",
                "Microsoft.Purview/consents/delete",
                "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
                "Microsoft.Subscription/cancel/action",
                "Microsoft.Subscription/enable/action",
            ),
        ),
    ),
)
OWNER = RoleDefinition(
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", (Permission(actions=("*",)),)
)
READER = RoleDefinition(
    "acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", (Permission(actions=("*/read",)),)
)
USER_ACCESS_ADMINISTRATOR = RoleDefinition(
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
    "User Access Administrator",
    (Permission(actions=("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*")),),
)

BUILTIN_ROLES: tuple[RoleDefinition, ...] = (
    CONNECTION_SECRETS_READER,
    KEYVAULT_SECRETS_USER,
    KEYVAULT_SECRETS_OFFICER,
    AZUREML_DATA_SCIENTIST,
    CONTRIBUTOR,
    OWNER,
    READER,
    USER_ACCESS_ADMINISTRATOR,
)


def role_guid(role_definition_id: str) -> str:
    """Return the GUID at the end of a role definition id (or the GUID itself), lower case."""
    return role_definition_id.strip().rstrip("/").rsplit("/", 1)[-1].lower()
