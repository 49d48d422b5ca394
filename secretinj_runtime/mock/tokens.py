"""Opaque bearer tokens bound to an (identity, audience) pair, with an expiry."""

from __future__ import annotations

import secrets
import threading
import uuid
from dataclasses import dataclass
from enum import Enum

from secretinj_runtime.mock.clock import Clock

ARM_AUDIENCE = "https://management.azure.com"
KEYVAULT_AUDIENCE = "https://vault.azure.net"
AUDIENCES = (ARM_AUDIENCE, KEYVAULT_AUDIENCE)
DEFAULT_LIFETIME_S = 3600


def normalize_audience(resource: str) -> str | None:
    """Map a requested ``resource`` to a known audience (trailing slash optional)."""
    candidate = resource.strip().rstrip("/").lower()
    return candidate if candidate in AUDIENCES else None


def object_id(identity: str) -> str:
    """Return a stable, fake Entra object id for an identity."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"secretinj-mock:{identity}"))


def client_id_for(identity: str) -> str:
    """Return an identity's client id: its own for a user-assigned one, made up for ``system``."""
    if identity != "system":
        return identity
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "secretinj-mock-client:system"))


@dataclass(frozen=True)
class Token:
    """An issued token (the value itself is only the dictionary key)."""

    identity: str
    audience: str
    expires_on: int


class TokenCheck(Enum):
    """Outcome of checking a presented bearer token."""

    OK = "ok"
    MISSING = "missing"
    INVALID = "invalid"
    EXPIRED = "expired"
    WRONG_AUDIENCE = "wrong_audience"


@dataclass(frozen=True)
class TokenResult:
    """The outcome of :meth:`TokenIssuer.check` and, when known, the token."""

    status: TokenCheck
    token: Token | None = None


class TokenIssuer:
    """Issues random opaque tokens and validates them against the injectable clock."""

    def __init__(self, clock: Clock, lifetime_s: int = DEFAULT_LIFETIME_S) -> None:
        self._clock = clock
        self.lifetime_s = lifetime_s
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def issue(self, identity: str, audience: str) -> tuple[str, Token]:
        """Issue a new token for ``identity`` and ``audience``; return (value, token)."""
        value = "mock." + secrets.token_urlsafe(32)
        token = Token(identity, audience, int(self._clock()) + self.lifetime_s)
        with self._lock:
            self._tokens[value] = token
        return value, token

    def check(self, authorization: str | None, audience: str) -> TokenResult:
        """Validate an ``Authorization`` header value for ``audience``."""
        if not authorization:
            return TokenResult(TokenCheck.MISSING)
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return TokenResult(TokenCheck.INVALID)
        with self._lock:
            token = self._tokens.get(value.strip())
        if token is None:
            return TokenResult(TokenCheck.INVALID)
        if self._clock() >= token.expires_on:
            return TokenResult(TokenCheck.EXPIRED, token)
        if token.audience != audience:
            return TokenResult(TokenCheck.WRONG_AUDIENCE, token)
        return TokenResult(TokenCheck.OK, token)

    def issued_values(self) -> list[str]:
        """Return every token value issued so far (for leak tests)."""
        with self._lock:
            return list(self._tokens)
