"""The reference grammar: parse and format secret-injection references (pure, no I/O).

Forms (whole value only; surrounding whitespace is tolerated)::

    ${{azureml://connections/<name>}}                    the whole ListSecrets response (JSON)
    ${{azureml://connections/<name>/credentials/<key>}}  properties.credentials[<key>]
    ${{azureml://connections/<name>/metadata/<key>}}     properties.metadata[<key>]
    ${{azureml://connections/<name>/target}}             properties.target
    ${{keyvault:https://<vault>.<suffix>/secrets/<name>[/<version>]}}
"""

from __future__ import annotations

from .errors import ReferenceSyntaxError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal

    ConnectionPart = Literal["connection", "credentials", "metadata", "target"]

_OPEN, _CLOSE = "${{", "}}"
_CONNECTION_PREFIX = "azureml://connections/"
_KEYVAULT_PREFIX = "keyvault:"

# Patterns as text: `re` is imported (and they are compiled, once) only when something is
# parsed, so that the injected fast path never pays for it.
CONNECTION_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}"
_FIELD_KEY = r"[^/\s{}]+"
VAULT_NAME = r"[a-zA-Z0-9-]{3,24}"
SECRET_NAME = r"[0-9a-zA-Z-]{1,127}"  # noqa: S105 - a pattern, not a secret
SECRET_VERSION = r"[0-9a-fA-F]{32}"  # noqa: S105 - a pattern, not a secret
_HOST = r"[a-zA-Z0-9.-]+"


def matches(pattern: str, text: str) -> bool:
    """Tell whether all of ``text`` matches ``pattern`` (compiled and cached by `re`)."""
    import re

    return re.fullmatch(pattern, text) is not None


class ConnectionReference:
    """A reference to a workspace connection, or to one field of it."""

    __slots__ = ("connection", "key", "part")

    def __init__(
        self, connection: str, part: ConnectionPart = "connection", key: str | None = None
    ):
        self.connection = connection
        self.part: ConnectionPart = part
        self.key = key

    @property
    def group_key(self) -> tuple[str, ...]:
        """Identify the fetch this reference needs: one ListSecrets call per connection."""
        return ("connection", self.connection.lower())

    def __str__(self) -> str:
        path = self.connection
        if self.part == "target":
            path += "/target"
        elif self.part != "connection":
            path += f"/{self.part}/{self.key}"
        return f"{_OPEN}{_CONNECTION_PREFIX}{path}{_CLOSE}"

    def __repr__(self) -> str:
        return f"ConnectionReference({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConnectionReference):
            return NotImplemented
        return (self.connection.lower(), self.part, self.key) == (
            other.connection.lower(),
            other.part,
            other.key,
        )

    def __hash__(self) -> int:
        return hash((self.connection.lower(), self.part, self.key))


class KeyVaultReference:
    """A reference to a Key Vault secret, at a version or (``version=None``) the latest."""

    __slots__ = ("host", "secret", "version")

    def __init__(self, host: str, secret: str, version: str | None = None):
        self.host = host
        self.secret = secret
        self.version = version

    @property
    def vault_name(self) -> str:
        """The first label of the host (the vault's name when the host is a vault host)."""
        return self.host.split(".", 1)[0]

    @property
    def vault_url(self) -> str:
        """``https://<host>``."""
        return f"https://{self.host}"

    @property
    def group_key(self) -> tuple[str, ...]:
        """Identify the fetch this reference needs: one GET per (vault, secret, version)."""
        return ("keyvault", self.host.lower(), self.secret.lower(), (self.version or "").lower())

    def __str__(self) -> str:
        path = f"/secrets/{self.secret}" + (f"/{self.version}" if self.version else "")
        return f"{_OPEN}{_KEYVAULT_PREFIX}{self.vault_url}{path}{_CLOSE}"

    def __repr__(self) -> str:
        return f"KeyVaultReference({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyVaultReference):
            return NotImplemented
        return self.group_key == other.group_key

    def __hash__(self) -> int:
        return hash(self.group_key)


Reference = ConnectionReference | KeyVaultReference


def is_reference(text: object) -> bool:
    """Tell whether ``text`` is, or tries to be, a secret reference.

    True for every value that contains ``${{``: such a value is never passed on as a literal.
    `parse_reference` tells whether it is valid (a reference must be the whole value).
    """
    return isinstance(text, str) and _OPEN in text


def reference_excerpt(text: str, limit: int = 160) -> str:
    """Return the ``${{...}}`` part of ``text`` (shortened), never the text around it.

    A value that failed to parse may be a password or a URL with credentials that merely
    contains a reference: messages and reports show this excerpt, not the value.
    """
    start = text.find(_OPEN)
    if start < 0:
        return "(no '${{')"
    end = text.find(_CLOSE, start + len(_OPEN))
    part = text[start:] if end < 0 else text[start : end + len(_CLOSE)]
    part = " ".join(part.split())  # one line, whatever the value held
    if len(part) > limit:
        part = part[: limit - 4] + " ..."
    return part


def parse_reference(text: str) -> ConnectionReference | KeyVaultReference:
    """Parse a reference; raise `ReferenceSyntaxError` saying what is wrong.

    The error's ``reference`` is `reference_excerpt` of ``text``: nothing outside ``${{...}}``.
    """
    if not isinstance(text, str):
        raise ReferenceSyntaxError(f"a reference must be a string, not {type(text).__name__}")
    stripped = text.strip()
    ref = reference_excerpt(stripped)
    if _OPEN not in stripped:
        raise ReferenceSyntaxError("a reference has the form '${{...}}'", reference=ref)
    if not stripped.startswith(_OPEN):
        raise ReferenceSyntaxError(
            "a reference must be the whole value: there is text before '${{' (the platform "
            "resolves only a value that is exactly one '${{...}}')",
            reference=ref,
        )
    close = stripped.find(_CLOSE, len(_OPEN))
    if close < 0:
        raise ReferenceSyntaxError("the closing '}}' is missing", reference=ref)
    if close + len(_CLOSE) != len(stripped):
        raise ReferenceSyntaxError(
            "a reference must be the whole value: there is text after the closing '}}'",
            reference=ref,
        )
    body = stripped[len(_OPEN) : close].strip()
    if _OPEN in body:
        raise ReferenceSyntaxError(
            "'${{' inside a reference: one reference per value", reference=ref
        )
    if body.startswith(_CONNECTION_PREFIX):
        return _parse_connection(body[len(_CONNECTION_PREFIX) :], ref)
    if body.startswith(_KEYVAULT_PREFIX):
        return _parse_keyvault(body[len(_KEYVAULT_PREFIX) :].strip(), ref)
    for prefix in (_CONNECTION_PREFIX, _KEYVAULT_PREFIX):
        if body.lower().startswith(prefix):
            raise ReferenceSyntaxError(
                f"write '{prefix}' in lower case, as the platform does: "
                f"{body[: len(prefix)]!r} differs only in case",
                reference=ref,
            )
    raise ReferenceSyntaxError(
        "unknown reference kind: expected 'azureml://connections/...' or 'keyvault:https://...'",
        reference=ref,
    )


def variable_reference(name: str, value: str) -> ConnectionReference | KeyVaultReference | None:
    """Return the reference variable ``name`` holds (None for a literal); raise if malformed."""
    if not is_reference(value):
        return None
    try:
        return parse_reference(value)
    except ReferenceSyntaxError as ex:
        raise ex.for_variable(name) from None


def _parse_connection(path: str, ref: str) -> ConnectionReference:
    if path.endswith("/"):
        raise ReferenceSyntaxError(
            "the path ends with '/': remove the trailing slash", reference=ref
        )
    parts = path.split("/")
    name = parts[0]
    if not matches(CONNECTION_NAME, name):
        raise ReferenceSyntaxError(
            f"connection name {name!r} is invalid: 3 to 33 characters, letters, digits, "
            "'_' or '-', starting with a letter or digit",
            reference=ref,
        )
    rest = parts[1:]
    if not rest:
        return ConnectionReference(name)
    if rest == ["target"]:
        return ConnectionReference(name, "target")
    if len(rest) == 2 and rest[0] in ("credentials", "metadata"):
        if not matches(_FIELD_KEY, rest[1]):
            raise ReferenceSyntaxError(f"empty or invalid {rest[0]} key {rest[1]!r}", reference=ref)
        part: ConnectionPart = "credentials" if rest[0] == "credentials" else "metadata"
        return ConnectionReference(name, part, rest[1])
    raise ReferenceSyntaxError(
        f"unexpected path '/{'/'.join(rest)}' after connection {name!r}: expected nothing, "
        "'/target', '/credentials/<key>' or '/metadata/<key>'",
        reference=ref,
    )


def _parse_keyvault(url: str, ref: str) -> KeyVaultReference:
    if not url.lower().startswith("https://"):
        raise ReferenceSyntaxError("a Key Vault reference must be an https:// URL", reference=ref)
    host, _, path = url[len("https://") :].partition("/")
    if not matches(_HOST, host):
        raise ReferenceSyntaxError(
            f"invalid Key Vault host {host!r} (no port, user or query allowed)", reference=ref
        )
    if path.endswith("/"):
        raise ReferenceSyntaxError(
            "the URL ends with '/': remove the trailing slash", reference=ref
        )
    parts = path.split("/")
    if len(parts) not in (2, 3) or parts[0] != "secrets":
        raise ReferenceSyntaxError(
            "a Key Vault reference must be 'https://<vault host>/secrets/<name>[/<version>]'",
            reference=ref,
        )
    if not matches(SECRET_NAME, parts[1]):
        raise ReferenceSyntaxError(
            f"secret name {parts[1]!r} is invalid: 1 to 127 letters, digits or '-'", reference=ref
        )
    version = parts[2] if len(parts) == 3 else None
    if version is not None and not matches(SECRET_VERSION, version):
        raise ReferenceSyntaxError(
            f"secret version {version!r} is invalid: 32 hexadecimal characters", reference=ref
        )
    return KeyVaultReference(host, parts[1], version)
