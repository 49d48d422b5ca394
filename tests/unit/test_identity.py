from __future__ import annotations

import threading

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

import secretinj_runtime as sir
from secretinj_runtime.identity import TokenCache, client_id_from_environ, default_credential
from tests.fakes import FakeCredential


def test_client_id_precedence() -> None:
    env = {"UAI_CLIENT_ID": "uai", "AZURE_CLIENT_ID": "azure", "SECRETINJ_CLIENT_ID": "ours"}
    assert client_id_from_environ(env) == "ours"
    del env["SECRETINJ_CLIENT_ID"]
    assert client_id_from_environ(env) == "azure"
    del env["AZURE_CLIENT_ID"]
    assert client_id_from_environ(env) == "uai"
    assert client_id_from_environ({"UAI_CLIENT_ID": "  "}) is None


def test_managed_identity_where_an_endpoint_is_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSI_ENDPOINT", "http://127.0.0.1:1/msi/token")
    monkeypatch.setenv("MSI_SECRET", "s")
    credential = default_credential("client-1", {"MSI_ENDPOINT": "http://127.0.0.1:1/msi/token"})
    assert isinstance(credential, ManagedIdentityCredential)


def test_default_credential_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MSI_ENDPOINT", "IDENTITY_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    credential = default_credential(None, {})
    assert isinstance(credential, DefaultAzureCredential)
    names = [type(c).__name__ for c in credential.credentials]
    assert "InteractiveBrowserCredential" not in names


def test_tokens_are_cached_per_scope_until_near_expiry() -> None:
    credential = FakeCredential(expires_in_s=3600)
    now = [0.0]  # long before the fake tokens expire
    cache = TokenCache(lambda: credential, clock=lambda: now[0])
    first = cache.get("a/.default")
    assert cache.get("a/.default") == first
    cache.get("b/.default")
    assert credential.calls == {"a/.default": 1, "b/.default": 1}
    now[0] = 10**12  # far past every expiry
    assert cache.get("a/.default") != first
    assert credential.calls["a/.default"] == 2


def test_cold_start_single_flight_per_scope() -> None:
    credential = FakeCredential(delay_s=0.1)
    seen: list[str] = []
    cache = TokenCache(lambda: credential, on_token=seen.append)
    start = threading.Barrier(16, timeout=5)
    tokens: list[str] = []

    def worker(i: int) -> None:
        start.wait()
        tokens.append(cache.get("arm/.default" if i % 2 else "kv/.default"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert credential.calls == {"arm/.default": 1, "kv/.default": 1}
    assert len(set(tokens)) == 2
    assert sorted(seen) == sorted(set(tokens)), "every token goes to the redaction first"


def test_credential_failures_become_identity_unavailable_without_the_token_text() -> None:
    cache = TokenCache(lambda: FakeCredential(error=ValueError("line one\nline two")))
    with pytest.raises(sir.IdentityUnavailableError) as info:
        cache.get("arm/.default")
    assert str(info.value) == "no token for arm/.default from the credential: ValueError: line one."
    assert info.value.status is sir.Status.IDENTITY_UNAVAILABLE


def test_factory_is_called_once() -> None:
    made: list[FakeCredential] = []

    def factory() -> FakeCredential:
        made.append(FakeCredential())
        return made[-1]

    cache = TokenCache(factory)
    cache.get("a")
    cache.get("b")
    assert len(made) == 1
