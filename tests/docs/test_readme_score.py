"""The README's ``score.py`` works as shown, and logs and fails as the README says.

The code block under "Use it in `score.py`" is loaded as a module, as azmlinfsrv loads a
scoring script, with the variables the README names pointing at the mock: ``init()`` prints
the log lines shown (root logger as azmlinfsrv leaves it), ``run()`` gets the model's answer,
and after a key rotation ``run()`` fetches the key again through ``on_change``. With the
identity's role taken away, ``init()`` raises the error the README and docs/statuses.md show.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import pytest

import secretinj_runtime as sir
from secretinj_runtime.mock.testing import MockServer, run_mock
from tests.docs import markdown, transcript
from tests.logstate import no_root_handlers, restored_loggers

README = markdown.ROOT / "README.md"
ERROR_HEAD = "1 of 2 secret variables did not resolve:"
VARIABLES = {
    "AOAI_API_KEY": "${{azureml://connections/aoai-conn/credentials/key}}",
    "AOAI_ENDPOINT": "${{azureml://connections/aoai-conn/target}}",
}


def readme_blocks() -> list[markdown.Block]:
    return markdown.blocks(README)


def score_source() -> str:
    block = next(b for b in readme_blocks() if b.lang == "python")
    return "\n".join(block.lines)


def _block_after(lines: list[markdown.Block], first: markdown.Block) -> markdown.Block:
    return lines[lines.index(first) + 1]


@pytest.fixture
def azmlinfsrv_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Our loggers restored afterwards; `no_root_handlers` hides pytest's in the test body."""
    with restored_loggers(monkeypatch):
        yield


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    with run_mock() as server:
        for name in ("AZURE_CLIENT_ID", "UAI_CLIENT_ID", "SECRETINJ_CLIENT_ID"):
            monkeypatch.delenv(name, raising=False)
        server.apply_env(monkeypatch)
        monkeypatch.setattr(sir, "_default", None)  # the module functions' own resolver
        yield server
        if sir._default is not None:
            sir._default.close()


def load_score() -> types.ModuleType:
    module = types.ModuleType("score")
    exec(compile(score_source(), "README.md (score.py)", "exec"), module.__dict__)  # noqa: S102
    return module


def test_the_snippet_is_the_readmes_first_python_block() -> None:
    source = score_source()
    for needed in (
        "sir.configure_logging(",
        "sir.resolve_environment()",
        "sir.get_secret(",
        ".on_change(",
    ):
        assert needed in source


def test_init_logs_what_the_readme_shows_and_run_follows_a_rotation(
    mock: MockServer,
    azmlinfsrv_logging: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in VARIABLES.items():
        monkeypatch.setenv(name, value)
    no_root_handlers(monkeypatch)
    score = load_score()
    score.init()
    # The mock runs in this process here (in a deployment it is not there at all).
    logged = "".join(
        line
        for line in capsys.readouterr().err.splitlines(keepends=True)
        if " secretinj_runtime.mock - " not in line
    )
    blocks = readme_blocks()
    python = next(b for b in blocks if b.lang == "python")
    shown = _block_after(blocks, python)
    assert shown.lang == "text"
    assert transcript.matches("\n".join(shown.lines), logged), transcript.difference(
        "\n".join(shown.lines), logged
    )
    assert score.headers["api-key"] not in logged

    answer: Any = score.run("hello secret injection")
    assert (
        answer["choices"][0]["message"]["content"] == "You said: hello secret injection (3 words)"
    )
    old_key = score.headers["api-key"]
    mock.rotate_connection_key("aoai-conn")
    answer = score.run("again")
    assert answer["choices"][0]["message"]["content"] == "You said: again (1 words)"
    assert score.headers["api-key"] != old_key, "on_change gave use_key the rotated key"
    assert mock.count("listsecrets", "aoai-conn") == 2
    assert mock.count("downstream") == 3, "one 401, then the retry"


def test_an_injected_key_is_used_as_it_is(
    mock: MockServer, azmlinfsrv_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOAI_API_KEY", "injected-by-the-platform")
    monkeypatch.setenv("AOAI_ENDPOINT", VARIABLES["AOAI_ENDPOINT"])
    score = load_score()
    score.init()  # no on_change for a literal: it cannot rotate (and would raise)
    assert score.headers["api-key"] == "injected-by-the-platform"


def test_init_fails_with_the_error_the_docs_show(
    mock: MockServer, azmlinfsrv_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOAI_API_KEY", VARIABLES["AOAI_API_KEY"])
    monkeypatch.setenv(
        "DB_PASSWORD", "${{keyvault:https://demo-kv.vault.azure.net/secrets/db-password}}"
    )
    mock.revoke()
    score = load_score()
    with pytest.raises(sir.SecretResolutionError) as raised:
        score.init()
    shown = [
        b
        for page in (README, markdown.ROOT / "docs" / "statuses.md")
        for b in markdown.blocks(page)
        if b.lines and b.lines[0] == ERROR_HEAD
    ]
    assert len(shown) == 2
    for block in shown:
        text = "\n".join(block.lines)
        assert transcript.matches(text, str(raised.value)), transcript.difference(
            text, str(raised.value)
        )
