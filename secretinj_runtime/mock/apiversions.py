"""The api-versions each emulated API accepts, and the error each answers for another one.

Azure refuses an api-version it does not serve: ARM with 400 ``InvalidApiVersionParameter``
(listing the versions it supports), Key Vault with 400 ``BadParameter`` ("The specified
version (x) is not recognized..."). The mock does the same, per API, from lists that the
state file (``api_versions``) and the control API (``/_mock/api-versions``) can replace.
"""

from __future__ import annotations

from collections.abc import Mapping

from secretinj_runtime.mock.authtypes import StateError

#: api-versions per emulated API, oldest first.
DEFAULT_API_VERSIONS: dict[str, tuple[str, ...]] = {
    # Microsoft.MachineLearningServices: ListSecrets (and the workspace's other resources)
    "ml": (
        "2023-08-01-preview",
        "2024-04-01",
        "2024-10-01",
        "2025-04-01",
        "2025-09-01",
        "2025-12-01",
        "2026-03-01",
    ),
    # Key Vault data plane
    "keyvault": ("2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6"),
    # the managed-identity token endpoint: Azure ML / App Service 2017-09-01, App Service 2019-08-01
    "msi": ("2017-09-01", "2019-08-01"),
    # Microsoft.Authorization: permissions, role assignments, role definitions
    "authorization": ("2015-07-01", "2018-01-01-preview", "2020-04-01-preview", "2022-04-01"),
    # Microsoft.ManagedIdentity: user-assigned identities
    "managedidentity": ("2018-11-30", "2023-01-31", "2024-11-30"),
    # Microsoft.KeyVault (ARM): vaults and their secrets' metadata
    "keyvault_arm": (
        "2019-09-01",
        "2021-10-01",
        "2022-07-01",
        "2023-02-01",
        "2023-07-01",
        "2024-11-01",
    ),
}
API_NAMES = tuple(DEFAULT_API_VERSIONS)


def parse_api_versions(raw: object, where: str = "api_versions") -> dict[str, tuple[str, ...]]:
    """Validate ``{api: [version, ...]}`` overrides (every api named must be a known one)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise StateError(f"{where}: must be a mapping of api name to a list of versions")
    out: dict[str, tuple[str, ...]] = {}
    for api, versions in raw.items():
        out[str(api)] = validate_versions(str(api), versions, f"{where}.{api}")
    return out


def validate_versions(api: str, versions: object, where: str) -> tuple[str, ...]:
    """Check one api's version list: a known api and a non-empty list of strings."""
    if api not in DEFAULT_API_VERSIONS:
        raise StateError(f"{where}: unknown api (expected one of {list(API_NAMES)})")
    if not isinstance(versions, list | tuple) or not versions:
        raise StateError(f"{where}: must be a non-empty list of api-versions")
    for i, version in enumerate(versions):
        if not isinstance(version, str) or not version.strip():
            raise StateError(f"{where}[{i}]: must be a non-empty string (quote dates in YAML)")
    return tuple(v.strip() for v in versions)


class ApiVersions:
    """The live lists (defaults overlaid with the state's), changeable at run time."""

    def __init__(self, overrides: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self._initial = dict(overrides or {})
        self.versions: dict[str, tuple[str, ...]] = {}
        self.reset()

    def reset(self) -> None:
        """Return to the defaults overlaid with the state file's lists."""
        self.versions = {**DEFAULT_API_VERSIONS, **self._initial}

    def set(self, api: str, versions: object) -> tuple[str, ...]:
        """Replace the list of one api (validated); return it."""
        if api not in DEFAULT_API_VERSIONS:
            raise StateError(f"api: unknown api {api!r} (expected one of {list(API_NAMES)})")
        self.versions[api] = validate_versions(api, versions, "versions")
        return self.versions[api]

    def accepts(self, api: str, version: str) -> bool:
        """Return whether ``api`` serves ``version`` (case-insensitive, as Azure compares)."""
        return version.lower() in {v.lower() for v in self.versions[api]}

    def arm_invalid_message(self, api: str, version: str) -> str:
        """ARM's ``InvalidApiVersionParameter`` message, listing the supported versions."""
        supported = ",".join(reversed(self.versions[api]))
        return f"The api-version '{version}' is invalid. The supported versions are '{supported}'."

    def keyvault_invalid_message(self, version: str) -> str:
        """Key Vault's ``BadParameter`` message for an unknown api-version."""
        latest = self.versions["keyvault"][-1]
        return (
            f"The specified version ({version}) is not recognized. Consider using the latest "
            f"supported version ({latest})."
        )

    def describe(self) -> dict[str, list[str]]:
        """Return the lists as JSON-ready data."""
        return {api: list(versions) for api, versions in self.versions.items()}
