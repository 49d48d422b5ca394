"""``make demo``: the sample score under azmlinfsrv, its secrets fetched from a local mock.

1. start ``secretinj-mock serve`` (managed identity, ARM ListSecrets, Key Vault, a model API);
2. ``secretinj preflight`` as the deployer, before "deploying": it fails while the deployer
   lacks the ListSecrets action, the fix it prints is applied through the mock's control
   API, and the rerun passes (the mock's request log shows it read no secret);
3. start ``azmlinfsrv --entry_script sample_score/score.py`` with ``deployment.yml``'s
   ``environment_variables`` left as references (the fallback path), one of them pre-injected
   as a literal (the fast path), and the environment ``secretinj-mock env`` prints;
4. wait for liveness, show the resolution table ``init()`` logged, score one request;
5. rotate the model API key in the mock and score again (401, fetch again, retry);
6. stop both process groups. Exit 0, or 1 with a message naming what failed.

No secret value is printed: the demo checks that the server log holds none of the mock's.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

from secretinj_runtime.deployment_yaml import YamlFileError
from secretinj_runtime.preflight.roles import AZUREML_DATA_SCIENTIST, CONNECTION_SECRETS_READER
from secretinj_runtime.testing import sample
from secretinj_runtime.testing.demo_output import (
    DemoError,
    check_answer,
    leaked_values,
    resolution_table,
    say,
    served,
)

__all__ = ["DemoError", "check_answer", "main", "resolution_table", "run_demo"]

TEXT = "hello secret injection"
#: What the platform would have injected already: a literal takes the fast path.
PRE_INJECTED = {"AOAI_API_VERSION": "2024-02-01"}
DATA_SCIENTIST = AZUREML_DATA_SCIENTIST.name
SECRETS_READER = CONNECTION_SECRETS_READER.name
_STEPS = 7
#: What preflight may ask the mock: tokens, ARM reads, secret versions (never a value).
PREFLIGHT_ROUTES = {"msi", "arm", "keyvault_versions"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return 0 when every step worked, 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="python -m secretinj_runtime.testing.demo", description=__doc__
    )
    parser.add_argument("--text", default=TEXT, help="what to send to /score")
    parser.add_argument(
        "--env",
        metavar="MOCK_URL",
        help="print the export lines the demo gives azmlinfsrv for a mock at MOCK_URL, and exit",
    )
    args = parser.parse_args(argv)
    if not sample.SCORE_SCRIPT.is_file():
        print(f"demo: no sample at {sample.SAMPLE_DIR}: run it from a checkout", file=sys.stderr)
        return 1
    if args.env:
        for name, value in server_environment(sample.mock_environ(args.env)).items():
            print(f"export {name}={shlex.quote(value)}")
        return 0
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="secretinj-demo-") as tmp:
            run_demo(Path(tmp), args.text)
    except (
        sample.ProcessError,
        DemoError,
        YamlFileError,
        requests.RequestException,
        OSError,
    ) as ex:
        print(f"\ndemo FAILED: {ex}", file=sys.stderr, flush=True)
        return 1
    print(f"demo OK in {time.monotonic() - started:.1f} s", flush=True)
    return 0


def run_demo(workdir: Path, text: str = TEXT) -> None:
    """Run every step in ``workdir`` (logs); raise on the first failure, always clean up."""
    say("secretinj-runtime demo: the sample score.py under azmlinfsrv, secrets from a mock")
    with ExitStack() as stack:
        step(1, "mock Azure services (managed identity, ARM ListSecrets, Key Vault, model API)")
        mock = sample.start_mock(workdir)
        stack.callback(mock.stop)
        say(f"{mock.url}  (pid {mock.pid})", indent=6)

        step(2, "secretinj preflight deployment.yml --endpoint endpoint.yml, as the deployer")
        preflight_step(mock)

        step(3, "environment for the server: deployment.yml's environment_variables")
        mock_env = mock.environ()
        show_environment(sample.deployment_variables(), mock_env)

        server = sample.start_scorer(workdir, server_environment(mock_env))
        stack.callback(server.stop)
        port = server.url.rsplit(":", 1)[1]
        step(4, f"azmlinfsrv --entry_script sample_score/score.py --port {port}")
        wait_and_show_init(server)

        step(5, f'POST /score {{"text": "{text}"}}')
        t0 = time.perf_counter()
        status, answer = sample.score(server.url, {"text": text}, timeout_s=15)
        say(f"{status} in {(time.perf_counter() - t0) * 1000:.0f} ms", indent=6)
        check_answer(status, answer, text)
        say(f"answer:  {answer['answer']}", indent=6)
        sources = ", ".join(f"{k}={v}" for k, v in answer["secrets"].items())
        say(f"secrets: {sources}", indent=6)

        step(6, "rotate aoai-conn's key in the mock while the server runs; score again")
        rotated_key = rotate_and_score(mock, server, text)

        step(7, "what the mock served (counts), and a leak check of the server log")
        say(served(mock), indent=6)
        leaked = leaked_values(server.log(), extra=[rotated_key])
        if leaked:
            raise DemoError(f"{leaked} secret value(s) appear in the server log")
        say("no secret value in the server log (checked every value the mock holds)", indent=6)
    for process in (server, mock):  # the exit stack stopped both process groups
        if not process.finished():
            raise DemoError(f"{process.name} (pid {process.pid}) is still running")
    say("stopped azmlinfsrv and the mock; no process left behind")


def run_preflight(mock: sample.MockProcess, deployer: str) -> tuple[int, dict[str, Any]]:
    """Run ``secretinj preflight --json`` on the sample as the deployer; return code and JSON."""
    argv = [*sample.console_script("secretinj", "secretinj_runtime.cli"), "preflight"]
    argv += [str(sample.DEPLOYMENT_YML), "--endpoint", str(sample.ENDPOINT_YML), "--json"]
    env = {
        **mock.environ(),
        "SECRETINJ_CLIENT_ID": deployer,  # the default credential acts as the deployer
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9",  # never the metadata host
    }
    result = subprocess.run(
        argv,
        env=sample.child_environ(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise DemoError(f"preflight printed no JSON (exit {result.returncode})") from None
    return result.returncode, report


def preflight_step(mock: sample.MockProcess) -> None:
    """Fail preflight (deployer without the action), apply its fix in the mock, pass."""
    deployer = str(mock.control("GET", "/identities")["deployer"]["client_id"])
    for assignment in mock.control("GET", "/role-assignments"):
        if assignment["principal"] == deployer and assignment["role"] == DATA_SCIENTIST:
            mock.control("DELETE", f"/role-assignments/{assignment['id']}")
    say(f"the deployer holds Reader on the group, no longer {DATA_SCIENTIST}", indent=6)
    code, report = run_preflight(mock, deployer)
    failed = [c for c in report["checks"] if c["status"] == "FAIL"]
    if code != 1 or not failed:
        raise DemoError(f"preflight should have failed (exit {code}): {failed}")
    for check in failed:
        say(f"FAIL {check['check']} {check['subject']}: {check['detail']}", indent=6)
        say(f"fix: {check['fix']}", indent=11)
    say(f"exit {code}; applying that fix through the mock's control API", indent=6)
    mock.control(
        "POST",
        "/role-assignments",
        {"principal": "deployer", "role": SECRETS_READER, "scope": "workspace"},
    )
    code, report = run_preflight(mock, deployer)
    if code != 0:
        bad = [c for c in report["checks"] if c["status"] == "FAIL"]
        raise DemoError(f"preflight still fails after the fix: {bad}")
    counts: dict[str, int] = {}
    for check in report["checks"]:
        counts[check["status"]] = counts.get(check["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    say(f"rerun: exit 0 ({summary}); UNKNOWN: a CustomKeys key needs --check-keys", indent=6)
    routes = {entry["route"] for entry in mock.request_log()}
    if not routes <= PREFLIGHT_ROUTES:
        raise DemoError(f"preflight made calls it must not make: {sorted(routes)}")
    say(f"it read no secret: the mock saw only {', '.join(sorted(routes))} calls", indent=6)
    mock.reset()  # back to the demo state, an empty request log for the next steps


def wait_and_show_init(server: sample.Process) -> None:
    """Wait for liveness; print the resolution table init() logged (or fail showing it)."""
    try:
        took = sample.wait_for_liveness(server, timeout_s=25)
    except sample.ProcessError:
        table = resolution_table(server.log())  # show the report rather than a traceback
        if not table:
            raise
        rows = "\n".join(f"        {line}" for line in table)
        raise DemoError(f"azmlinfsrv's init() failed; it logged:\n{rows}") from None
    say(f"live after {took:.1f} s; init() logged:", indent=6)
    table = resolution_table(server.log())
    if not table:
        raise DemoError(f"init() logged no resolution table:\n{server.log_tail()}")
    for line in table:
        say(line, indent=8)


def rotate_and_score(mock: sample.MockProcess, server: sample.Process, text: str) -> str:
    """Rotate the model API key in the mock, score again; return the new key (unprinted)."""
    rotated = mock.control("POST", "/connections/aoai-conn/rotate", {"credential": "key"})
    status, answer = sample.score(server.url, {"text": text}, timeout_s=15)
    check_answer(status, answer, text)
    fetches = mock.count("listsecrets", "aoai-conn")
    if fetches != 2 or "fetching AOAI_API_KEY again" not in server.log():
        raise DemoError(f"expected a 401 and a 2nd ListSecrets for aoai-conn, saw {fetches}")
    say(f"{status} after one 401: run() fetched the rotated key (a 2nd ListSecrets", indent=6)
    say("call for aoai-conn), rebuilt its client and retried", indent=6)
    return str(rotated["value"])


def server_environment(mock_env: dict[str, str]) -> dict[str, str]:
    """Return the server's variables: the mock's, deployment.yml's, the pre-injected one."""
    return {**mock_env, **sample.deployment_variables(), **PRE_INJECTED}


def step(number: int, title: str) -> None:
    """Print a step header."""
    say(f"\n[{number}/{_STEPS}] {title}")


def show_environment(variables: dict[str, str], mock_env: dict[str, str]) -> None:
    """Print each deployment variable as a reference or a pre-injected literal (no value)."""
    width = max(len(name) for name in variables)
    for name, reference in variables.items():
        if name in PRE_INJECTED:
            say(f"{name.ljust(width)}  literal    (pre-injected, as the platform does)", indent=6)
        else:
            say(f"{name.ljust(width)}  reference  {reference}", indent=6)
    say(f"+ from `secretinj-mock env`: {', '.join(mock_env)}", indent=6)


if __name__ == "__main__":
    sys.exit(main())
