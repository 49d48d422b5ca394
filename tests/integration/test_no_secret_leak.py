"""No value or token in logs (DEBUG on every logger), reports, reprs or exception text."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest

import secretinj_runtime as sir
from tests.integration.conftest import CONNECTIONS, VAULT_SECRETS
from tests.integration.fake_server import MSI_SECRET, FakeAzure, Fault
from tests.integration.test_fallback import TEN_VARIABLES

Build = Callable[..., sir.SecretResolver]


def secret_values(fake: FakeAzure) -> list[str]:
    values = [MSI_SECRET, *VAULT_SECRETS.values(), *fake.issued_tokens()]
    for body in CONNECTIONS.values():
        creds = body["properties"]["credentials"]
        values += [v for v in (creds.get("keys") or creds).values() if isinstance(v, str)]
    return values


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """DEBUG on the root and on the chatty libraries, formatted with tracebacks."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    names = ["", "urllib3", "azure", "azure.identity", "azure.core", "msal", "secretinj_runtime"]
    saved = {n: logging.getLogger(n).level for n in names}
    root.addHandler(handler)
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    for n, level in saved.items():
        logging.getLogger(n).setLevel(level)


def test_nothing_secret_escapes(
    fake_azure: FakeAzure, real_resolver: Build, debug_log: io.StringIO
) -> None:
    resolver = real_resolver(revocation_grace_s=0)  # a 403 on refresh counts as revoked
    env = dict(TEN_VARIABLES)
    env["BAD_KEY"] = "${{azureml://connections/multi-conn/credentials/NOPE}}"
    with pytest.raises(sir.SecretResolutionError) as info:
        resolver.resolve_environment(environ=env)
    report = info.value.report
    key = env["AOAI_API_KEY"]
    # The user's own code logs a secret by mistake, in every way it can.
    logging.getLogger("score").info("key %s", key)
    logging.info("inline %s / %r", env["DB_PASSWORD"], {"pw": env["DB_PASSWORD"]})
    try:
        raise RuntimeError(f"client failed with key {key}")
    except RuntimeError:
        logging.getLogger("score").exception("oops")
    # Failures on later calls, through the typed errors.
    fake_azure.fault("listsecrets", Fault(403, headers={"x-ms-request-id": "r-1"}))
    resolver.refresh()
    errors: list[str] = []
    for name in ("AOAI_API_KEY", "BAD_KEY"):
        with pytest.raises(sir.SecretInjectionError) as err:
            resolver.get_secret(name, environ={name: TEN_VARIABLES.get(name, env["BAD_KEY"])})
        errors += [str(err.value), repr(err.value)]

    texts = {
        "log": debug_log.getvalue(),
        "report table": str(report),
        "report dict": repr(report.to_dict()),
        "report repr": repr(report) + repr(list(report.variables.values())),
        "aggregate error": str(info.value) + repr(info.value),
        "typed errors": "\n".join(errors),
        "resolver repr": repr(resolver),
    }
    assert "DEBUG urllib3" in texts["log"], "DEBUG logging really was on"
    assert "key ***" in texts["log"]
    values = secret_values(fake_azure)
    assert len(fake_azure.issued_tokens()) == 2
    for where, text in texts.items():
        for value in values:
            assert value not in text, f"a secret ({len(value)} chars) leaked into the {where}"
