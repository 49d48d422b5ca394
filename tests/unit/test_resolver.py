from __future__ import annotations

import json
import threading

import pytest

import secretinj_runtime as sir
from secretinj_runtime import Status
from tests.fakes import (
    WORKSPACE_ID,
    FakeAdapter,
    FakeClock,
    FakeCredential,
    Reply,
    connection_body,
    make_resolver,
)

ARM_SCOPE = "https://management.azure.com/.default"
KV_SCOPE = "https://vault.azure.net/.default"
VERSION = "0123456789abcdef0123456789abcdef"


def conn_ref(name: str, tail: str = "/credentials/key") -> str:
    return f"${{{{azureml://connections/{name}{tail}}}}}"


def kv_ref(vault: str, secret: str, version: str | None = None) -> str:
    suffix = f"/{version}" if version else ""
    return f"${{{{keyvault:https://{vault}.vault.azure.net/secrets/{secret}{suffix}}}}}"


def fake_azure(*connections: str, kv: dict[str, str] | None = None) -> FakeAdapter:
    adapter = FakeAdapter()
    for name in connections:
        adapter.add("POST", f"/connections/{name}/listsecrets", Reply(200, connection_body(name)))
    for path, value in (kv or {}).items():
        adapter.add("GET", path, Reply(200, {"value": value, "id": "x"}))
    return adapter


def test_mixed_environment_reports_every_variable_and_writes_back() -> None:
    adapter = fake_azure("aoai", kv={"/secrets/db-pass": "kv-value-1234"})
    resolver = make_resolver(adapter)
    env = {
        "KEY": conn_ref("aoai"),
        "ENDPOINT": conn_ref("aoai", "/target"),
        "API_VERSION": conn_ref("aoai", "/metadata/ApiVersion"),
        "DB": kv_ref("mykv", "db-pass"),
        "INJECTED": "already-there",
        "UNRELATED": "x",
    }
    report = resolver.resolve_environment(
        ["KEY", "ENDPOINT", "API_VERSION", "DB", "INJECTED", "NOT_SET"],
        environ=env,
        required=False,
    )
    statuses = {n: s.status for n, s in report.variables.items()}
    assert statuses == {
        "KEY": Status.RESOLVED,
        "ENDPOINT": Status.RESOLVED,
        "API_VERSION": Status.RESOLVED,
        "DB": Status.RESOLVED,
        "INJECTED": Status.PRESENT,
        "NOT_SET": Status.MISSING,
    }
    assert env["KEY"] == "aoai-secret-key"
    assert env["ENDPOINT"] == "https://aoai.example.com/"
    assert env["API_VERSION"] == "2024-02-01"
    assert env["DB"] == "kv-value-1234"
    assert report.variables["KEY"].source == "connection"
    assert report.variables["DB"].source == "keyvault"
    assert report.variables["INJECTED"].source == "injected"
    assert report.variables["KEY"].reference == conn_ref("aoai")
    assert not report.ok
    assert adapter.count("listsecrets") == 1
    assert adapter.count("/secrets/db-pass") == 1


def test_names_none_scans_only_references() -> None:
    adapter = fake_azure("aoai")
    env = {"A": conn_ref("aoai"), "B": "literal", "C": "${{garbage}}"}
    report = make_resolver(adapter).resolve_environment(environ=env, required=False)
    assert list(report.variables) == ["A", "C"]
    assert report.variables["C"].status is Status.INVALID_SYNTAX
    assert env["C"] == "${{garbage}}", "an unresolvable value is left as it was"


def test_without_write_back_the_environment_is_untouched() -> None:
    env = {"A": conn_ref("aoai")}
    report = make_resolver(fake_azure("aoai")).resolve_environment(environ=env, write_back=False)
    assert report.ok
    assert env == {"A": conn_ref("aoai")}


def test_required_raises_naming_every_failed_variable() -> None:
    adapter = fake_azure("aoai")
    adapter.add(
        "POST",
        "/connections/gone/listsecrets",
        Reply(
            404,
            {"error": {"code": "ResourceNotFound", "message": "Connection gone can't be found"}},
        ),
    )
    env = {"OK": conn_ref("aoai"), "GONE": conn_ref("gone"), "BAD": "${{azureml://connections/x}}"}
    with pytest.raises(sir.SecretResolutionError) as info:
        make_resolver(adapter).resolve_environment(environ=env)
    text = str(info.value)
    assert "2 of 3 secret variables did not resolve" in text
    assert "GONE (${{azureml://connections/gone/credentials/key}}): NOT_FOUND" in text
    assert "connection 'gone' was not found in workspace" in text
    assert "BAD" in text
    assert "INVALID_SYNTAX" in text
    assert info.value.failed == ["GONE", "BAD"]
    assert info.value.report.variables["OK"].status is Status.RESOLVED
    assert env["OK"] == "aoai-secret-key", "what resolved is still written back"


def test_one_call_per_connection_and_per_vault_secret() -> None:
    adapter = fake_azure(
        "conn-a",
        "conn-b",
        "conn-c",
        kv={"/secrets/s1/" + VERSION: "v1-value", "/secrets/s1?": "latest-value"},
    )
    env = {}
    for i in range(4):
        env[f"A{i}"] = conn_ref("conn-a", "/target" if i % 2 else "/credentials/key")
        env[f"B{i}"] = conn_ref("CONN-B")  # case-insensitive grouping
    env["C"] = conn_ref("conn-c", "")
    env["K1"] = kv_ref("kv1", "s1", VERSION)
    env["K2"] = kv_ref("kv1", "S1", VERSION.upper())
    env["K3"] = kv_ref("kv1", "s1")
    report = make_resolver(adapter).resolve_environment(environ=env)
    assert report.ok
    assert adapter.count("/listsecrets") == 3
    assert adapter.count("/secrets/s1/") == 1
    assert adapter.count("/secrets/s1?") == 1
    assert env["K1"] == env["K2"] == "v1-value"
    assert env["K3"] == "latest-value"
    assert json.loads(env["C"])["properties"]["credentials"]["key"] == "conn-c-secret-key"


def test_groups_are_fetched_concurrently() -> None:
    adapter = fake_azure(*(f"conn-{i}" for i in range(6)))
    barrier = threading.Barrier(6, timeout=5)
    real_send = adapter.send

    def send(request, **kwargs):  # type: ignore[no-untyped-def]
        barrier.wait()  # raises BrokenBarrierError unless all six are in flight at once
        return real_send(request, **kwargs)

    adapter.send = send  # type: ignore[method-assign,assignment]
    env = {f"V{i}": conn_ref(f"conn-{i}") for i in range(6)}
    report = make_resolver(adapter).resolve_environment(environ=env)
    assert report.ok


def test_single_flight_32_threads_cause_one_call() -> None:
    adapter = fake_azure("aoai")
    adapter.gate = threading.Event()
    resolver = make_resolver(adapter)
    results: list[str] = []
    start = threading.Barrier(32, timeout=5)

    def worker() -> None:
        start.wait()
        results.append(resolver.resolve(conn_ref("aoai")))

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    threading.Timer(0.2, adapter.gate.set).start()
    for t in threads:
        t.join(10)
    assert results == ["aoai-secret-key"] * 32
    assert adapter.count("listsecrets") == 1
    assert resolver.fetch_count == 1


def test_one_token_request_per_audience_on_a_cold_credential() -> None:
    adapter = fake_azure(*(f"conn-{i}" for i in range(8)), kv={"/secrets/": "v"})
    credential = FakeCredential(delay_s=0.1)
    env = {f"C{i}": conn_ref(f"conn-{i}") for i in range(8)}
    env |= {f"K{i}": kv_ref("kv1", f"s{i}") for i in range(4)}
    make_resolver(adapter, credential).resolve_environment(environ=env)
    assert credential.calls == {ARM_SCOPE: 1, KV_SCOPE: 1}
    auth = {c.headers["Authorization"] for c in adapter.calls}
    assert len(auth) == 2


def test_cache_ttl_and_refresh() -> None:
    adapter = fake_azure("aoai")
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=60)
    assert resolver.resolve(conn_ref("aoai")) == "aoai-secret-key"
    clock.now += 59
    resolver.resolve(conn_ref("aoai", "/target"))
    assert adapter.count() == 1
    clock.now += 2
    resolver.resolve(conn_ref("aoai"))
    assert adapter.count() == 2
    resolver.refresh()
    resolver.resolve(conn_ref("aoai"))
    assert adapter.count() == 3


def test_get_secret_refreshes_a_written_back_variable_after_the_ttl() -> None:
    adapter = FakeAdapter().add(
        "POST",
        "/listsecrets",
        Reply(200, connection_body("aoai", credentials={"key": "old-key-1"})),
        Reply(200, connection_body("aoai", credentials={"key": "new-key-2"})),
    )
    clock = FakeClock()
    resolver = make_resolver(adapter, clock=clock, cache_ttl_s=10)
    env = {"KEY": conn_ref("aoai")}
    resolver.resolve_environment(environ=env)
    assert env["KEY"] == "old-key-1"
    assert resolver.get_secret("KEY", environ=env) == "old-key-1"
    clock.now += 11
    assert resolver.get_secret("KEY", environ=env) == "new-key-2"
    assert env["KEY"] == "new-key-2"
    # A later scan still knows the variable came from a reference.
    report = resolver.resolve_environment(environ=env)
    assert report.variables["KEY"].status is Status.RESOLVED


def test_get_secret_literal_missing_and_default() -> None:
    resolver = make_resolver(FakeAdapter())
    env = {"LIT": "value"}
    assert resolver.get_secret("LIT", environ=env) == "value"
    assert resolver.get_secret("NOPE", "fallback", environ=env) == "fallback"
    assert resolver.get_secret("NOPE", None, environ=env) is None
    with pytest.raises(sir.MissingSecretError) as info:
        resolver.get_secret("NOPE", environ=env)
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "NOPE: environment variable NOPE is not set"
    assert info.value.status is Status.MISSING


def test_get_secret_names_the_variable_on_failure() -> None:
    adapter = FakeAdapter().add(
        "POST",
        "/listsecrets",
        Reply(403, {"error": {"code": "AuthorizationFailed", "message": "no"}}),
    )
    env = {"KEY": conn_ref("aoai")}
    with pytest.raises(sir.AccessDeniedError) as info:
        make_resolver(adapter).get_secret("KEY", environ=env)
    assert str(info.value).startswith(f"KEY ({conn_ref('aoai')}): ")
    assert "Azure Machine Learning Workspace Connection Secrets Reader" in str(info.value)
    with pytest.raises(sir.ReferenceSyntaxError, match=r"^BAD"):
        make_resolver(adapter).get_secret("BAD", environ={"BAD": "${{nope}}"})


def test_unknown_workspace_makes_no_call_and_says_what_to_set() -> None:
    adapter = fake_azure("aoai", kv={"/secrets/": "kv-value"})
    resolver = make_resolver(adapter, workspace=None)
    env = {"A": conn_ref("aoai"), "K": kv_ref("kv1", "s")}
    report = resolver.resolve_environment(environ=env, required=False)
    status = report.variables["A"]
    assert status.status is Status.WORKSPACE_UNKNOWN
    assert "SECRETINJ_WORKSPACE_ID" in (status.error or "")
    assert adapter.count("listsecrets") == 0
    assert report.variables["K"].status is Status.RESOLVED, "Key Vault needs no workspace"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example.com",
        "x.vault.azure.net.evil.com",
        "a.b.vault.azure.net",
        "kv1.vault.azure.cn",
        "kv.vault.azure.net",
        "vault.azure.net",
    ],
)
def test_untrusted_vault_hosts_are_refused_before_any_request(host: str) -> None:
    adapter = FakeAdapter().add("GET", "/secrets/", Reply(200, {"value": "v"}))
    credential = FakeCredential()
    resolver = make_resolver(adapter, credential)
    env = {"K": f"${{{{keyvault:https://{host}/secrets/s}}}}"}
    report = resolver.resolve_environment(environ=env, required=False)
    assert report.variables["K"].status is Status.UNTRUSTED_ENDPOINT
    assert "no token is sent" in (report.variables["K"].error or "")
    assert adapter.calls == []
    assert credential.calls == {}


def test_other_clouds_use_their_vault_suffix_and_scopes() -> None:
    adapter = fake_azure("aoai", kv={"/secrets/": "china-value"})
    credential = FakeCredential()
    resolver = make_resolver(adapter, credential, cloud="AzureChinaCloud")
    assert resolver.resolve("${{keyvault:https://kv1.vault.azure.cn/secrets/s}}") == "china-value"
    resolver.resolve(conn_ref("aoai"))
    assert set(credential.calls) == {
        "https://vault.azure.cn/.default",
        "https://management.chinacloudapi.cn/.default",
    }
    assert adapter.calls[0].url.startswith("https://kv1.vault.azure.cn/secrets/s?api-version=")  # type: ignore[union-attr]
    assert adapter.calls[1].url.startswith("https://management.chinacloudapi.cn/subscriptions/")  # type: ignore[union-attr]


def test_endpoint_overrides_route_calls_but_keep_real_scopes() -> None:
    adapter = fake_azure("aoai", kv={"/kv/mykv/secrets/s/": "v"})
    credential = FakeCredential()
    resolver = make_resolver(
        adapter,
        credential,
        arm_endpoint="http://127.0.0.1:9/",
        keyvault_endpoint="http://localhost:9/kv",
    )
    resolver.resolve(conn_ref("aoai"))
    resolver.resolve(kv_ref("mykv", "s", VERSION))
    urls = [c.url for c in adapter.calls]
    assert urls[0] == (
        f"http://127.0.0.1:9{WORKSPACE_ID}/connections/aoai/listsecrets?api-version=2024-10-01"
    )
    assert urls[1] == f"http://localhost:9/kv/mykv/secrets/s/{VERSION}?api-version=7.5"
    assert set(credential.calls) == {ARM_SCOPE, KV_SCOPE}


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("arm_endpoint", "http://management.example.com"),
        ("keyvault_endpoint", "http://10.0.0.5/kv"),
        ("arm_endpoint", "https://user:pw@management.azure.com"),
    ],
)
def test_plain_http_only_to_loopback(setting: str, value: str) -> None:
    adapter = fake_azure("aoai", kv={"/secrets/": "v"})
    resolver = make_resolver(adapter, **{setting: value})  # type: ignore[arg-type]
    report = resolver.resolve_environment(
        environ={"A": conn_ref("aoai"), "K": kv_ref("kv1", "s")}, required=False
    )
    assert {s.status for s in report.variables.values()} == {Status.UNTRUSTED_ENDPOINT}
    assert adapter.calls == []


def test_configuration_from_environ() -> None:
    resolver = sir.SecretResolver(
        environ={
            "AML_DEPLOYMENT_RESOURCE_ID": WORKSPACE_ID + "/onlineEndpoints/ep/deployments/blue",
            "SECRETINJ_CLOUD": "AzureUSGovernment",
            "SECRETINJ_CACHE_TTL_S": "12.5",
            "UAI_CLIENT_ID": "uai-1",
            "AZURE_CLIENT_ID": "azure-1",
        }
    )
    assert resolver.workspace == sir.Workspace.from_resource_id(WORKSPACE_ID)
    assert resolver.cloud.name == "AzureUSGovernment"
    assert resolver.arm_endpoint == "https://management.usgovcloudapi.net"
    assert resolver.cache_ttl_s == 12.5
    assert resolver.client_id == "azure-1"
    assert "ws-1" in repr(resolver)


def test_explicit_arguments_win_over_the_environment() -> None:
    resolver = sir.SecretResolver(
        workspace=WORKSPACE_ID.replace("ws-1", "explicit"),
        cloud="AzureCloud",
        cache_ttl_s=5,
        client_id="explicit-id",
        environ={
            "SECRETINJ_WORKSPACE_ID": WORKSPACE_ID,
            "SECRETINJ_CLOUD": "AzureChinaCloud",
            "SECRETINJ_CACHE_TTL_S": "99",
            "SECRETINJ_CLIENT_ID": "env-id",
        },
    )
    assert resolver.workspace is not None
    assert resolver.workspace.name == "explicit"
    assert resolver.cloud.name == "AzureCloud"
    assert resolver.cache_ttl_s == 5
    assert resolver.client_id == "explicit-id"


@pytest.mark.parametrize(
    ("environ", "status", "fragment"),
    [
        ({"SECRETINJ_CLOUD": "Mars"}, Status.WORKSPACE_UNKNOWN, "unknown cloud 'Mars'"),
        ({"SECRETINJ_CACHE_TTL_S": "soon"}, Status.WORKSPACE_UNKNOWN, "SECRETINJ_CACHE_TTL_S"),
        (
            {"SECRETINJ_WORKSPACE_ID": "/subscriptions/x"},
            Status.WORKSPACE_UNKNOWN,
            "SECRETINJ_WORKSPACE_ID is malformed",
        ),
        ({"SECRETINJ_ARM_ENDPOINT": "ftp://x"}, Status.UNTRUSTED_ENDPOINT, "must use https"),
    ],
)
def test_bad_configuration_is_reported_per_variable(
    environ: dict[str, str], status: Status, fragment: str
) -> None:
    resolver = sir.SecretResolver(environ=environ, credential=FakeCredential())
    report = resolver.resolve_environment(environ={"A": conn_ref("aoai")}, required=False)
    assert report.variables["A"].status is status
    assert fragment in (report.variables["A"].error or "")


def test_report_elapsed_and_table() -> None:
    env = {"A": conn_ref("aoai"), "B": "lit"}
    report = make_resolver(fake_azure("aoai")).resolve_environment(["A", "B"], environ=env)
    table = str(report)
    assert table.splitlines()[0].split() == [
        "VARIABLE",
        "STATUS",
        "SOURCE",
        "MS",
        "REFERENCE",
    ]
    assert "A" in table
    assert "RESOLVED" in table
    assert "aoai-secret-key" not in table
    assert report.to_dict()["counts"] == {"PRESENT": 1, "RESOLVED": 1}
    assert report.summary().startswith("2 variables: 1 PRESENT, 1 RESOLVED in ")


def test_table_shows_the_error_column_only_when_something_failed() -> None:
    env = {"A": conn_ref("aoai"), "GONE": "${{azureml://connections/x}}"}
    report = make_resolver(fake_azure("aoai")).resolve_environment(environ=env, required=False)
    header, *rows = str(report).splitlines()
    assert header.split()[-1] == "ERROR"
    assert rows[1].startswith("GONE ")
    assert rows[1].endswith("starting with a letter or digit")


def test_a_fetch_thread_that_breaks_never_leaves_the_caller_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from secretinj_runtime import _tracing

    adapter = fake_azure("aoai", "other")
    resolver = make_resolver(adapter)
    real = _tracing.fetch_span

    def broken(ref: object, parent: object) -> object:
        if "other" in str(ref):
            raise RuntimeError("a bug in the tracing hook")
        return real(ref, parent)  # type: ignore[arg-type]

    monkeypatch.setattr(_tracing, "fetch_span", broken)
    done = threading.Event()
    report: list[sir.ResolutionReport] = []

    def resolve() -> None:
        env = {"A": conn_ref("aoai"), "B": conn_ref("other")}
        report.append(resolver.resolve_environment(environ=env, required=False))
        done.set()

    threading.Thread(target=resolve, daemon=True).start()
    assert done.wait(10), "resolve_environment waited forever for a broken fetch"
    assert report[0].variables["A"].status is Status.RESOLVED
    assert report[0].variables["B"].status is Status.SERVICE_ERROR


def test_a_failure_without_a_reference_shows_no_none(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    resolver = make_resolver(FakeAdapter())
    with caplog.at_level(logging.WARNING, logger="secretinj_runtime"):
        resolver.resolve_environment(["NOT_THERE"], environ={}, required=False)
    with pytest.raises(sir.SecretResolutionError) as info:
        resolver.resolve_environment(["NOT_THERE"], environ={})
    assert "NOT_THERE: MISSING: not set" in caplog.text
    assert "  NOT_THERE: MISSING: not set" in str(info.value)
    assert "(None)" not in caplog.text + str(info.value)
