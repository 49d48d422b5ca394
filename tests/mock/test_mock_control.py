"""Control API: connections, secrets, access, clock, reset, errors."""

from __future__ import annotations

import pytest
import requests

from secretinj_runtime.mock.defaults import AOAI_KEY
from secretinj_runtime.mock.testing import ControlError, MockServer
from tests.mock.mockhelp import get_token, kv_get, kv_token, list_secrets


def test_health_and_state(mock: MockServer) -> None:
    assert mock.call("GET", "/health") == {"status": "ok", "url": mock.url}
    state = mock.call("GET", "/state")
    assert set(state["connections"]) == {"aoai-conn", "multi-conn"}
    assert list(state["vaults"]["demo-kv"]) == ["db-password"]
    assert state["identities"] == ["system"]
    assert AOAI_KEY not in str(state)


def test_connection_crud(mock: MockServer) -> None:
    token = get_token(mock)
    new = {
        "authType": "PAT",
        "category": "GitHub",
        "target": "https://github.com",
        "credentials": {"pat": "p1"},
    }
    mock.put_connection("gh-conn", new)
    assert list_secrets(mock, "gh-conn", token).json()["properties"]["credentials"] == {"pat": "p1"}
    shown = mock.call("GET", "/connections/gh-conn")
    assert shown["credentials"] == {"pat": "***"}
    assert shown["authType"] == "PAT"
    assert mock.call("GET", "/connections/multi-conn")["credentials"]["keys"]["OTHER_KEY"] == "***"
    resp = requests.put(
        f"{mock.url}/_mock/connections/gh-conn",
        json={**new, "credentials": {"pat": "p2"}},
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.json()["created"] is False
    assert "gh-conn" in mock.call("GET", "/connections")
    mock.delete_connection("gh-conn")
    assert list_secrets(mock, "gh-conn", token).status_code == 404
    with pytest.raises(ControlError) as err:
        mock.delete_connection("gh-conn")
    assert err.value.status == 404
    with pytest.raises(ControlError, match="404"):
        mock.call("GET", "/connections/gh-conn")


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            {"authType": "Foo", "category": "c", "target": "t"},
            "connection.authType: unknown auth type 'Foo'",
        ),
        (
            {"authType": "ApiKey", "category": "c", "target": "t"},
            "connection.credentials: required",
        ),
        (
            {"authType": "ApiKey", "category": "c", "target": "t", "credentials": {"key": 1}},
            "credentials.key",
        ),
        ({"category": "c", "target": "t"}, "connection.authType: must be a non-empty string"),
    ],
)
def test_bad_connection_is_400_naming_the_field(
    mock: MockServer, body: dict[str, object], needle: str
) -> None:
    resp = requests.put(f"{mock.url}/_mock/connections/bad-conn", json=body, timeout=10)
    assert resp.status_code == 400
    assert needle in resp.json()["error"]["message"]


def test_rotate_errors(mock: MockServer) -> None:
    with pytest.raises(ControlError, match="404"):
        mock.rotate_connection_key("nope-conn")
    with pytest.raises(ControlError, match="credential"):
        mock.rotate_connection_key("aoai-conn", "pat")
    with pytest.raises(ControlError, match="404"):
        mock.rotate_secret("demo-kv", "missing", "v")
    with pytest.raises(ControlError, match="vault: invalid vault name"):
        mock.set_secret("x", "name", "v")
    with pytest.raises(ControlError, match="name: invalid secret name"):
        mock.set_secret("demo-kv", "bad_name", "v")
    with pytest.raises(ControlError, match="value"):
        mock.call("POST", "/vaults/demo-kv/secrets/s", {"value": 3})
    with pytest.raises(ControlError, match="value"):
        mock.call("POST", "/vaults/demo-kv/secrets/s", {})


def test_delete_secret(mock: MockServer) -> None:
    mock.call("DELETE", "/vaults/demo-kv/secrets/db-password")
    assert kv_get(mock, "demo-kv", "db-password", kv_token(mock)).status_code == 404
    with pytest.raises(ControlError, match="404"):
        mock.call("DELETE", "/vaults/demo-kv/secrets/db-password")
    assert mock.call("GET", "/vaults") == {"demo-kv": {}}


def test_access_grant_revoke_validation(mock: MockServer) -> None:
    with pytest.raises(ControlError, match="identity: unknown identity 'bob'"):
        mock.grant("bob")
    with pytest.raises(ControlError, match="vault: unknown vault 'nope-kv'"):
        mock.grant(vault="nope-kv")
    with pytest.raises(ControlError, match="vault: required"):
        mock.call("POST", "/access/grant", {"scope": "vault"})
    with pytest.raises(ControlError, match="propagation_delay_s"):
        mock.call("POST", "/access/grant", {"propagation_delay_s": -1})
    with pytest.raises(ControlError, match="idnetity: Extra inputs"):
        mock.call("POST", "/access/grant", {"idnetity": "system"})
    mock.revoke()
    access = mock.call("GET", "/access")
    assert access["workspace"]["revoked"] == ["system"]
    mock.grant(propagation_delay_s=10)
    assert mock.call("GET", "/access")["workspace"]["pending"] == {"system": 10.0}
    assert list_secrets(mock, "aoai-conn", get_token(mock)).status_code == 403
    mock.advance_clock(10)
    assert list_secrets(mock, "aoai-conn", get_token(mock)).status_code == 200
    assert mock.call("GET", "/clock")["offset_s"] == 10


def test_reset_restores_the_initial_state(mock: MockServer) -> None:
    token = kv_token(mock)
    mock.delete_connection("aoai-conn")
    mock.rotate_secret("demo-kv", "db-password", "new")
    mock.revoke(vault="demo-kv")
    mock.set_latency("all", 1)
    mock.queue_fault("msi", 500)
    mock.advance_clock(100)
    mock.reset()
    assert kv_get(mock, "demo-kv", "db-password", token).json()["value"] != "new"
    assert list_secrets(mock, "aoai-conn", get_token(mock)).status_code == 200
    assert mock.call("GET", "/latency") == {}
    assert mock.call("GET", "/faults") == []
    assert mock.call("GET", "/clock")["offset_s"] == 0


def test_unknown_routes_and_methods_are_json(mock: MockServer) -> None:
    for resp in (
        requests.get(f"{mock.url}/nope", timeout=10),
        requests.get(f"{mock.url}/_mock/nope", timeout=10),
        requests.delete(f"{mock.url}/msi/token", timeout=10),
    ):
        assert resp.status_code in (404, 405)
        assert resp.json()["error"]["code"] in ("NotFound", "MethodNotAllowed")
    # ARM authenticates first, then finds no such GET
    get_listsecrets = f"{mock.url}{mock.workspace}/connections/aoai-conn/listsecrets"
    assert requests.get(get_listsecrets, timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {get_token(mock)}"}
    resp = requests.get(get_listsecrets, headers=auth, timeout=10)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "InvalidResourceType"


def test_bad_json_and_types_are_422(mock: MockServer) -> None:
    raw = requests.post(
        f"{mock.url}/_mock/faults",
        data=b"{oops",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert raw.status_code == 422
    typed = requests.put(
        f"{mock.url}/_mock/latency", json={"kind": "msi", "latency_s": "slow"}, timeout=10
    )
    assert typed.status_code == 422
    error = typed.json()["error"]
    assert error["details"][0]["field"] == "latency_s"
    assert error["message"].startswith("latency_s:")
    assert (
        requests.put(f"{mock.url}/_mock/connections/x-conn", json=[1], timeout=10).status_code
        == 422
    )


def test_requests_and_counters(mock: MockServer) -> None:
    token = get_token(mock)
    list_secrets(mock, "aoai-conn", token)
    list_secrets(mock, "Multi-Conn", token)
    counters = mock.call("GET", "/counters")
    assert counters["routes"] == {"msi": 1, "listsecrets": 2}
    assert counters["names"]["listsecrets"] == {"aoai-conn": 1, "multi-conn": 1}
    assert mock.count("listsecrets", "MULTI-CONN") == 1
    entries = mock.requests()
    assert [e["route"] for e in entries] == ["msi", "listsecrets", "listsecrets"]
    assert set(entries[0]) >= {"method", "path", "route", "status", "duration_ms", "identity", "ts"}
    assert entries[0]["path"] == "/msi/token"  # no query string
    mock.call("DELETE", "/requests")
    assert mock.requests() == []
    assert mock.count("listsecrets") == 0
