"""secretinj-mock without the [mock] extra: one line that says what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import secretinj_runtime
from secretinj_runtime import _mockentry

ROOT = Path(secretinj_runtime.__file__).resolve().parents[1]


def test_without_the_extra_one_line_and_exit_2() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from secretinj_runtime._mockentry import main; sys.exit(main(['serve']))"
    )
    # -S: no site-packages, so neither FastAPI nor uvicorn can be found
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("secretinj-mock: error: the mock needs the [mock] extra")
    assert "pip install 'secretinj-runtime[mock]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_the_extra_it_is_the_mocks_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:  # argparse's --help
        _mockentry.main(["--help"])
    assert done.value.code == 0
    assert "serve" in capsys.readouterr().out
