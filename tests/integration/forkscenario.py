"""Fork scenarios, run as a separate process (the test process itself never forks).

``python -m tests.integration.forkscenario SCENARIO SPEC_JSON``; the environment points the
runtime at a mock. Prints one JSON line with what each child saw: whether it got the value
of its own connection, and never the value itself.

Scenarios:
- ``crosswire``: the parent resolves a first connection, then forks children that resolve
  their own connections at the same moment.
- ``inflight``: the parent forks while one of its threads is fetching; the child resolves
  the same reference.
- ``refresher``: the parent resolves with background refresh on, then forks; the child
  must get the rotated value from its own refresher.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

import secretinj_runtime as sir


def ref(connection: str) -> str:
    return f"${{{{azureml://connections/{connection}/credentials/key}}}}"


def _child_report(out_w: int, report: dict[str, Any]) -> None:
    os.write(out_w, json.dumps(report).encode())
    os._exit(0)


def _fork(target: Any, *args: Any) -> tuple[int, int, int]:
    """Fork a child that waits for a byte on its go pipe, then runs ``target``."""
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(go_w)
        os.close(out_r)
        os.read(go_r, 1)
        try:
            report = target(*args)
        except BaseException as ex:  # report it, never hang the parent
            report = {"error": f"{type(ex).__name__}: {ex}"}
        _child_report(out_w, report)
    os.close(go_r)
    os.close(out_w)
    return pid, go_w, out_r


def _collect(children: list[tuple[int, int, int]], timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    results: list[dict[str, Any]] = []
    for pid, _go, out_r in children:
        finished = False
        while not finished and time.monotonic() < deadline:
            finished = os.waitpid(pid, os.WNOHANG)[0] != 0
            if not finished:
                time.sleep(0.01)
        if finished:
            data = os.read(out_r, 65536)
            results.append(json.loads(data) if data else {"error": "no report"})
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            results.append({"error": "hung: killed after the timeout"})
        os.close(out_r)
    return results


def crosswire(spec: dict[str, Any]) -> dict[str, Any]:
    expected: dict[str, str] = spec["expected"]
    first, *others = list(expected)
    resolver = sir.SecretResolver()
    assert resolver.resolve(ref(first)) == expected[first]

    def child(name: str) -> dict[str, Any]:
        value = resolver.resolve(ref(name))
        got = [n for n, v in expected.items() if v == value]
        return {"name": name, "own": value == expected[name], "got": got[0] if got else "?"}

    children = [_fork(child, name) for name in others]
    for _pid, go_w, _out in children:
        os.write(go_w, b"x")
    return {"children": _collect(children, spec.get("timeout_s", 30))}


def inflight(spec: dict[str, Any]) -> dict[str, Any]:
    name, value = spec["name"], spec["value"]
    # The fork must land while the fetch waits on the network, not while the fetching thread
    # is still importing azure-identity: a fork in the middle of any import leaves a half
    # initialised module in the child (a Python hazard, not the runtime's).
    import azure.identity
    import requests
    import tenacity

    del azure, requests, tenacity
    resolver = sir.SecretResolver()
    started = threading.Event()

    def fetch_in_parent() -> None:
        started.set()
        resolver.resolve(ref(name))

    thread = threading.Thread(target=fetch_in_parent)
    thread.start()
    started.wait()
    time.sleep(spec.get("settle_s", 0.3))  # the parent's fetch is now waiting on the mock

    def child() -> dict[str, Any]:
        t0 = time.monotonic()
        got = resolver.resolve(ref(name))
        return {"own": got == value, "seconds": round(time.monotonic() - t0, 2)}

    children = [_fork(child)]
    os.write(children[0][1], b"x")
    result = _collect(children, spec.get("timeout_s", 20))
    thread.join()
    return {"children": result}


def refresher(spec: dict[str, Any]) -> dict[str, Any]:
    import urllib.request

    name, var = spec["name"], "SCENARIO_KEY"
    os.environ[var] = ref(name)
    resolver = sir.SecretResolver(refresh_interval_s=spec["interval_s"])
    resolver.resolve_environment([var])
    old = os.environ[var]

    def child() -> dict[str, Any]:
        threads = [t.name for t in threading.enumerate()]
        req = urllib.request.Request(  # noqa: S310 - the mock on loopback
            f"{spec['mock_url']}/_mock/connections/{name}/rotate",
            data=json.dumps({"credential": "key", "value": spec["new_value"]}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=10).close()  # noqa: S310
        deadline = time.monotonic() + spec.get("wait_s", 10)
        while time.monotonic() < deadline and os.environ[var] == old:
            time.sleep(0.05)
        return {
            "refresher": "secretinj-refresh" in threads,
            "rotated": os.environ[var] != old,
            "correct": os.environ[var] == spec["new_value"],
        }

    children = [_fork(child)]
    os.write(children[0][1], b"x")
    result = _collect(children, spec.get("timeout_s", 30))
    resolver.close()
    return {"children": result}


SCENARIOS = {"crosswire": crosswire, "inflight": inflight, "refresher": refresher}

if __name__ == "__main__":
    outcome = SCENARIOS[sys.argv[1]](json.loads(sys.argv[2]))
    print(json.dumps(outcome), flush=True)
