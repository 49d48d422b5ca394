"""What preflight works from: the YAML files, the workspace, the cloud, the endpoints.

The deployment and endpoint YAML, the workspace, the cloud and the endpoint overrides, read
the way the runtime reads them.

Problems that make the run meaningless (an unreadable file, a malformed setting) raise
`InputError`, which the command turns into exit code 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._constants import EnvironmentVariables
from ..clouds import Cloud, get_cloud
from ..errors import SecretInjectionError
from ..workspace import Workspace, workspace_from_environ

ENFORCE_FLAG = "enforce_access_to_default_secret_stores"
SYSTEM_ASSIGNED, USER_ASSIGNED = "system_assigned", "user_assigned"


class InputError(Exception):
    """A file or setting preflight needs is unreadable or malformed (exit code 2)."""


@dataclass(frozen=True)
class EndpointYaml:
    """What an endpoint YAML says about secret injection."""

    name: str | None
    identity: str  # system_assigned | user_assigned | none
    user_assigned: tuple[str, ...] = ()  # ARM ids of user-assigned identities
    enforce: str | None = None  # the property bag flag, as written


@dataclass
class Inputs:
    """Everything preflight reads before it makes any call."""

    deployment_path: str
    variables: dict[str, str]
    endpoint_name: str | None
    endpoint: EndpointYaml | None
    workspace: Workspace | None
    workspace_source: str
    cloud: Cloud
    arm_endpoint: str
    keyvault_endpoint: str | None
    notes: list[str] = field(default_factory=list)


def _load_yaml(path: str) -> Any:
    import yaml

    from ..deployment_yaml import YamlFileError, compose_file

    compose_file(path)  # the same error messages as `secretinj lint` (file and line)
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as ex:  # pragma: no cover - compose_file caught it
        raise YamlFileError(f"{path}: {ex}") from None


def read_endpoint_yaml(path: str) -> EndpointYaml:
    """Read an online-endpoint YAML (CLI v2): name, identity and the enforce flag."""
    from ..deployment_yaml import YamlFileError

    try:
        data = _load_yaml(path)
    except YamlFileError as ex:
        raise InputError(str(ex)) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not an endpoint YAML (expected a mapping)")
    identity = data.get("identity") or {"type": SYSTEM_ASSIGNED}  # the CLI's default
    if not isinstance(identity, dict):
        raise InputError(f"{path}: identity must be a mapping with a type")
    kind = str(identity.get("type", SYSTEM_ASSIGNED)).strip().lower().replace("-", "_")
    if kind not in (SYSTEM_ASSIGNED, USER_ASSIGNED, "none"):
        raise InputError(
            f"{path}: identity.type {kind!r}: expected system_assigned or user_assigned"
        )
    uais = identity.get("user_assigned_identities") or []
    if isinstance(uais, str | dict):  # the docs show a single string in one place
        uais = [uais]
    ids: list[str] = []
    for i, item in enumerate(uais if isinstance(uais, list) else [None]):
        value = item.get("resource_id") if isinstance(item, dict) else item
        if not isinstance(value, str) or not value.strip().startswith("/subscriptions/"):
            raise InputError(
                f"{path}: identity.user_assigned_identities[{i}] must give a resource_id "
                "(/subscriptions/.../userAssignedIdentities/<name>)"
            )
        ids.append(value.strip())
    props = data.get("properties") or {}
    flag = props.get(ENFORCE_FLAG) if isinstance(props, dict) else None
    name = data.get("name")
    return EndpointYaml(
        str(name) if name else None,
        kind,
        tuple(ids),
        None if flag is None else str(flag).strip(),
    )


def enforce_enabled(flag: str | None) -> bool:
    """Whether a property-bag value turns the flag on (``enabled``; ``true`` tolerated)."""
    return flag is not None and flag.strip().lower() in ("enabled", "true")


def read_inputs(
    deployment: str,
    *,
    endpoint: str | None,
    workspace: str | None,
    environ: Mapping[str, str],
) -> Inputs:
    """Read the files and resolve the settings; raise `InputError` for unusable input."""
    from ..deployment_yaml import YamlFileError, load_environment_variables

    try:
        variables = load_environment_variables(deployment)
        data = _load_yaml(deployment)
    except YamlFileError as ex:
        raise InputError(str(ex)) from None
    endpoint_yaml = read_endpoint_yaml(endpoint) if endpoint else None
    name = endpoint_yaml.name if endpoint_yaml and endpoint_yaml.name else None
    if name is None and isinstance(data, dict) and data.get("endpoint_name"):
        name = str(data["endpoint_name"])
    ws, source = _workspace(workspace, environ, variables)
    env = EnvironmentVariables
    try:
        cloud = get_cloud(environ.get(env.CLOUD) or variables.get(env.CLOUD) or None)
    except SecretInjectionError as ex:
        raise InputError(ex.message) from None
    arm, vault = _endpoints(environ, cloud)
    return Inputs(deployment, variables, name, endpoint_yaml, ws, source, cloud, arm, vault)


def _workspace(
    argument: str | None, environ: Mapping[str, str], variables: Mapping[str, str]
) -> tuple[Workspace | None, str]:
    if argument:
        try:
            return Workspace.from_resource_id(argument), "--workspace"
        except ValueError as ex:
            raise InputError(f"--workspace: {ex}") from None
    from ..references import is_reference

    literal = {k: v for k, v in variables.items() if not is_reference(v)}
    for where, source in ((environ, "the environment"), (literal, "the deployment's variables")):
        try:
            found = workspace_from_environ(where)
        except SecretInjectionError as ex:
            raise InputError(f"{source}: {ex.message}") from None
        if found is not None:
            return found, source
    return None, ""


def _endpoints(environ: Mapping[str, str], cloud: Cloud) -> tuple[str, str | None]:
    from ..endpoints import check_endpoint

    env = EnvironmentVariables
    try:
        arm = environ.get(env.ARM_ENDPOINT, "").strip()
        vault = environ.get(env.KEYVAULT_ENDPOINT, "").strip()
        arm_base = check_endpoint(arm, setting=env.ARM_ENDPOINT) if arm else cloud.arm_endpoint
        vault_base = check_endpoint(vault, setting=env.KEYVAULT_ENDPOINT) if vault else None
    except SecretInjectionError as ex:
        raise InputError(ex.message) from None
    return arm_base, vault_base
