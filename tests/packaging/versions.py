"""Print the versions a test environment runs; ``--expect NAME==VERSION`` checks one.

Run by every nox session (``python tests/packaging/versions.py``) so that its log shows the
combination it tested: Python, azmlinfsrv, azure-identity, requests, tenacity and the rest.
"""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata

PACKAGES = (
    "azureml-inference-server-http",
    "azure-identity",
    "requests",
    "tenacity",
    "PyYAML",
    "fastapi",
    "uvicorn",
    "azure-ai-ml",
)


def installed(name: str) -> str | None:
    """Return the installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def versions_line() -> str:
    """Return one line: Python and each package's version ('-' when not installed)."""
    parts = [f"Python {platform.python_version()}"]
    parts += [f"{name} {installed(name) or '-'}" for name in PACKAGES]
    return "versions: " + ", ".join(parts)


def check(expectations: list[str]) -> list[str]:
    """Return a message for each ``NAME==VERSION`` that the environment does not match."""
    problems = []
    for expected in expectations:
        name, sep, version = expected.partition("==")
        if not sep or not name or not version:
            problems.append(f"--expect {expected!r}: write NAME==VERSION")
        elif (found := installed(name)) != version:
            problems.append(f"expected {name} {version}, found {found or 'none installed'}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Print the versions line; return 1 if an ``--expect`` does not hold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect", action="append", default=[], metavar="NAME==VERSION")
    args = parser.parse_args(argv)
    print(versions_line(), flush=True)
    problems = check(args.expect)
    for problem in problems:
        print(f"versions: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
