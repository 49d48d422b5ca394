"""ARM ListSecrets: shapes per auth type, every error envelope, headers, throttling."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from secretinj_runtime.mock.clock import ManualClock
from secretinj_runtime.mock.defaults import AOAI_KEY
from secretinj_runtime.mock.testing import MockServer
from tests.mock.mockhelp import API, VALID, get_token, kv_token, list_secrets, listsecrets_url

CONNECTION_TYPE = "Microsoft.MachineLearningServices/workspaces/connections"


def assert_arm_error(resp: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert set(error) == {"code", "message", "target", "details", "additionalInfo"}
    assert error["code"] == code
    assert resp.headers["x-ms-request-id"]
    assert resp.headers["x-ms-correlation-request-id"]
    assert resp.headers["x-ms-ratelimit-remaining-subscription-writes"].isdigit()
    return dict(error)


def test_default_connection_shape(mock: MockServer) -> None:
    resp = list_secrets(mock, "aoai-conn", get_token(mock))
    assert resp.status_code == 200
    assert resp.headers["x-ms-ratelimit-remaining-subscription-writes"] == "199"
    body = resp.json()
    assert body == {
        "id": f"{mock.workspace}/connections/aoai-conn",
        "name": "aoai-conn",
        "type": CONNECTION_TYPE,
        "properties": {
            "authType": "ApiKey",
            "category": "AzureOpenAI",
            "target": f"{mock.url}/openai",
            "metadata": {
                "ApiType": "azure",
                "ApiVersion": "2024-02-01",
                "DeploymentName": "gpt-demo",
            },
            "credentials": {"key": AOAI_KEY},
        },
    }


@pytest.mark.parametrize("auth_type", sorted(VALID))
def test_every_auth_type_shape(mock: MockServer, auth_type: str) -> None:
    connection: dict[str, Any] = {
        "authType": auth_type,
        "category": "CustomKeys",
        "target": "https://example.com/",
        "metadata": {"k": "v"},
        "expiryTime": "2030-01-01T00:00:00Z",
    }
    if VALID[auth_type] is not None:
        connection["credentials"] = VALID[auth_type]
    mock.put_connection("conn-x", connection)
    resp = list_secrets(mock, "CONN-X", get_token(mock))  # names are case-insensitive
    assert resp.status_code == 200
    body = resp.json()
    assert body["name"] == "conn-x"
    assert body["type"] == CONNECTION_TYPE
    props = body["properties"]
    assert props["authType"] == auth_type
    assert props["expiryTime"] == "2030-01-01T00:00:00Z"
    assert props["metadata"] == {"k": "v"}
    assert props["target"] == "https://example.com/"
    if VALID[auth_type] is None:
        assert "credentials" not in props
    else:
        assert props["credentials"] == VALID[auth_type]


def test_custom_keys_connection(mock: MockServer) -> None:
    props = list_secrets(mock, "multi-conn", get_token(mock)).json()["properties"]
    assert props["authType"] == "CustomKeys"
    assert set(props["credentials"]["keys"]) == {"OPENAI_API_KEY", "OTHER_KEY"}
    assert props["target"] == mock.url


def test_auth_errors(mock: MockServer, clock: ManualClock) -> None:
    missing = assert_arm_error(list_secrets(mock, "aoai-conn", None), 401, "AuthenticationFailed")
    assert "Authorization" in missing["message"]
    assert_arm_error(list_secrets(mock, "aoai-conn", "garbage"), 401, "InvalidAuthenticationToken")
    wrong = list_secrets(mock, "aoai-conn", kv_token(mock))
    assert_arm_error(wrong, 401, "InvalidAuthenticationTokenAudience")
    assert "invalid_token" in wrong.headers["WWW-Authenticate"]
    token = get_token(mock)
    clock.advance(3601)
    assert_arm_error(list_secrets(mock, "aoai-conn", token), 401, "ExpiredAuthenticationToken")


def test_api_version_required(mock: MockServer) -> None:
    token = get_token(mock)
    headers = {"Authorization": f"Bearer {token}"}
    resp = requests.post(listsecrets_url(mock, "aoai-conn"), headers=headers, timeout=10)
    error = assert_arm_error(resp, 400, "MissingApiVersionParameter")
    assert "api-version" in error["message"]
    bad = requests.post(
        listsecrets_url(mock, "aoai-conn"),
        params={"api-version": "latest"},
        headers=headers,
        timeout=10,
    )
    assert_arm_error(bad, 400, "InvalidApiVersionParameter")


def test_forbidden_with_real_wording(mock: MockServer) -> None:
    mock.revoke("system")
    error = assert_arm_error(
        list_secrets(mock, "aoai-conn", get_token(mock)), 403, "AuthorizationFailed"
    )
    message = error["message"]
    assert message.startswith("The client 'system' with object id '")
    assert (
        "does not have authorization to perform action "
        "'Microsoft.MachineLearningServices/workspaces/connections/listsecrets/action' over scope "
        f"'{mock.workspace}/connections/aoai-conn' or the scope is invalid. If access was recently "
        "granted, please refresh your credentials."
    ) in message


def test_not_found(mock: MockServer) -> None:
    token = get_token(mock)
    error = assert_arm_error(list_secrets(mock, "nope-conn", token), 404, "ResourceNotFound")
    assert error["message"] == "Connection nope-conn can't be found in this workspace"
    headers = {"Authorization": f"Bearer {token}"}
    cases = {
        "WorkspaceNotFound": mock.workspace.replace("demo-ws", "other-ws"),
        "ResourceGroupNotFound": mock.workspace.replace("demo-rg", "other-rg"),
        "SubscriptionNotFound": mock.workspace.replace("00000000-0000", "11111111-1111"),
    }
    for code, workspace in cases.items():
        resp = requests.post(
            listsecrets_url(mock, "aoai-conn", workspace), params=API, headers=headers, timeout=10
        )
        assert_arm_error(resp, 404, code)
    other = requests.post(
        f"{mock.url}{mock.workspace}/connections/aoai-conn", params=API, timeout=10
    )
    assert_arm_error(other, 404, "InvalidResourceType")


def test_correlation_id_is_echoed(mock: MockServer) -> None:
    resp = requests.post(
        listsecrets_url(mock, "aoai-conn"),
        params=API,
        headers={
            "Authorization": f"Bearer {get_token(mock)}",
            "x-ms-correlation-request-id": "c-1",
        },
        timeout=10,
    )
    assert resp.headers["x-ms-correlation-request-id"] == "c-1"


def test_throttle_drains_and_recovers(mock: MockServer, clock: ManualClock) -> None:
    token = get_token(mock)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        url = listsecrets_url(mock, "aoai-conn")
        statuses = [session.post(url, params=API) for _ in range(300)]
    codes = [r.status_code for r in statuses]
    assert codes.count(200) == 200
    assert codes.count(429) == 100
    assert codes[:200] == [200] * 200
    throttled = statuses[-1]
    error = assert_arm_error(throttled, 429, "SubscriptionRequestsThrottled")
    assert "exceeded" in error["message"]
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    clock.advance(int(throttled.headers["Retry-After"]))
    assert list_secrets(mock, "aoai-conn", token).status_code == 200
    assert mock.count("listsecrets", "aoai-conn") == 301


def test_throttle_configuration(mock: MockServer) -> None:
    token = get_token(mock)
    assert mock.configure_throttle(2, 0.5)["remaining"] == 2
    codes = [list_secrets(mock, "aoai-conn", token).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert list_secrets(mock, "aoai-conn", token).headers["Retry-After"] == "2"
    mock.configure_throttle(enabled=False)
    assert all(list_secrets(mock, "aoai-conn", token).status_code == 200 for _ in range(5))
    mock.configure_throttle()  # back on, defaults
    assert mock.call("GET", "/throttle")["capacity"] == 200
    mock.call("POST", "/throttle/reset")
