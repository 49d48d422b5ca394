"""Connection auth types and the shape of their ``credentials`` (ListSecrets vocabulary)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from secretinj_runtime.preflight.authtypes import CREDENTIAL_FIELDS, NO_CREDENTIALS

CONNECTION_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")

__all__ = ["AUTH_TYPES", "CREDENTIAL_FIELDS", "NO_CREDENTIALS", "StateError"]
AUTH_TYPES = tuple(CREDENTIAL_FIELDS)


class StateError(ValueError):
    """The state is invalid; the message starts with the dotted path of the bad field."""


def validate_credentials(auth_type: str, raw: object, where: str) -> dict[str, Any] | None:
    """Check ``credentials`` against ``auth_type`` and return a clean copy.

    Returns ``None`` for the auth types that carry no credentials (AAD, None).
    """
    if auth_type not in CREDENTIAL_FIELDS:
        raise StateError(f"{where}.authType: unknown auth type {auth_type!r}")
    if auth_type in NO_CREDENTIALS:
        if raw not in (None, {}):
            raise StateError(f"{where}.credentials: authType {auth_type} takes no credentials")
        return None
    required, optional = CREDENTIAL_FIELDS[auth_type]
    cwhere = f"{where}.credentials"
    if not isinstance(raw, Mapping):
        raise StateError(f"{cwhere}: required for authType {auth_type}: {sorted(required)}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in required | optional:
            expected = sorted(required | optional)
            raise StateError(f"{cwhere}.{key}: not a credential of authType {auth_type} {expected}")
        if auth_type == "CustomKeys":
            out[key] = _custom_keys(value, f"{cwhere}.{key}")
        elif not isinstance(value, str):
            raise StateError(f"{cwhere}.{key}: must be a string")
        else:
            out[key] = value
    for key in sorted(required):
        if key not in out:
            raise StateError(f"{cwhere}.{key}: required for authType {auth_type}")
    return out


def _custom_keys(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise StateError(f"{where}: must be a non-empty mapping of key name to value")
    keys: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not name:
            raise StateError(f"{where}: key names must be non-empty strings")
        if not isinstance(item, str):
            raise StateError(f"{where}.{name}: must be a string")
        keys[name] = item
    return keys


def validate_metadata(raw: object, where: str) -> dict[str, str]:
    """Check that ``metadata`` is a string-to-string mapping."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise StateError(f"{where}: must be a mapping of strings")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise StateError(f"{where}.{key}: must be a string (quote it in YAML)")
        out[str(key)] = value
    return out
