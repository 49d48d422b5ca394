"""Unknown api-versions are refused as Azure refuses them; the lists are settable."""

from __future__ import annotations

import pytest
import requests

from secretinj_runtime.mock.apiversions import DEFAULT_API_VERSIONS
from secretinj_runtime.mock.defaults import default_state_dict
from secretinj_runtime.mock.testing import ControlError, MockServer, run_mock
from tests.mock.mockhelp import get_token, kv_token, list_secrets

KV_URL = "{base}/demo-kv/secrets/db-password"


def kv_get_version(mock: MockServer, api_version: str) -> requests.Response:
    return requests.get(
        KV_URL.format(base=mock.env["SECRETINJ_KEYVAULT_ENDPOINT"]),
        params={"api-version": api_version},
        headers={"Authorization": f"Bearer {kv_token(mock)}"},
        timeout=10,
    )


def msi_get(mock: MockServer, api_version: str, header: str = "secret") -> requests.Response:
    return requests.get(
        f"{mock.url}/msi/token",
        params={"api-version": api_version, "resource": "https://management.azure.com"},
        headers={header: mock.state.msi_secret},
        timeout=10,
    )


@pytest.mark.parametrize("version", ["2099-01-01", "2024-10-02", "2021-04-01-preview", "latest"])
def test_arm_refuses_an_unknown_api_version(mock: MockServer, version: str) -> None:
    resp = list_secrets(mock, "aoai-conn", get_token(mock), **{"api-version": version})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "InvalidApiVersionParameter"
    assert error["message"].startswith(f"The api-version '{version}' is invalid.")
    assert "The supported versions are '2026-03-01," in error["message"]
    assert "2024-10-01" in error["message"]


@pytest.mark.parametrize("version", DEFAULT_API_VERSIONS["ml"])
def test_arm_accepts_every_listed_version(mock: MockServer, version: str) -> None:
    resp = list_secrets(mock, "aoai-conn", get_token(mock), **{"api-version": version.upper()})
    assert resp.status_code == 200


@pytest.mark.parametrize("version", ["7.9", "2016-10-02", "7", "latest"])
def test_keyvault_refuses_an_unknown_api_version(mock: MockServer, version: str) -> None:
    resp = kv_get_version(mock, version)
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "code": "BadParameter",
        "message": f"The specified version ({version}) is not recognized. Consider using the "
        "latest supported version (7.6).",
    }


def test_keyvault_accepts_the_listed_versions(mock: MockServer) -> None:
    for version in DEFAULT_API_VERSIONS["keyvault"]:
        assert kv_get_version(mock, version).status_code == 200, version


@pytest.mark.parametrize(
    ("header", "shape_key"),
    [("secret", "error_description"), ("X-IDENTITY-HEADER", "message")],
)
def test_token_endpoint_refuses_an_unknown_api_version(
    mock: MockServer, header: str, shape_key: str
) -> None:
    resp = msi_get(mock, "2018-02-01", header)
    assert resp.status_code == 400
    body = resp.json()
    assert "Invalid 'api-version' requested: '2018-02-01'" in body[shape_key]
    assert "2017-09-01, 2019-08-01" in body[shape_key]
    assert "access_token" not in body


def test_lists_are_settable_through_the_control_api(mock: MockServer) -> None:
    assert mock.call("GET", "/api-versions")["ml"] == list(DEFAULT_API_VERSIONS["ml"])
    mock.set_api_versions("ml", ["2025-09-01"])
    resp = list_secrets(mock, "aoai-conn", get_token(mock), **{"api-version": "2024-10-01"})
    assert resp.status_code == 400
    assert "The supported versions are '2025-09-01'." in resp.json()["error"]["message"]
    mock.set_api_versions("keyvault", ["7.4"])
    assert kv_get_version(mock, "7.5").json()["error"]["message"].endswith("version (7.4).")
    mock.set_api_versions("msi", ["2019-08-01"])  # the Azure ML shape is switched off
    assert msi_get(mock, "2017-09-01").status_code == 400
    assert mock.call("GET", "/state")["api_versions"]["msi"] == ["2019-08-01"]
    mock.reset()
    assert list_secrets(mock, "aoai-conn", get_token(mock)).status_code == 200
    with pytest.raises(ControlError, match="api: unknown api 'graph'"):
        mock.set_api_versions("graph", ["1.0"])
    with pytest.raises(ControlError, match="versions"):
        mock.set_api_versions("ml", [])


def test_lists_are_settable_from_the_state_file() -> None:
    state = {**default_state_dict(), "api_versions": {"ml": ["2024-04-01"], "keyvault": ["7.4"]}}
    with run_mock(state) as mock:
        token = get_token(mock)
        assert list_secrets(mock, "aoai-conn", token).status_code == 400  # 2024-10-01
        ok = list_secrets(mock, "aoai-conn", token, **{"api-version": "2024-04-01"})
        assert ok.status_code == 200
        assert kv_get_version(mock, "7.4").status_code == 200
        assert kv_get_version(mock, "7.5").status_code == 400
        mock.reset()  # back to the state file's lists, not the defaults
        assert kv_get_version(mock, "7.5").status_code == 400
