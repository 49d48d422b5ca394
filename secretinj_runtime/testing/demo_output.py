"""What ``make demo`` prints and checks: its lines, the table ``init()`` logged, the answer.

Also the two reads that prove the demo honest: what the mock served (counts only) and
whether any of the mock's secret values reached the server log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from secretinj_runtime.testing.mockprocess import MockProcess

_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


class DemoError(RuntimeError):
    """A step of the demo did not give the expected result."""


def say(text: str, indent: int = 0) -> None:
    """Print one line of the demo's output."""
    print(" " * indent + text, flush=True)


def resolution_table(log: str) -> list[str]:
    """Return the first resolution report ``init()`` logged: its summary and table lines.

    On failure that is the `SecretResolutionError` in azmlinfsrv's log: its first line and
    one line per failed variable.
    """
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if " score - secret resolution" in line or "secret variables did not resolve:" in line:
            summary = line.split(" score - ", 1)[-1].split("SecretResolutionError: ")[-1]
            table = []
            for row in lines[i + 1 :]:
                if not row.strip() or _LOG_LINE.match(row):
                    break
                table.append(row)
            return [summary, *table]
    return []


def check_answer(status: int, answer: Any, text: str) -> None:
    """Raise `DemoError` unless the score answered 200 with the model's reply and sources."""
    if status != 200 or not isinstance(answer, dict):
        raise DemoError(f"/score answered {status}: {answer}")
    if text not in str(answer.get("answer")):
        raise DemoError(f"unexpected answer: {answer.get('answer')!r}")
    if not isinstance(answer.get("secrets"), dict):
        raise DemoError(f"the answer has no secrets map: {answer}")


def served(mock: MockProcess) -> str:
    """Describe the requests the mock served (counts only)."""
    counters = mock.control("GET", "/counters")
    routes, names = counters["routes"], counters["names"]
    per_connection = ", ".join(f"{n} {c}" for n, c in sorted(names.get("listsecrets", {}).items()))
    return (
        f"tokens {routes.get('msi', 0)}, ListSecrets {routes.get('listsecrets', 0)} "
        f"({per_connection}), Key Vault GET {routes.get('keyvault', 0)}, "
        f"model API {routes.get('downstream', 0)}"
    )


def leaked_values(log: str, extra: Sequence[str] = ()) -> int:
    """Return how many of the mock's credential and secret values (and ``extra``) are in ``log``."""
    from secretinj_runtime.mock.defaults import default_state_dict

    state = default_state_dict()
    values: list[str] = list(extra)
    for connection in state["connections"].values():
        credentials = connection.get("credentials") or {}
        values += [v for v in credentials.values() if isinstance(v, str)]
        values += list((credentials.get("keys") or {}).values())
    for secrets in state["vaults"].values():
        for versions in secrets.values():
            values += [versions] if isinstance(versions, str) else list(versions)
    return sum(1 for value in values if value in log)
