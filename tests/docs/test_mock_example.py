"""docs/mock.md's pytest example passes as it stands, in a project of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.docs import markdown, shell

MOCK_PAGE = markdown.ROOT / "docs" / "mock.md"


def example() -> tuple[str, str]:
    """Return the example's conftest.py and test_app.py."""
    (block,) = [
        b
        for b in markdown.blocks(MOCK_PAGE)
        if b.lang == "python" and "pytest_plugins" in b.lines[1]
    ]
    split = block.lines.index("# test_app.py")
    return "\n".join(block.lines[:split]) + "\n", "\n".join(block.lines[split:]) + "\n"


def test_the_pytest_example_passes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    conftest, test_app = example()
    (project / "conftest.py").write_text(conftest)
    (project / "test_app.py").write_text(test_app)
    env = shell.clean_environ(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
