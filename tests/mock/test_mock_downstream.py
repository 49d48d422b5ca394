"""The downstream chat API: key check against the current connection key, echo, usage."""

from __future__ import annotations

from typing import Any

import requests

from secretinj_runtime.mock.defaults import AOAI_KEY
from secretinj_runtime.mock.testing import MockServer, run_mock

PARAMS = {"api-version": "2024-02-01"}


def chat(
    mock: MockServer, key: str | None, body: Any, deployment: str = "gpt-demo"
) -> requests.Response:
    headers = {"api-key": key} if key else {}
    url = f"{mock.url}/openai/deployments/{deployment}/chat/completions"
    if isinstance(body, bytes):
        return requests.post(url, params=PARAMS, headers=headers, data=body, timeout=10)
    return requests.post(url, params=PARAMS, headers=headers, json=body, timeout=10)


MESSAGES = {
    "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "hello mock world"},
    ]
}


def test_echo_with_usage(mock: MockServer) -> None:
    resp = chat(mock, AOAI_KEY, MESSAGES)
    assert resp.status_code == 200
    body = resp.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-demo"
    choice = body["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "You said: hello mock world (3 words)",
    }
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] == 7
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a b"}]}]}
    assert "(2 words)" in chat(mock, AOAI_KEY, parts).json()["choices"][0]["message"]["content"]
    assert mock.count("downstream") == 2
    assert mock.count("downstream", "gpt-demo") == 2


def test_wrong_or_missing_key(mock: MockServer) -> None:
    for key in (None, "wrong"):
        resp = chat(mock, key, MESSAGES)
        assert resp.status_code == 401
        assert "Access denied" in resp.json()["error"]["message"]


def test_rotated_key_takes_effect(mock: MockServer) -> None:
    new_key = mock.rotate_connection_key("aoai-conn")
    assert new_key != AOAI_KEY
    assert chat(mock, AOAI_KEY, MESSAGES).status_code == 401
    assert chat(mock, new_key, MESSAGES).status_code == 200
    assert mock.rotate_connection_key("aoai-conn", value="chosen") == "chosen"


def test_bad_bodies(mock: MockServer) -> None:
    cases: list[Any] = [
        b"{not json",
        [1, 2],
        {"messages": []},
        {"messages": ["x"]},
        {"messages": [{"role": "system", "content": "no user"}]},
    ]
    for body in cases:
        resp = chat(mock, AOAI_KEY, body)
        assert resp.status_code == 400, body
        assert resp.json()["error"]["code"] == "BadRequest"
    no_version = requests.post(
        f"{mock.url}/openai/deployments/d/chat/completions",
        headers={"api-key": AOAI_KEY},
        json=MESSAGES,
        timeout=10,
    )
    assert no_version.status_code == 400


def test_custom_keys_downstream() -> None:
    from secretinj_runtime.mock.defaults import OTHER_KEY, default_state_dict

    state = default_state_dict()
    state["downstream"] = {"connection": "multi-conn", "credential": "OTHER_KEY"}
    with run_mock(state) as mock:
        assert chat(mock, OTHER_KEY, MESSAGES).status_code == 200
        assert chat(mock, AOAI_KEY, MESSAGES).status_code == 401
        rotated = mock.rotate_connection_key("multi-conn", "OTHER_KEY")
        assert chat(mock, rotated, MESSAGES).status_code == 200
        mock.delete_connection("multi-conn")
        assert chat(mock, rotated, MESSAGES).status_code == 401
