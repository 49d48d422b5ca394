"""The ``secretinj-mock`` command's entry point: one clear line when the mock cannot load.

The mock needs the ``[mock]`` extra (FastAPI, uvicorn); without it, ``secretinj-mock`` says
what to install instead of printing a traceback.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run ``secretinj-mock`` with ``argv``; exit 2 with the install hint without the extra."""
    try:
        from .mock.cli import main as mock_main
    except ImportError as ex:
        print(f"secretinj-mock: error: {ex}", file=sys.stderr)
        return 2
    return mock_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
