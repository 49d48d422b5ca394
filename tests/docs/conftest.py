from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_metadata_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A credential built here never probes a real managed-identity endpoint."""
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")
