"""The managed identity: the default credential and a token cache bounded by a deadline.

azure-identity is imported only when a token is first needed. A token request runs in a
daemon thread of its own and every caller waits for it at most until its own deadline: an
identity endpoint that accepts the connection and never answers cannot hold anybody longer
than the resolution's deadline (azure-core's own read timeout is 300 s).
"""

from __future__ import annotations

import logging
import threading
import time

from ._constants import EnvironmentVariables
from ._deadline import remaining_s
from .errors import IdentityUnavailableError, TimedOutError
from .references import is_reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from azure.core.credentials import TokenCredential

    from .clouds import Cloud

_logger = logging.getLogger(__name__)

#: A token is renewed this many seconds before it expires.
TOKEN_REFRESH_MARGIN_S = 300.0
#: Timeouts of the credential's own HTTP calls (they also end a request nobody waits for).
CREDENTIAL_CONNECT_TIMEOUT_S = 5.0
CREDENTIAL_READ_TIMEOUT_S = 10.0


def client_id_from_environ(environ: Mapping[str, str]) -> str | None:
    """Return the user-assigned identity's client id (``SECRETINJ_CLIENT_ID`` first).

    A variable that holds a reference is resolved like any other variable, never used as
    the identity: it is skipped here.
    """
    for var in EnvironmentVariables.CLIENT_ID_CHAIN:
        value = environ.get(var, "").strip()
        if value and not is_reference(value):
            return value
    return None


def identity_endpoint(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """Return ``(variable, url)`` of the managed-identity endpoint the environment sets."""
    env = EnvironmentVariables
    for var in (env.IDENTITY_ENDPOINT, env.MSI_ENDPOINT):
        value = environ.get(var, "").strip()
        if value:
            return var, value
    return None


def default_credential(
    client_id: str | None, environ: Mapping[str, str], cloud: Cloud | None = None
) -> TokenCredential:
    """Choose the credential a deployment container should use.

    ``ManagedIdentityCredential`` where a managed-identity endpoint is present
    (``MSI_ENDPOINT`` or ``IDENTITY_ENDPOINT``), else ``DefaultAzureCredential`` without
    interactive login (local development after ``az login``), at ``cloud``'s authority.
    A plain-http identity endpoint is never reached through a proxy from the environment.
    """
    try:
        from azure.core.pipeline.transport import RequestsTransport
        from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
    except ImportError as ex:  # pragma: no cover - a hard dependency
        raise IdentityUnavailableError(
            f"azure-identity cannot be imported ({ex}): pip install secretinj-runtime"
        ) from None
    _quiet_azure_identity()
    endpoint = identity_endpoint(environ)
    plain_http = endpoint is not None and endpoint[1].lower().startswith("http://")
    transport = RequestsTransport(
        use_env_settings=not plain_http,
        connection_timeout=CREDENTIAL_CONNECT_TIMEOUT_S,
        read_timeout=CREDENTIAL_READ_TIMEOUT_S,
    )
    if endpoint is not None:
        _logger.debug("using ManagedIdentityCredential (client id set: %s)", bool(client_id))
        return ManagedIdentityCredential(client_id=client_id, transport=transport)
    _logger.debug("no managed-identity endpoint; using DefaultAzureCredential")
    extra = {"authority": cloud.authority_host} if cloud is not None else {}
    return DefaultAzureCredential(
        exclude_interactive_browser_credential=True,
        managed_identity_client_id=client_id,
        transport=transport,
        **extra,
    )


def describe_credential(environ: Mapping[str, str], custom: object = None) -> tuple[str, str]:
    """Return (which credential is used, the next step when it fails) for error messages.

    ``custom`` is a credential passed to the resolver (None: the default credential).
    """
    if custom is not None:
        return f"the credential passed to the resolver ({type(custom).__name__})", ""
    endpoint = identity_endpoint(environ)
    if endpoint is not None:
        var, url = endpoint
        return (
            f"the managed identity endpoint {var}={url}",
            "In Azure ML, check the deployment's identity; locally, check that the mock runs "
            "there (`secretinj-mock env` prints where it is).",
        )
    return (
        "DefaultAzureCredential (no MSI_ENDPOINT or IDENTITY_ENDPOINT is set)",
        "It tried an environment service principal, workload identity, managed identity and "
        "the Azure CLI. In Azure ML the deployment's identity sets MSI_ENDPOINT; locally, run "
        '`eval "$(secretinj-mock env)"` to use the mock, or `az login` to use your own account.',
    )


class _Fetch:
    __slots__ = ("done", "error", "token")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.token: str | None = None
        self.error: BaseException | None = None


class TokenCache:
    """Hands out bearer tokens per scope: one request per scope at a time, bounded waits.

    The credential is built lazily by ``credential_factory`` on first use. Every token is
    reported to ``on_token`` (the log redaction) before it is returned. ``describe`` says
    which credential it is and what to do when it fails (`describe_credential`).
    """

    def __init__(
        self,
        credential_factory: Callable[[], TokenCredential],
        *,
        clock: Callable[[], float] = time.time,
        on_token: Callable[[str], None] | None = None,
        describe: tuple[str, str] = ("the credential", ""),
        rebuild_after_fork: bool = True,
    ) -> None:
        self._factory = credential_factory
        self._credential: TokenCredential | None = None
        self._clock = clock
        self._on_token = on_token
        self._describe = describe
        self._rebuild_after_fork = rebuild_after_fork
        self._tokens: dict[str, tuple[str, float]] = {}
        self._pending: dict[str, _Fetch] = {}
        self._lock = threading.Lock()

    @property
    def credential(self) -> TokenCredential:
        """The credential, built on first use."""
        with self._lock:
            if self._credential is None:
                self._credential = self._factory()
            return self._credential

    def get(self, scope: str, timeout_s: float | None = None) -> str:
        """Return a valid token for ``scope``; wait for it ``timeout_s`` at most.

        ``timeout_s`` defaults to what is left of the enclosing ``deadline_scope`` (none
        outside one). Raises `TimedOutError` when it passes, `IdentityUnavailableError` when
        the credential fails.
        """
        cached = self._tokens.get(scope)
        if cached is not None and cached[1] - TOKEN_REFRESH_MARGIN_S > self._clock():
            return cached[0]
        timeout = remaining_s() if timeout_s is None else timeout_s
        with self._lock:
            fetch = self._pending.get(scope)
            if fetch is None:
                fetch = self._pending[scope] = _Fetch()
                threading.Thread(
                    target=self._run, args=(scope, fetch), name="secretinj-token", daemon=True
                ).start()
        if not fetch.done.wait(timeout):
            raise TimedOutError(
                f"no token for {scope} within {timeout or 0:.1f} s: {self._describe[0]} "
                "did not answer"
            )
        if fetch.error is not None:
            raise fetch.error
        assert fetch.token is not None
        return fetch.token

    def clear(self) -> None:
        """Forget every cached token (the credential keeps its own cache)."""
        self._tokens.clear()

    def _run(self, scope: str, fetch: _Fetch) -> None:
        _quiet.active = True
        try:
            access = self.credential.get_token(scope)
            if self._on_token is not None:
                self._on_token(access.token)
            self._tokens[scope] = (access.token, float(access.expires_on))
            fetch.token = access.token
            _logger.debug("token for %s acquired", scope)
        except IdentityUnavailableError as ex:
            fetch.error = ex
        except Exception as ex:  # azure-identity raises several unrelated types
            _logger.debug("token request for %s failed: %s", scope, ex)
            who, next_step = self._describe
            why = _first_line(ex)
            chain = why.startswith("DefaultAzureCredential failed")  # said by `next_step`
            why = "" if chain else f": {type(ex).__name__}: {why}"
            fetch.error = IdentityUnavailableError(
                " ".join(p for p in (f"no token for {scope} from {who}{why}.", next_step) if p)
            )
        finally:
            with self._lock:
                if self._pending.get(scope) is fetch:
                    del self._pending[scope]
            fetch.done.set()

    def _after_fork_in_child(self) -> None:
        """Forget requests in flight and, when we built it, the credential (its sockets)."""
        self._lock = threading.Lock()
        self._pending = {}
        if self._rebuild_after_fork:
            self._credential = None


def _first_line(ex: BaseException, limit: int = 300) -> str:
    text = str(ex).strip().splitlines()[0] if str(ex).strip() else ""
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- azure-identity's own log lines -------------------------------------------------------

_quiet = threading.local()


class _QuietInOurThreads(logging.Filter):
    """In our token threads, azure-identity's records are DEBUG records, or dropped.

    Without it, a missing identity prints a wall of "Attempted credentials" warnings per
    audience before our one error line. A user who enables DEBUG on ``azure.identity``
    still sees them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_quiet, "active", False):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_QUIET = _QuietInOurThreads()


def _azure_identity_loggers() -> Iterator[logging.Logger]:
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("azure.identity") and isinstance(logger, logging.Logger):
            yield logger


def _quiet_azure_identity() -> None:
    for logger in _azure_identity_loggers():
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)
