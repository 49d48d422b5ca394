"""Run pytest in a child process on a directory of test files, as a user's project would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from secretinj_runtime.testing import child_environ

#: Variables of the outer pytest run that would change the inner one.
_OUTER = (
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "PYTEST_CURRENT_TEST",
)


def run_pytest(
    directory: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    prelude: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run ``pytest -q DIRECTORY ARGS`` in ``directory``; ``prelude`` runs first in the child.

    The child has no configuration file (``-c /dev/null``: only the installed plugins and the
    arguments count) and turns warnings into errors, as this project's own runs do.
    """
    base = {k: v for k, v in child_environ().items() if k not in _OUTER}
    code = f"{prelude}\nimport sys, pytest\nsys.exit(pytest.main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "-q", "-c", os.devnull, "-p", "no:cacheprovider"]
    return subprocess.run(
        [*argv, "-W", "error", "--rootdir", str(directory), str(directory), *args],
        cwd=directory,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def running_with(path: Path) -> list[int]:
    """Return the pids of running processes whose command line mentions ``path``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
            state = (cmdline.parent / "stat").read_text()
        except OSError:
            continue  # it exited while we looked
        if state[state.rindex(")") + 2] != "Z" and any(str(path).encode() in w for w in words):
            found.append(int(cmdline.parent.name))
    return found
