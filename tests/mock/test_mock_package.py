"""Import hygiene: the runtime never imports FastAPI; a missing extra gives a clear hint."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_mock_package_is_lazy() -> None:
    result = run(
        "import sys, secretinj_runtime.mock as m\n"
        "assert 'fastapi' not in sys.modules, 'eager fastapi import'\n"
        "assert m.create_app.__name__ == 'create_app'\n"
        "assert 'fastapi' in sys.modules\n"
        "try:\n    m.nope\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit(1)\n"
    )
    assert result.returncode == 0, result.stderr


def test_runtime_import_does_not_load_fastapi() -> None:
    result = run(
        "import sys, secretinj_runtime\n"
        "heavy = ('fastapi', 'uvicorn', 'starlette')\n"
        "assert not any(m.split('.')[0] in heavy for m in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr


def test_missing_extra_hint() -> None:
    result = run(
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n == 'fastapi' else real(n, *a)\n"
        "try:\n    import secretinj_runtime.mock\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    assert "pip install 'secretinj-runtime[mock]'" in result.stdout
    assert "fastapi" in result.stdout
