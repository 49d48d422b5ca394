"""Local mock of the Azure services that secret injection talks to.

One HTTP server answers, on one port, like the managed-identity token endpoint
(``/msi/token``, Azure ML 2017-09-01 and App Service 2019-08-01 shapes), ARM
workspace-connection ListSecrets, Key Vault secret GET
(``/keyvault/<vault>/secrets/...``), a downstream Azure OpenAI chat endpoint and a
control API under ``/_mock/``.

It needs the ``[mock]`` extra (FastAPI, uvicorn, PyYAML); importing
``secretinj_runtime`` itself never imports any of them. The heavy modules are imported
lazily: ``from secretinj_runtime.mock import create_app`` loads FastAPI only then.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

MOCK_EXTRA_HINT = "the mock needs the [mock] extra: pip install 'secretinj-runtime[mock]'"

_MISSING = [m for m in ("fastapi", "uvicorn", "yaml") if importlib.util.find_spec(m) is None]
if _MISSING:
    raise ImportError(f"{MOCK_EXTRA_HINT} (missing: {', '.join(_MISSING)})")

if TYPE_CHECKING:
    from secretinj_runtime.mock.app import create_app
    from secretinj_runtime.mock.authtypes import StateError
    from secretinj_runtime.mock.clock import ManualClock
    from secretinj_runtime.mock.defaults import default_state, load_state
    from secretinj_runtime.mock.model import StateSpec
    from secretinj_runtime.mock.store import MockState
    from secretinj_runtime.mock.testing import MockServer, run_mock

_LAZY = {
    "create_app": "secretinj_runtime.mock.app",
    "ManualClock": "secretinj_runtime.mock.clock",
    "StateError": "secretinj_runtime.mock.authtypes",
    "StateSpec": "secretinj_runtime.mock.model",
    "default_state": "secretinj_runtime.mock.defaults",
    "load_state": "secretinj_runtime.mock.defaults",
    "MockState": "secretinj_runtime.mock.store",
    "MockServer": "secretinj_runtime.mock.testing",
    "run_mock": "secretinj_runtime.mock.testing",
}

__all__ = [
    "MOCK_EXTRA_HINT",
    "ManualClock",
    "MockServer",
    "MockState",
    "StateError",
    "StateSpec",
    "create_app",
    "default_state",
    "load_state",
    "run_mock",
]


def __getattr__(name: str) -> Any:
    """Import the public names lazily so that FastAPI loads only when used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
