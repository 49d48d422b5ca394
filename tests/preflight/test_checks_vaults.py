"""Check 5 against the mock: vaults, the endpoint identity's access, secrets and versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from secretinj_runtime.mock.store import version_id
from secretinj_runtime.mock.testing import MockServer
from tests.preflight.conftest import Runner, deployment_yaml, endpoint_yaml

KV = "${{keyvault:https://%s.vault.azure.net/secrets/%s}}"
PINNED = version_id("demo-kv", "db-password", 1)  # the latest demo version


def deployment(tmp_path: Path, **variables: str) -> Path:
    return deployment_yaml(tmp_path, variables, endpoint="secretinj-demo")


def test_vault_rbac_model_and_firewall(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    dep = deployment(tmp_path, DB=KV % ("demo-kv", f"db-password/{PINNED}"))
    ok = preflight(deployment=dep, endpoint=None)
    assert ok.status("vault", "demo-kv") == "PASS"
    assert not ok.checks("vault-network")
    demo_mock.configure_vault("demo-kv", rbac_authorization=False, firewall="deny")
    bad = preflight(deployment=dep, endpoint=None)
    vault = bad.one("vault", "demo-kv")
    assert vault["status"] == "FAIL"
    assert "access policies" in vault["detail"]
    assert vault["fix"] == (
        "az keyvault update --name demo-kv --resource-group demo-rg "
        "--enable-rbac-authorization true"
    )
    assert bad.status("vault-network", "demo-kv") == "WARN"
    assert bad.status("vault-access") == "UNKNOWN"  # not checked: not an RBAC vault
    # the deployer's data-plane listing is refused by the firewall: ARM still tells
    assert bad.status("secret", "DB") == "PASS"
    assert "ARM, current version" in bad.one("secret", "DB")["detail"]


def test_vault_access_of_the_endpoint_identity(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    dep = deployment(tmp_path, DB=KV % ("demo-kv", f"db-password/{PINNED}"))
    demo_mock.revoke("system", vault="demo-kv")
    result = preflight(deployment=dep, endpoint=None)
    check = result.one("vault-access")
    assert check["status"] == "FAIL"
    assert "getSecret/action" in check["detail"]
    vault_id = demo_mock.state.authz.vault_id("demo-kv")
    assert check["fix"].endswith(f"--role 'Key Vault Secrets User' --scope {vault_id}")
    # not created yet: never granted automatically, even with the flag
    fresh = preflight(deployment=dep, endpoint=endpoint_yaml(tmp_path, name="new-ep"))
    assert fresh.status("vault-access") == "WARN"
    assert "never granted automatically" in fresh.one("vault-access")["detail"]
    assert "az ml online-endpoint show --name new-ep" in fresh.one("vault-access")["fix"]


def test_secret_states(preflight: Runner, demo_mock: MockServer, tmp_path: Path) -> None:
    disabled = demo_mock.set_secret("demo-kv", "off", "v", enabled=False)
    expired = demo_mock.set_secret("demo-kv", "old", "v", exp=1000)
    dep = deployment(
        tmp_path,
        PINNED=KV % ("demo-kv", f"db-password/{PINNED}"),
        LATEST=KV % ("demo-kv", "db-password"),
        WRONG_VERSION=KV % ("demo-kv", f"db-password/{'0' * 32}"),
        MISSING=KV % ("demo-kv", "nope"),
        DISABLED=KV % ("demo-kv", f"off/{disabled}"),
        EXPIRED=KV % ("demo-kv", f"old/{expired}"),
        NO_VAULT=KV % ("no-such-kv", "x"),
    )
    result = preflight(deployment=dep, endpoint=None)
    assert result.status("secret", "PINNED") == "PASS"
    latest = result.one("secret", "LATEST")
    assert latest["status"] == "WARN"
    assert latest["fix"] == f"pin it: {KV % ('demo-kv', f'db-password/{PINNED}')}"
    wrong = result.one("secret", "WRONG_VERSION")
    assert wrong["status"] == "FAIL"
    assert (
        "az keyvault secret list-versions --vault-name demo-kv --name db-password" in wrong["fix"]
    )
    missing = result.one("secret", "MISSING")
    assert missing["status"] == "FAIL"
    assert missing["fix"].startswith("az keyvault secret set --vault-name demo-kv --name nope")
    off = result.one("secret", "DISABLED")
    assert off["status"] == "FAIL"
    assert "disabled" in off["detail"]
    assert off["fix"].endswith(f"--version {disabled} --enabled true")
    assert result.status("secret", "EXPIRED") == "WARN"
    assert "expired at 1970-01-01" in result.one("secret", "EXPIRED")["detail"]
    assert result.status("secret", "NO_VAULT") == "FAIL"
    assert result.status("vault", "no-such-kv") == "UNKNOWN"
    assert demo_mock.count("keyvault") == 0  # never a secret GET


def test_deleted_secret_is_not_found(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    demo_mock.delete_secret("demo-kv", "db-password")
    dep = deployment(tmp_path, DB=KV % ("demo-kv", f"db-password/{PINNED}"))
    assert preflight(deployment=dep, endpoint=None).status("secret", "DB") == "FAIL"


def test_listing_refused_falls_back_to_arm(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path
) -> None:
    for a in demo_mock.call("GET", "/role-assignments"):
        if a["role"] == "Key Vault Secrets Officer":
            demo_mock.call("DELETE", f"/role-assignments/{a['id']}")
    older = version_id("demo-kv", "db-password", 0)
    dep = deployment(
        tmp_path,
        CURRENT=KV % ("demo-kv", f"db-password/{PINNED}"),
        OLDER=KV % ("demo-kv", f"db-password/{older}"),
    )
    result = preflight(deployment=dep, endpoint=None)
    assert result.status("secret", "CURRENT") == "PASS"
    unknown = result.one("secret", "OLDER")
    assert unknown["status"] == "UNKNOWN"
    assert "readMetadata" in unknown["detail"]
    assert demo_mock.count("keyvault_versions") == 2
    assert demo_mock.count("keyvault") == 0


def test_a_vault_host_that_does_not_resolve(
    preflight: Runner, demo_mock: MockServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    looked_up: list[str] = []
    real = socket.getaddrinfo

    def no_such_host(host: str, *args: Any, **kwargs: Any) -> Any:
        if not str(host).endswith(".vault.azure.net"):
            return real(host, *args, **kwargs)  # the mock on loopback
        looked_up.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    dep = deployment(tmp_path, DB=KV % ("gone-kv", f"db-password/{PINNED}"))
    # no Key Vault override: the vault's own host, which DNS does not know
    result = preflight(deployment=dep, endpoint=None, env={"SECRETINJ_KEYVAULT_ENDPOINT": ""})
    check = result.one("secret", "DB")
    assert check["status"] == "FAIL"
    assert check["detail"] == "no vault 'gone-kv' in AzureCloud"
    assert looked_up == ["gone-kv.vault.azure.net"]
    assert demo_mock.count("keyvault_versions") == 0
