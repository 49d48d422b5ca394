"""The fallback benchmark's three clients; each resolves a list of variables to their values.

The two baselines read where to call from the environment `mock_env` set (`Endpoints`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.fallback.workload import VAULT, Var
from bench.harness import ARM_SCOPE, KEYVAULT_API, KV_SCOPE, LISTSECRETS_API, Endpoints


def run_runtime(variables: list[Var]) -> dict[str, str]:
    """Cold: a new resolver (new credential, new session) resolves every variable."""
    import secretinj_runtime as sir

    environ = {v.name: v.reference for v in variables}
    sir.SecretResolver().resolve_environment(environ=environ)
    return environ


def _extract(var: Var, body: dict[str, Any]) -> str:
    if var.part == "secret":
        return str(body["value"])
    props = body["properties"]
    if var.part == "target":
        return str(props["target"])
    return str(props[var.part][var.key])


def run_limit(variables: list[Var]) -> dict[str, str]:
    """Two round trips: both tokens at once, then every distinct fetch at once."""
    import requests
    from requests.adapters import HTTPAdapter

    where = Endpoints.from_environ()
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=64))
    groups = {v.group: v for v in variables}
    scopes = sorted({ARM_SCOPE if g[0] == "conn" else KV_SCOPE for g in groups})

    def token(scope: str) -> str:
        resource = scope.removesuffix("/.default")
        response = session.get(
            where.msi_url,
            params={"api-version": "2017-09-01", "resource": resource},
            headers={"secret": where.msi_secret},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    with ThreadPoolExecutor(max_workers=max(len(groups), len(scopes))) as pool:
        tokens = dict(zip(scopes, pool.map(token, scopes), strict=True))

        def fetch(group: tuple[str, str]) -> dict[str, Any]:
            if group[0] == "conn":
                url = f"{where.workspace_url}/connections/{group[1]}/listsecrets"
                headers = {"Authorization": f"Bearer {tokens[ARM_SCOPE]}"}
                response = session.post(
                    url, params={"api-version": LISTSECRETS_API}, headers=headers, timeout=30
                )
            else:
                url = f"{where.keyvault_url}/{VAULT}/secrets/{group[1]}"
                headers = {"Authorization": f"Bearer {tokens[KV_SCOPE]}"}
                response = session.get(
                    url, params={"api-version": KEYVAULT_API}, headers=headers, timeout=30
                )
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        bodies = dict(zip(groups, pool.map(fetch, groups), strict=True))
    session.close()
    return {v.name: _extract(v, bodies[v.group]) for v in variables}


def run_sequential(variables: list[Var]) -> dict[str, str]:
    """One call per variable, one after another (azure-identity caches the tokens)."""
    import requests
    from azure.identity import ManagedIdentityCredential

    where = Endpoints.from_environ()
    credential = ManagedIdentityCredential()
    values: dict[str, str] = {}
    for var in variables:
        if var.group[0] == "conn":
            token = credential.get_token(ARM_SCOPE).token
            response = requests.post(
                f"{where.workspace_url}/connections/{var.group[1]}/listsecrets",
                params={"api-version": LISTSECRETS_API},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        else:
            token = credential.get_token(KV_SCOPE).token
            response = requests.get(
                f"{where.keyvault_url}/{VAULT}/secrets/{var.group[1]}",
                params={"api-version": KEYVAULT_API},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
        response.raise_for_status()
        values[var.name] = _extract(var, response.json())
    credential.close()
    return values


CLIENTS: dict[str, Callable[[list[Var]], dict[str, str]]] = {
    "runtime": run_runtime,
    "limit": run_limit,
    "sequential": run_sequential,
}
