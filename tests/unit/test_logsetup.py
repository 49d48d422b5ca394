"""configure_logging: the runtime's lines visible under azmlinfsrv, nobody's handlers touched."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import secretinj_runtime as sir
from secretinj_runtime import _logsetup
from tests.logstate import no_root_handlers, restored_loggers


@pytest.fixture
def bare_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Our loggers restored afterwards; `no_root_handlers` hides pytest's in the test body."""
    with restored_loggers(monkeypatch):
        yield


def test_info_lines_become_visible_in_azmlinfsrvs_format(
    bare_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_root_handlers(monkeypatch)
    stream = io.StringIO()
    _logsetup.configure_logging("score", stream=stream)
    logging.getLogger("secretinj_runtime.environment").info("waiting for access: 1 of 1")
    logging.getLogger("score").info("built the client")
    logging.getLogger("somebody.else").info("not mine")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert " I [" in lines[0]
    assert lines[0].endswith("secretinj_runtime.environment - waiting for access: 1 of 1")
    assert lines[1].endswith("score - built the client")


def test_idempotent_and_the_level_from_azureml_log_level(
    bare_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_root_handlers(monkeypatch)
    monkeypatch.setenv("AZUREML_LOG_LEVEL", "debug")
    sir.configure_logging()
    sir.configure_logging()
    logger = logging.getLogger("secretinj_runtime")
    assert logger.level == logging.DEBUG
    assert sum(getattr(h, "_secretinj_handler", False) for h in logger.handlers) == 1
    monkeypatch.setenv("AZUREML_LOG_LEVEL", "chatty")
    sir.configure_logging()
    assert logger.level == logging.INFO


def test_an_application_that_configured_logging_keeps_its_handlers(
    bare_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_root_handlers(monkeypatch)
    stream = io.StringIO()
    root = logging.getLogger()
    mine = logging.StreamHandler(stream)
    root.addHandler(mine)
    try:
        sir.configure_logging("score")
        assert not any(
            getattr(h, "_secretinj_handler", False)
            for h in logging.getLogger("secretinj_runtime").handlers
        ), "the records reach the application's handlers; no second copy"
        logging.getLogger("score").info("once")
        assert stream.getvalue().count("once") == 1
    finally:
        root.removeHandler(mine)


def test_the_bare_root_handler_of_a_stray_logging_debug_is_not_a_configuration(
    bare_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """azmlinfsrv calls logging.debug() at start-up: basicConfig's bare handler on root."""
    no_root_handlers(monkeypatch)
    bare = io.StringIO()
    root_handler = logging.StreamHandler(bare)
    root_handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    logging.getLogger().addHandler(root_handler)
    ours = io.StringIO()
    _logsetup.configure_logging("score", stream=ours)
    logging.getLogger("score").info("rebuilt the client")
    assert "score - rebuilt the client" in ours.getvalue()
    assert bare.getvalue() == "", "not printed twice"
