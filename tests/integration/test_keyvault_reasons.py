"""Key Vault and ARM as they really answer (the strict mock), through the real runtime."""

from __future__ import annotations

import pytest

import secretinj_runtime as sir
from secretinj_runtime import Status
from secretinj_runtime.mock.testing import MockServer
from tests.fakes import FakeClock

DB = "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}"
AOAI_KEY = "${{azureml://connections/aoai-conn/credentials/key}}"


def resolve_waiting(mock: MockServer, wait_s: float = 600) -> sir.VariableStatus:
    clock = FakeClock()
    resolver = sir.SecretResolver(clock=clock, sleep=clock.sleep)
    report = resolver.resolve_environment(
        environ={"DB": DB}, required=False, wait_for_access_s=wait_s
    )
    return report.variables["DB"]


def test_a_disabled_secret_fails_at_once_with_its_own_fix(mock: MockServer) -> None:
    mock.update_secret("demo-kv", "db-password", enabled=False)
    status = resolve_waiting(mock)
    assert status.status is Status.ACCESS_DENIED
    assert "is disabled: enable it" in (status.error or "")
    assert mock.count("keyvault") == 1, "not a role still propagating: no waiting"


def test_a_vault_firewall_fails_at_once_with_its_own_fix(mock: MockServer) -> None:
    mock.configure_vault("demo-kv", firewall="deny")
    status = resolve_waiting(mock)
    assert status.status is Status.ACCESS_DENIED
    assert "firewall of vault 'demo-kv'" in (status.error or "")
    assert mock.count("keyvault") == 1


def test_a_missing_vault_role_is_waited_for(mock: MockServer) -> None:
    mock.revoke(vault="demo-kv")
    status = resolve_waiting(mock, wait_s=120)
    assert status.status is Status.ACCESS_DENIED
    assert "'Key Vault Secrets User' role" in (status.error or "")
    assert mock.count("keyvault") > 3, "ForbiddenByRbac may be propagating: retried"


def test_an_empty_secret_value_is_a_value(mock: MockServer) -> None:
    mock.set_secret("demo-kv", "empty-one", "")
    env = {"EMPTY": "${{keyvault:https://demo-kv.vault.azure.net/secrets/empty-one}}"}
    report = sir.SecretResolver().resolve_environment(environ=env)
    assert report.ok
    assert env["EMPTY"] == ""


@pytest.mark.parametrize("shape", ["2017-09-01", "2019-08-01"])
def test_both_managed_identity_token_shapes(
    mock: MockServer, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    mock.apply_env(monkeypatch, shape)  # type: ignore[arg-type]
    env = {"K": AOAI_KEY, "DB": DB}
    assert sir.SecretResolver().resolve_environment(environ=env).ok
    assert mock.count("msi") == 2


def test_a_rotation_after_revocation_reaches_the_environment(mock: MockServer) -> None:
    clock = FakeClock()
    resolver = sir.SecretResolver(
        clock=clock, sleep=clock.sleep, cache_ttl_s=60, revocation_grace_s=120
    )
    env = {"K": AOAI_KEY}
    resolver.resolve_environment(environ=env)
    announced: list[str] = []
    resolver.on_change("K", announced.append)
    mock.delete_connection("aoai-conn")  # deleted and recreated with a new key: a rotation
    clock.now += 61
    assert resolver.get_secret("K", environ=env) == env["K"], "inside the grace"
    clock.now += 200
    with pytest.raises(sir.NotFoundError):
        resolver.get_secret("K", environ=env)
    mock.put_connection(
        "aoai-conn",
        {
            "authType": "ApiKey",
            "category": "AzureOpenAI",
            "target": "https://aoai.example.com",
            "credentials": {"key": "recreated-key-0123456789"},
        },
    )
    clock.now += 61
    assert resolver.get_secret("K", environ=env) == "recreated-key-0123456789"
    assert env["K"] == "recreated-key-0123456789"
    assert announced == ["K"]
