"""Exceptions raised by the runtime.

Every exception carries safe context (variable, reference, connection, HTTP status, request
id) and never a secret value or a token. The tree::

    SecretInjectionError                  base of everything below
    ├── ReferenceSyntaxError (ValueError) a value looks like a reference but does not parse
    ├── ConfigurationError                the workspace is unknown or a setting is malformed
    ├── IdentityUnavailableError          no credential could produce a token
    ├── AccessDeniedError                 401/403: the identity lacks a role (named in the text)
    ├── NotFoundError                     404, or the field is not in the connection
    ├── ServiceError                      the service failed, after retries
    │   ├── ThrottledError                still 429 when the deadline ran out
    │   └── TimedOutError                 no answer in time, after retries
    ├── UntrustedEndpointError            the token would go to a host outside the allow-list
    ├── MissingSecretError (KeyError)     the variable is not set and no default was given
    └── SecretResolutionError             aggregate raised by resolve_environment(required=True)

Each class has the `Status` it puts in the report (``status``). `error_for_status` is the one
place that maps an HTTP status to an exception class.
"""

from __future__ import annotations

from .report import Status

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Self

    from .report import ResolutionReport


class SecretInjectionError(Exception):
    """Base class of every error of the runtime."""

    status: Status = Status.SERVICE_ERROR

    def __init__(
        self,
        message: str,
        *,
        variable: str | None = None,
        reference: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
        retryable: bool = False,
        correlation_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.variable = variable
        self.reference = reference
        self.http_status = http_status
        self.request_id = request_id
        self.retry_after_s = retry_after_s
        self.retryable = retryable
        self.correlation_id = correlation_id
        """ARM's ``x-ms-correlation-request-id`` (what Azure support asks for)."""
        self.code = code
        """The service's error code (Key Vault: the innermost ``innererror.code``)."""

    def for_variable(self, variable: str, reference: str | None = None) -> Self:
        """Return a copy of this error that names ``variable`` (and its reference)."""
        clone = self.copy()
        clone.variable = variable
        clone.reference = reference or self.reference
        return clone

    def copy(self) -> Self:
        """Return a copy to raise again (a fresh traceback, no chained exception)."""
        import copy

        clone = copy.copy(self)
        clone.args = (clone.message,)
        clone.__traceback__ = clone.__cause__ = clone.__context__ = None
        return clone

    def with_message(self, message: str) -> Self:
        """Replace the message (e.g. to add how many attempts it took); return ``self``."""
        self.message = message
        self.args = (message,)
        return self

    @property
    def ids(self) -> str:
        """``request id X, correlation id Y`` (what is known), for messages and reports."""
        parts = [f"request id {self.request_id}"] if self.request_id else []
        if self.correlation_id and self.correlation_id != self.request_id:
            parts.append(f"correlation id {self.correlation_id}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = ""
        if self.variable:
            where = f"{self.variable}"
            if self.reference:
                where += f" ({self.reference})"
            where += ": "
        elif self.reference:
            where = f"{self.reference}: "
        tail = f" [{self.ids}]" if self.ids else ""
        return f"{where}{self.message}{tail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ReferenceSyntaxError(SecretInjectionError, ValueError):
    """A value looks like a secret reference but does not follow the grammar."""

    status = Status.INVALID_SYNTAX


class ConfigurationError(SecretInjectionError):
    """The runtime is not configured well enough to fetch (e.g. the workspace is unknown)."""

    status = Status.WORKSPACE_UNKNOWN


class IdentityUnavailableError(SecretInjectionError):
    """No credential could produce an access token."""

    status = Status.IDENTITY_UNAVAILABLE


class AccessDeniedError(SecretInjectionError):
    """The service refused the identity (HTTP 401 or 403)."""

    status = Status.ACCESS_DENIED

    @property
    def may_be_propagating(self) -> bool:
        """Whether this may be a role assignment still propagating (worth waiting for).

        Any 403 may, except Key Vault's reasons that no role assignment changes
        (`NOT_A_ROLE_CODES`: a disabled secret, the vault's firewall, the access-policy
        model): those fail at once with their own fix.
        """
        return self.http_status == 403 and self.code not in NOT_A_ROLE_CODES


class NotFoundError(SecretInjectionError):
    """The connection, secret, version or field does not exist."""

    status = Status.NOT_FOUND


class ServiceError(SecretInjectionError):
    """The service failed in a way retries did not cure."""

    status = Status.SERVICE_ERROR


class ThrottledError(ServiceError):
    """The service still throttled (HTTP 429) when the retry deadline ran out."""

    status = Status.THROTTLED


class TimedOutError(ServiceError):
    """The service did not answer in time."""

    status = Status.TIMED_OUT


class UntrustedEndpointError(SecretInjectionError):
    """The reference or configuration points at a host no token may be sent to."""

    status = Status.UNTRUSTED_ENDPOINT


class MissingSecretError(SecretInjectionError, KeyError):
    """The environment variable is not set and no default was given."""

    status = Status.MISSING

    def __str__(self) -> str:  # KeyError would quote the message
        return SecretInjectionError.__str__(self)


class SecretResolutionError(SecretInjectionError):
    """One or more variables did not resolve; ``report`` says which and why."""

    def __init__(self, report: ResolutionReport) -> None:
        failed = report.failed
        lines = [f"{len(failed)} of {len(report.variables)} secret variables did not resolve:"]
        lines += [
            f"  {s.name}{f' ({s.reference})' if s.reference else ''}: {s.status}: {s.error}"
            for s in failed
        ]
        super().__init__("\n".join(lines))
        self.report = report

    @property
    def failed(self) -> list[str]:
        """Names of the variables that did not resolve."""
        return [s.name for s in self.report.failed]


#: Key Vault 403 reasons (``innererror.code``) that are not a missing role.
NOT_A_ROLE_CODES = frozenset(
    {"SecretDisabled", "ForbiddenByFirewall", "ForbiddenByPolicy", "ForbiddenByConnection"}
)

#: Status codes worth another attempt (DESIGN.md "Retries").
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def error_for_status(http_status: int) -> type[SecretInjectionError]:
    """Map an HTTP error status to the exception class that represents it."""
    if http_status in (401, 403):
        return AccessDeniedError
    if http_status == 404:
        return NotFoundError
    if http_status == 429:
        return ThrottledError
    if http_status == 408:
        return TimedOutError
    return ServiceError
