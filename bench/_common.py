"""Forwards to `bench.harness` while fast_path, fallback and stampede move onto it."""

from bench.harness import (
    MSI_SECRET,
    PYTHON,
    Outcome,
    Record,
    median,
    mock_env,
    patched_environ,
    preload_clients,
    pyplot,
    quartiles,
    record,
    save_figure,
    say,
    start_mock,
)

__all__ = [
    "MSI_SECRET",
    "PYTHON",
    "Outcome",
    "Record",
    "median",
    "mock_env",
    "patched_environ",
    "preload_clients",
    "pyplot",
    "quartiles",
    "record",
    "save_figure",
    "say",
    "start_mock",
]
