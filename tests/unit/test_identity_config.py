"""Identity configuration: a client-id variable holding a reference; sovereign clouds."""

from __future__ import annotations

import pytest

import secretinj_runtime as sir
from secretinj_runtime.clouds import AZURE_CHINA_CLOUD
from secretinj_runtime.identity import client_id_from_environ, default_credential

REF = "${{azureml://connections/app-sp/credentials/clientId}}"


def test_a_client_id_variable_holding_a_reference_is_not_the_identity() -> None:
    assert client_id_from_environ({"AZURE_CLIENT_ID": REF}) is None
    env = {"AZURE_CLIENT_ID": REF, "UAI_CLIENT_ID": "uai-1"}
    assert client_id_from_environ(env) == "uai-1", "the next variable of the chain"
    resolver = sir.SecretResolver(environ={"AZURE_CLIENT_ID": REF})
    assert resolver.client_id is None


def test_sovereign_clouds_authenticate_at_their_authority(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MSI_ENDPOINT", "IDENTITY_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    credential = default_credential(None, {}, AZURE_CHINA_CLOUD)
    shared = next(
        c
        for c in credential.credentials  # type: ignore[attr-defined]
        if type(c).__name__ == "SharedTokenCacheCredential"
    )
    assert shared._credential._authority == "https://login.chinacloudapi.cn"
    resolver = sir.SecretResolver(environ={"AZUREML_CURRENT_CLOUD": "AzureChinaCloud"})
    assert resolver.cloud is AZURE_CHINA_CLOUD
    ours = sir.SecretResolver(
        environ={"AZUREML_CURRENT_CLOUD": "AzureChinaCloud", "SECRETINJ_CLOUD": "AzureCloud"}
    )
    assert ours.cloud.name == "AzureCloud", "SECRETINJ_CLOUD wins"
