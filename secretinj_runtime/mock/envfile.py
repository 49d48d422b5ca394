"""Where ``serve`` records the environment that points at it, so ``env`` can find it again.

``secretinj-mock serve`` writes shell ``export`` lines for itself to an env file (default:
``$XDG_RUNTIME_DIR/secretinj-mock/env``, else ``$XDG_CACHE_HOME`` or ``~/.cache``; the
``SECRETINJ_MOCK_ENV_FILE`` variable or ``--env-file`` choose another) and removes it when it
stops. ``secretinj-mock env`` without ``--url`` reads the file, checks that a mock answers at
the recorded URL, and prints the lines again. The file holds the mock's own made-up MSI
secret (never a real one); it is written with mode 0600 in a 0700 directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

__all__ = [
    "APP_SERVICE_SHAPE",
    "AZURE_ML_SHAPE",
    "IDENTITY_VARIABLES",
    "TOKEN_SHAPES",
    "TokenShape",
    "mock_env",
]
ENV_FILE_VARIABLE = "SECRETINJ_MOCK_ENV_FILE"
HEALTH_TIMEOUT_S = 2.0


TokenShape = Literal["2017-09-01", "2019-08-01"]
AZURE_ML_SHAPE: TokenShape = "2017-09-01"
APP_SERVICE_SHAPE: TokenShape = "2019-08-01"
TOKEN_SHAPES: tuple[TokenShape, ...] = (AZURE_ML_SHAPE, APP_SERVICE_SHAPE)
#: Every variable that selects a managed-identity flavour in azure-identity.
IDENTITY_VARIABLES = (
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
)


def mock_env(
    url: str, msi_secret: str, workspace: str, token_shape: TokenShape = AZURE_ML_SHAPE
) -> dict[str, str]:
    """Return the environment variables that point the runtime at a mock at ``url``.

    ``token_shape`` picks the managed-identity flavour: ``2017-09-01`` (Azure ML:
    ``MSI_ENDPOINT``, ``MSI_SECRET``) or ``2019-08-01`` (App Service: ``IDENTITY_ENDPOINT``,
    ``IDENTITY_HEADER``); both use the mock's ``/msi/token``.
    """
    base = url.rstrip("/")
    if token_shape == APP_SERVICE_SHAPE:
        identity = {"IDENTITY_ENDPOINT": f"{base}/msi/token", "IDENTITY_HEADER": msi_secret}
    elif token_shape == AZURE_ML_SHAPE:
        identity = {"MSI_ENDPOINT": f"{base}/msi/token", "MSI_SECRET": msi_secret}
    else:
        raise ValueError(f"token_shape: expected one of {list(TOKEN_SHAPES)}, got {token_shape!r}")
    return {
        **identity,
        "SECRETINJ_ARM_ENDPOINT": base,
        "SECRETINJ_KEYVAULT_ENDPOINT": f"{base}/keyvault",
        "SECRETINJ_WORKSPACE_ID": workspace,
    }


def default_env_file(environ: Mapping[str, str] | None = None) -> Path:
    """Return the env file ``serve`` writes and ``env`` reads when none is given."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(ENV_FILE_VARIABLE, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    runtime = environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and Path(runtime).is_dir():
        base = Path(runtime)
    else:
        base = Path(environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache")
    return base / "secretinj-mock" / "env"


def export_lines(env: Mapping[str, str]) -> list[str]:
    """Return ``export NAME=value`` lines, values shell-quoted."""
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


@dataclass(frozen=True)
class Record:
    """What a ``serve`` recorded: its URL, pid, start time and the exported variables."""

    url: str
    pid: int
    started: str
    env: dict[str, str]


def write_record(path: Path, url: str, env: Mapping[str, str], pid: int | None = None) -> Record:
    """Write the env file atomically (0600, directory 0700); return what was written."""
    record = Record(
        url=url,
        pid=os.getpid() if pid is None else pid,
        started=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        env=dict(env),
    )
    meta = {"url": record.url, "pid": record.pid, "started": record.started}
    text = "\n".join(
        [
            "# written by `secretinj-mock serve`; removed when it stops. Load it with",
            '# eval "$(secretinj-mock env)", which first checks that the mock still answers.',
            f"# secretinj-mock: {json.dumps(meta)}",
            *export_lines(record.env),
            "",
        ]
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".env-", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return record


def read_record(path: Path) -> Record | None:
    """Read an env file; None when it does not exist. ValueError when it is not one of ours."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    meta: dict[str, object] | None = None
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# secretinj-mock: "):
            with contextlib.suppress(ValueError):
                meta = json.loads(line.removeprefix("# secretinj-mock: "))
        elif line.startswith("export "):
            words = shlex.split(line)
            if len(words) == 2 and "=" in words[1]:
                name, _, value = words[1].partition("=")
                env[name] = value
    if not isinstance(meta, dict) or not isinstance(meta.get("url"), str) or not env:
        raise ValueError(f"{path} was not written by `secretinj-mock serve`")
    pid = meta.get("pid")
    return Record(
        url=str(meta["url"]),
        pid=pid if isinstance(pid, int) else 0,
        started=str(meta.get("started", "?")),
        env=env,
    )


def remove_record(path: Path, pid: int | None = None) -> bool:
    """Remove the env file if it is the one process ``pid`` (default: this one) wrote."""
    pid = os.getpid() if pid is None else pid
    try:
        record = read_record(path)
    except (OSError, ValueError):
        return False
    if record is None or record.pid != pid:
        return False  # another serve has written it since
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True


def control_get(url: str, path: str, timeout_s: float = HEALTH_TIMEOUT_S) -> object:
    """GET ``<url>/_mock<path>`` and return the JSON answer; None when nothing answers."""
    if not url.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(  # noqa: S310 - a loopback URL the mock recorded
            f"{url.rstrip('/')}/_mock{path}", timeout=timeout_s
        ) as resp:
            return json.loads(resp.read() or b"null")
    except (OSError, ValueError, urllib.error.URLError):
        return None


def mock_answers(url: str, timeout_s: float = HEALTH_TIMEOUT_S) -> bool:
    """Tell whether a mock answers ``GET <url>/_mock/health``."""
    body = control_get(url, "/health", timeout_s)
    return isinstance(body, dict) and body.get("status") == "ok"


def client_id_of(url: str, who: str) -> str | None:
    """Return the client id to act as ``who`` (``deployer`` or a client id) at the mock."""
    body = control_get(url, "/identities")
    if not isinstance(body, dict):
        return None
    if who.lower() == "deployer":
        deployer = body.get("deployer")
        return str(deployer["client_id"]) if isinstance(deployer, dict) else None
    known = [u.get("client_id") for u in body.get("user_assigned") or [] if isinstance(u, dict)]
    return who.lower() if who.lower() in known else None
