"""Field extraction for every authType of REFERENCE.md."""

from __future__ import annotations

import json

import pytest

import secretinj_runtime as sir
from secretinj_runtime.connections import extract, secret_values
from tests.fakes import CREDENTIALS, connection_body


def ref(tail: str) -> sir.ConnectionReference:
    parsed = sir.parse_reference(f"${{{{azureml://connections/conn{tail}}}}}")
    assert isinstance(parsed, sir.ConnectionReference)
    return parsed


@pytest.mark.parametrize("auth_type", sorted(CREDENTIALS))
def test_every_credential_field_of_every_auth_type(auth_type: str) -> None:
    creds = CREDENTIALS[auth_type]
    body = connection_body("conn", auth_type, creds)
    flat = creds.get("keys", creds)
    for key, value in flat.items():
        assert extract(ref(f"/credentials/{key}"), body) == value


@pytest.mark.parametrize("auth_type", ["AAD", "None"])
def test_auth_types_without_credentials_explain(auth_type: str) -> None:
    body = connection_body("conn", auth_type, {})
    with pytest.raises(sir.NotFoundError, match=r"credentials of connection 'conn' .* are empty"):
        extract(ref("/credentials/key"), body)
    assert extract(ref("/target"), body) == "https://aoai.example.com/"


def test_missing_key_names_the_keys_that_exist_but_no_value() -> None:
    body = connection_body("conn", "UsernamePassword", CREDENTIALS["UsernamePassword"])
    with pytest.raises(sir.NotFoundError) as info:
        extract(ref("/credentials/key"), body)
    text = str(info.value)
    assert "keys there: password, securityToken, username" in text
    assert "pw-value" not in text
    assert "authType UsernamePassword" in text


def test_custom_keys_missing_key_lists_the_custom_names() -> None:
    body = connection_body("conn", "CustomKeys", CREDENTIALS["CustomKeys"])
    with pytest.raises(sir.NotFoundError, match="keys there: OPENAI_API_KEY, OTHER"):
        extract(ref("/credentials/NOPE"), body)


def test_key_lookup_falls_back_to_case_insensitive() -> None:
    body = connection_body("conn", "CustomKeys", CREDENTIALS["CustomKeys"])
    assert extract(ref("/credentials/openai_api_key"), body) == "openai-value"


def test_metadata_target_and_whole_connection() -> None:
    body = connection_body("conn", metadata={"ApiType": "azure", "ApiVersion": "2024-02-01"})
    assert extract(ref("/metadata/ApiType"), body) == "azure"
    with pytest.raises(sir.NotFoundError, match="keys there: ApiType, ApiVersion"):
        extract(ref("/metadata/Nope"), body)
    assert extract(ref("/target"), body) == "https://aoai.example.com/"
    assert json.loads(extract(ref(""), body)) == body


def test_missing_target_and_metadata() -> None:
    body = connection_body("conn", target="")
    with pytest.raises(sir.NotFoundError, match="has no target"):
        extract(ref("/target"), body)
    body["properties"]["metadata"] = {}
    with pytest.raises(sir.NotFoundError, match="metadata of connection 'conn' are empty"):
        extract(ref("/metadata/x"), body)


def test_non_string_values_become_json() -> None:
    body = connection_body("conn", credentials={"key": {"nested": 1}, "n": 5})
    assert extract(ref("/credentials/key"), body) == '{"nested": 1}'
    assert extract(ref("/credentials/n"), body) == "5"


def test_secret_values_are_every_credential_string() -> None:
    body = connection_body("conn", "OAuth2", CREDENTIALS["OAuth2"])
    assert set(secret_values(body)) == set(CREDENTIALS["OAuth2"].values())
    body = connection_body("conn", "CustomKeys", CREDENTIALS["CustomKeys"])
    assert set(secret_values(body)) == {"openai-value", "other-value"}
