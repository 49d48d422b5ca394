"""The managed identity: default credential choice and a single-flight token cache.

azure-identity is imported only when a token is first needed.
"""

from __future__ import annotations

import logging
import threading
import time

from ._constants import EnvironmentVariables
from ._singleflight import SingleFlight
from .errors import IdentityUnavailableError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from azure.core.credentials import TokenCredential

_logger = logging.getLogger(__name__)

#: A token is renewed this many seconds before it expires.
TOKEN_REFRESH_MARGIN_S = 300.0


def client_id_from_environ(environ: Mapping[str, str]) -> str | None:
    """Return the user-assigned identity's client id (``SECRETINJ_CLIENT_ID`` first)."""
    for var in EnvironmentVariables.CLIENT_ID_CHAIN:
        value = environ.get(var, "").strip()
        if value:
            return value
    return None


def default_credential(client_id: str | None, environ: Mapping[str, str]) -> TokenCredential:
    """Choose the credential a deployment container should use.

    ``ManagedIdentityCredential`` where a managed-identity endpoint is present
    (``MSI_ENDPOINT`` or ``IDENTITY_ENDPOINT``), else ``DefaultAzureCredential`` without
    interactive login (local development after ``az login``).
    """
    try:
        from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
    except ImportError as ex:  # pragma: no cover - a hard dependency
        raise IdentityUnavailableError(
            f"azure-identity cannot be imported ({ex}): pip install secretinj-runtime"
        ) from None
    env = EnvironmentVariables
    if environ.get(env.MSI_ENDPOINT) or environ.get(env.IDENTITY_ENDPOINT):
        _logger.debug("using ManagedIdentityCredential (client id set: %s)", bool(client_id))
        return ManagedIdentityCredential(client_id=client_id)
    _logger.debug("no managed-identity endpoint; using DefaultAzureCredential")
    return DefaultAzureCredential(
        exclude_interactive_browser_credential=True,
        managed_identity_client_id=client_id,
    )


class TokenCache:
    """Hands out bearer tokens per scope: one request per scope even under a cold start.

    The credential is built lazily by ``credential_factory`` on first use. Every token is
    reported to ``on_token`` (the log redaction) before it is returned.
    """

    def __init__(
        self,
        credential_factory: Callable[[], TokenCredential],
        *,
        clock: Callable[[], float] = time.time,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self._factory = credential_factory
        self._credential: TokenCredential | None = None
        self._clock = clock
        self._on_token = on_token
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._flights = SingleFlight()

    @property
    def credential(self) -> TokenCredential:
        """The credential, built on first use."""
        with self._lock:
            if self._credential is None:
                self._credential = self._factory()
            return self._credential

    def get(self, scope: str) -> str:
        """Return a valid token for ``scope``, fetching it at most once at a time."""
        cached = self._tokens.get(scope)
        if cached is not None and cached[1] - TOKEN_REFRESH_MARGIN_S > self._clock():
            return cached[0]
        token = self._flights.do(scope, lambda: self._fetch(scope))
        assert isinstance(token, str)
        return token

    def clear(self) -> None:
        """Forget every cached token (the credential keeps its own cache)."""
        self._tokens.clear()

    def _fetch(self, scope: str) -> str:
        cached = self._tokens.get(scope)  # a flight that just finished may have filled it
        if cached is not None and cached[1] - TOKEN_REFRESH_MARGIN_S > self._clock():
            return cached[0]
        try:
            access = self.credential.get_token(scope)
        except IdentityUnavailableError:
            raise
        except Exception as ex:  # azure-identity raises several unrelated types
            raise IdentityUnavailableError(
                f"the managed identity could not get a token for {scope}: "
                f"{type(ex).__name__}: {_first_line(ex)}"
            ) from None
        if self._on_token is not None:
            self._on_token(access.token)
        self._tokens[scope] = (access.token, float(access.expires_on))
        _logger.debug("token for %s acquired", scope)
        return access.token


def _first_line(ex: BaseException, limit: int = 300) -> str:
    text = str(ex).strip().splitlines()[0] if str(ex).strip() else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."
