"""Every connection auth type: valid credentials accepted, shape errors rejected."""

from __future__ import annotations

import pytest

from secretinj_runtime.mock.authtypes import AUTH_TYPES, StateError, validate_credentials
from tests.mock.mockhelp import VALID


def test_all_auth_types_covered() -> None:
    assert set(VALID) == set(AUTH_TYPES)


@pytest.mark.parametrize("auth_type", sorted(VALID))
def test_valid_credentials(auth_type: str) -> None:
    assert validate_credentials(auth_type, VALID[auth_type], "c") == VALID[auth_type]


@pytest.mark.parametrize("auth_type", sorted(k for k, v in VALID.items() if v))
def test_missing_required_field(auth_type: str) -> None:
    creds = dict(VALID[auth_type] or {})
    creds.pop(sorted(creds)[0] if auth_type != "OAuth2" else "clientId")
    with pytest.raises(StateError, match=r"^c\.credentials"):
        validate_credentials(auth_type, creds or None, "c")


def test_optional_fields() -> None:
    assert validate_credentials("UsernamePassword", {"username": "u", "password": "p"}, "c")
    assert validate_credentials("OAuth2", {"clientId": "c"}, "c") == {"clientId": "c"}
    assert validate_credentials("AAD", {}, "c") is None


def test_custom_key_values_must_be_strings() -> None:
    with pytest.raises(StateError, match=r"c\.credentials\.keys\.A: must be a string"):
        validate_credentials("CustomKeys", {"keys": {"A": 1}}, "c")
