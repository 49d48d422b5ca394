"""The stampede's three clients, each as a replica: a call that resolves one replica's set.

A replica reports whether it is ready, how many waits it went through (sleeps or retries) and
how many of its fetches succeeded. Each call builds everything anew (credential, session,
cache): distinct replicas share nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.harness import ARM_SCOPE, LISTSECRETS_API, Endpoints
from bench.stampede.params import Params, Setup

#: What a replica reports: ready, how many waits (sleeps or retries), fetches that succeeded.
Replica = tuple[bool, int, int]


def runtime_replica(setup: Setup, mode: str) -> Callable[[], Replica]:
    """A replica that resolves its references with the runtime, retry mode ``mode``."""
    import secretinj_runtime as sir
    from secretinj_runtime.transport import RetryPolicy

    refs = {
        f"CONN_{i}_KEY": f"${{{{azureml://connections/{name}/credentials/key}}}}"
        for i, name in enumerate(setup.connection_names())
    }
    policy = RetryPolicy(deadline_s=setup.deadline_s, mode=mode)

    def replica() -> Replica:
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            time.sleep(seconds)

        resolver = sir.SecretResolver(sleep=sleep, retry_policy=policy)
        try:
            report = resolver.resolve_environment(environ=dict(refs), required=False)
        finally:
            resolver.close()
        resolved = sum(s.status is sir.Status.RESOLVED for s in report.variables.values())
        return report.ok, len(sleeps), resolved

    return replica


def naive_replica(setup: Setup, params: Params) -> Callable[[], Replica]:
    """A replica with fixed backoff that ignores ``Retry-After`` and gives up after 3 retries."""
    import requests
    from azure.identity import ManagedIdentityCredential
    from requests.adapters import HTTPAdapter

    base = Endpoints.from_environ().workspace_url
    names = setup.connection_names()

    def replica() -> Replica:
        credential = ManagedIdentityCredential()
        token = credential.get_token(ARM_SCOPE).token
        session = requests.Session()
        session.mount("http://", HTTPAdapter(pool_maxsize=len(names)))
        retries = [0]

        def fetch(name: str) -> bool:
            for attempt, delay in enumerate((0.0, *params.naive_backoff_s)):
                if attempt:
                    retries[0] += 1
                    time.sleep(delay)
                try:
                    response = session.post(
                        f"{base}/connections/{name}/listsecrets",
                        params={"api-version": LISTSECRETS_API},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=30,
                    )
                except requests.RequestException:
                    continue
                with response:
                    if response.status_code == 200:
                        return True
                    if response.status_code != 429 and response.status_code < 500:
                        return False
            return False

        try:
            with ThreadPoolExecutor(max_workers=len(names)) as pool:
                fetched = list(pool.map(fetch, names))
        finally:
            session.close()
            credential.close()
        return all(fetched), retries[0], sum(fetched)

    return replica


def replicas(setup: Setup, params: Params) -> dict[str, Callable[[], Replica]]:
    """The three clients by kind: ``adaptive``, ``standard`` and ``naive``."""
    return {
        "adaptive": runtime_replica(setup, "adaptive"),
        "standard": runtime_replica(setup, "standard"),
        "naive": naive_replica(setup, params),
    }
