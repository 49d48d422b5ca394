"""Crash reporters that capture the locals of a traceback's frames find no secret there."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

import secretinj_runtime as sir
from tests.fakes import FakeAdapter, FakeCredential, Reply, connection_body, make_resolver

KEY = "aoai-secret-key-0123456789"
PACKAGE = str(Path(sir.__file__).parent)


def frame_locals(ex: BaseException) -> list[str]:
    """repr of every local of the package's frames in ``ex``'s traceback and its chain."""
    seen: list[str] = []
    todo: list[BaseException | None] = [ex]
    visited: set[int] = set()
    while todo:
        current = todo.pop()
        if current is None or id(current) in visited:
            continue
        visited.add(id(current))
        tb: types.TracebackType | None = current.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if PACKAGE in frame.f_code.co_filename:
                seen += [f"{frame.f_code.co_name}: {k}={v!r}" for k, v in frame.f_locals.items()]
            tb = tb.tb_next
        todo += [current.__cause__, current.__context__]
    return seen


def test_a_mistyped_key_leaves_no_credential_in_the_frames() -> None:
    body = connection_body("aoai", credentials={"key": KEY})
    resolver = make_resolver(FakeAdapter().add("POST", "listsecrets", Reply(200, body)))
    with pytest.raises(sir.NotFoundError) as info:
        resolver.resolve("${{azureml://connections/aoai/credentials/kee}}")
    assert "keys there: key" in str(info.value)
    assert not [line for line in frame_locals(info.value) if KEY in line]


def test_a_refused_request_leaves_no_token_in_the_frames() -> None:
    credential = FakeCredential()
    denied = Reply(403, {"error": {"code": "AuthorizationFailed", "message": "no"}})
    resolver = make_resolver(FakeAdapter().add("POST", "listsecrets", denied), credential)
    with pytest.raises(sir.AccessDeniedError) as info:
        resolver.resolve("${{azureml://connections/aoai/credentials/key}}")
    (token,) = credential.tokens
    assert not [line for line in frame_locals(info.value) if token in line]


def test_a_written_back_value_is_not_in_get_secrets_frame() -> None:
    body = connection_body("aoai", credentials={"key": KEY})
    adapter = FakeAdapter().add(
        "POST",
        "listsecrets",
        Reply(200, body),
        Reply(403, {"error": {"code": "AuthorizationFailed", "message": "no"}}),
    )
    resolver = make_resolver(adapter, revocation_grace_s=0, cache_ttl_s=0)
    env = {"K": "${{azureml://connections/aoai/credentials/key}}"}
    resolver.resolve_environment(environ=env)
    with pytest.raises(sir.AccessDeniedError) as info:
        resolver.get_secret("K", environ=env)
    assert not [line for line in frame_locals(info.value) if KEY in line]
