"""The built-in demo state the mock serves when no state file is given.

``{mock_url}`` in a connection's ``target`` or ``metadata`` is replaced with the server's
own base URL at serve time, so the demo connection points at the mock's downstream API.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from secretinj_runtime.mock.model import DEFAULT_DEPLOYER_CLIENT_ID, DEFAULT_WORKSPACE, StateSpec
from secretinj_runtime.mock.state import parse_state, read_state_file

DEFAULT_MSI_SECRET = "mock-msi-secret"  # noqa: S105 - a fixed demo value, not a secret
MOCK_URL_PLACEHOLDER = "{mock_url}"

AOAI_KEY = "mock-aoai-key-0001"
OPENAI_API_KEY = "mock-openai-key-0001"
OTHER_KEY = "mock-other-key-0001"
DB_PASSWORD_VERSIONS = ("mock-db-password-v1", "mock-db-password-v2")


def default_state_dict() -> dict[str, Any]:
    """Return the demo state in the state-file shape (a fresh copy each call)."""
    return {
        "workspace": DEFAULT_WORKSPACE,
        "identities": {"system": True, "user_assigned": []},
        "connections": {
            "aoai-conn": {
                "authType": "ApiKey",
                "category": "AzureOpenAI",
                "target": f"{MOCK_URL_PLACEHOLDER}/openai",
                "metadata": {
                    "ApiType": "azure",
                    "ApiVersion": "2024-02-01",
                    "DeploymentName": "gpt-demo",
                },
                "credentials": {"key": AOAI_KEY},
            },
            "multi-conn": {
                "authType": "CustomKeys",
                "category": "CustomKeys",
                "target": MOCK_URL_PLACEHOLDER,
                "metadata": {"OPENAI_API_VERSION": "2024-02-01"},
                "credentials": {"keys": {"OPENAI_API_KEY": OPENAI_API_KEY, "OTHER_KEY": OTHER_KEY}},
            },
        },
        "vaults": {"demo-kv": {"db-password": list(DB_PASSWORD_VERSIONS)}},
        "access": {"workspace": True, "vaults": {"demo-kv": True}},
        "throttle": {"capacity": 200, "refill_per_s": 10.0},
        "downstream": {"connection": "aoai-conn", "credential": "key"},
        # the person who deploys: `secretinj-mock env --as deployer` makes the default
        # credential act as them (what `secretinj preflight` runs with)
        "deployer": {"client_id": DEFAULT_DEPLOYER_CLIENT_ID, "principal_type": "User"},
        "role_assignments": [
            {"principal": "deployer", "role": "Reader", "scope": "resource_group"},
            {"principal": "deployer", "role": "AzureML Data Scientist", "scope": "workspace"},
            {
                "principal": "deployer",
                "role": "Key Vault Secrets Officer",
                "scope": "vault:demo-kv",
            },
        ],
        # the sample's endpoint (sample_score/endpoint.yml), already created
        "endpoints": {
            "secretinj-demo": {
                "identity": "system_assigned",
                "enforce_access_to_default_secret_stores": "enabled",
            }
        },
    }


def default_state() -> StateSpec:
    """Return the demo state, validated."""
    return parse_state(default_state_dict())


def load_state(source: str | Path | Mapping[str, Any] | StateSpec | None) -> StateSpec:
    """Load a state from a file path (JSON or YAML), a mapping, or ``None`` (the demo state)."""
    if source is None:
        return default_state()
    if isinstance(source, StateSpec):
        return source
    if isinstance(source, Mapping):
        return parse_state(source)
    return read_state_file(Path(source))


def dump_state_yaml(spec: StateSpec | None = None) -> str:
    """Render a state (default: the demo state) as YAML that :func:`parse_state` reads back."""
    data = default_state_dict() if spec is None else spec.to_dict()
    header = "# secretinj-mock state; {mock_url} is replaced with the server URL at start\n"
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def substitute_url(value: str, base_url: str | None) -> str:
    """Replace the ``{mock_url}`` placeholder with ``base_url`` (when known)."""
    if base_url is None:
        return value
    return value.replace(MOCK_URL_PLACEHOLDER, base_url.rstrip("/"))
