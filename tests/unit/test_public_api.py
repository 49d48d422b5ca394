"""The public surface is a contract (DESIGN.md): pin it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import secretinj_runtime as sir

CONTRACT = {
    "resolve_environment",
    "get_secret",
    "resolve_reference",
    "SecretResolver",
    "parse_reference",
    "is_reference",
    "ResolutionReport",
    "VariableStatus",
    "Status",
    "SecretInjectionError",
    "ReferenceSyntaxError",
    "ConfigurationError",
    "IdentityUnavailableError",
    "AccessDeniedError",
    "NotFoundError",
    "ServiceError",
    "UntrustedEndpointError",
    "MissingSecretError",
    "SecretResolutionError",
    "ConnectionReference",
    "KeyVaultReference",
}
EXTRAS = {
    "ThrottledError",
    "TimedOutError",
    "Source",
    "Workspace",
    "Cloud",
    "get_cloud",
    "default_resolver",
    "mask_secrets",
    "configure_logging",
    "ResolverSettings",
    "RetryPolicy",
    "__version__",
}


def test_all_is_the_contract_plus_documented_extras() -> None:
    assert set(sir.__all__) == CONTRACT | EXTRAS
    for name in sir.__all__:
        assert hasattr(sir, name), name


def test_status_values() -> None:
    assert [s.value for s in sir.Status] == [
        "PRESENT",
        "RESOLVED",
        "MISSING",
        "INVALID_SYNTAX",
        "WORKSPACE_UNKNOWN",
        "IDENTITY_UNAVAILABLE",
        "ACCESS_DENIED",
        "NOT_FOUND",
        "THROTTLED",
        "TIMED_OUT",
        "UNTRUSTED_ENDPOINT",
        "SERVICE_ERROR",
    ]


def test_exception_tree() -> None:
    for name in CONTRACT | {"ThrottledError", "TimedOutError"}:
        obj = getattr(sir, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, sir.SecretInjectionError), name
    assert issubclass(sir.MissingSecretError, KeyError)
    assert issubclass(sir.ThrottledError, sir.ServiceError)
    assert issubclass(sir.TimedOutError, sir.ServiceError)


def test_module_level_functions_with_an_explicit_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"LIT": "v", "MISSING_REF_WS": "${{azureml://connections/aoai/target}}"}
    for var in ("SECRETINJ_WORKSPACE_ID", "AML_DEPLOYMENT_RESOURCE_ID", "AZUREML_ARM_SUBSCRIPTION"):
        monkeypatch.delenv(var, raising=False)
    report = sir.resolve_environment(["LIT", "MISSING_REF_WS"], environ=env, required=False)
    assert report.variables["LIT"].status is sir.Status.PRESENT
    assert report.variables["MISSING_REF_WS"].status is sir.Status.WORKSPACE_UNKNOWN


def test_module_level_get_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIR_TEST_LITERAL", "plain")
    monkeypatch.delenv("SIR_TEST_UNSET", raising=False)
    assert sir.get_secret("SIR_TEST_LITERAL") == "plain"
    assert sir.get_secret("SIR_TEST_UNSET", "d") == "d"
    with pytest.raises(KeyError):
        sir.get_secret("SIR_TEST_UNSET")


def test_default_resolver_is_rebuilt_when_configuration_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "SECRETINJ_WORKSPACE_ID",
        "/subscriptions/a/resourceGroups/b/providers/"
        "Microsoft.MachineLearningServices/workspaces/one",
    )
    first = sir.default_resolver()
    assert sir.default_resolver() is first
    monkeypatch.setenv(
        "SECRETINJ_WORKSPACE_ID",
        "/subscriptions/a/resourceGroups/b/providers/"
        "Microsoft.MachineLearningServices/workspaces/two",
    )
    second = sir.default_resolver()
    assert second is not first
    assert second.workspace is not None
    assert second.workspace.name == "two"


FAST_PATH = textwrap.dedent(
    """
    import os, sys
    names = [f"INJECTED_{i}" for i in range(50)]
    os.environ.update({n: f"value-{i}" for i, n in enumerate(names)})
    import secretinj_runtime as sir
    report = sir.resolve_environment(names)
    assert report.ok and len(report.variables) == 50
    assert sir.get_secret("INJECTED_7") == "value-7"
    heavy = ("azure", "azure.identity", "requests", "tenacity", "fastapi", "urllib3",
             "logging", "concurrent.futures", "dataclasses", "typing")
    print(",".join(m for m in heavy if m in sys.modules))
    """
)


def test_injected_fast_path_imports_nothing_heavy() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRETINJ_", "MSI_"))}
    out = subprocess.run(
        [sys.executable, "-c", FAST_PATH], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "", f"the fast path imported: {out.stdout.strip()}"
