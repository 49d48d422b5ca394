"""sample_score/score.py in-process, against the threaded mock: what a user of the sample sees."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from sample_score import score
from secretinj_runtime import SecretResolutionError
from secretinj_runtime.mock import defaults
from secretinj_runtime.mock.testing import MockServer
from tests.expected import ALL_FETCHED

from .conftest import body_of


def test_answers_with_the_fetched_key_and_names_sources(scoring: MockServer) -> None:
    score.init()
    status, body = body_of(score.run(json.dumps({"text": "hello secret injection"})))
    assert status == 200
    assert body == {
        "answer": "You said: hello secret injection (3 words)",
        "secrets": ALL_FETCHED,
    }
    assert scoring.count("listsecrets", "aoai-conn") == 1
    assert scoring.count("listsecrets", "multi-conn") == 1
    assert scoring.count("keyvault", "db-password") == 1


def test_injected_literals_take_the_fast_path(
    scoring: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOAI_ENDPOINT", f"{scoring.url}/openai")
    monkeypatch.setenv("AOAI_API_KEY", defaults.AOAI_KEY)
    monkeypatch.setenv("AOAI_API_VERSION", "2024-02-01")
    monkeypatch.setenv("AOAI_DEPLOYMENT", "gpt-demo")
    monkeypatch.delenv("OTHER_API_KEY")
    monkeypatch.delenv("DB_PASSWORD")
    score.init()
    status, body = body_of(score.run('{"text": "fast"}'))
    assert status == 200
    assert body["secrets"] == dict.fromkeys((*score.REQUIRED, "AOAI_DEPLOYMENT"), "injected")
    assert scoring.count("listsecrets") == 0
    assert scoring.count("msi") == 0


def test_a_connection_target_without_openai_path_gets_it(
    scoring: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOAI_ENDPOINT", scoring.url + "/")  # like https://<res>.openai.azure.com/
    score.init()
    assert body_of(score.run('{"text": "x"}'))[0] == 200


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not json",
        "[]",
        '{"text": 3}',
        '{"text": "  "}',
        '{"prompt": "x"}',
        "null",
        "[" * 100_000 + "]" * 100_000,  # deeper than the JSON decoder recurses
        '{"text": ' + "[" * 100_000,
    ],
)
def test_an_invalid_body_answers_400_without_calling_anything(
    scoring: MockServer, raw: str
) -> None:
    score.init()
    status, body = body_of(score.run(raw))
    assert status == 400
    assert "text" in body["error"]
    assert scoring.count("downstream") == 0


def test_run_before_init_answers_500(scoring: MockServer) -> None:
    status, body = body_of(score.run('{"text": "x"}'))
    assert status == 500
    assert "init()" in body["error"]


def test_a_rotated_key_is_fetched_again_and_the_call_retried(scoring: MockServer) -> None:
    score.init()
    new_key = scoring.rotate_connection_key("aoai-conn")
    status, body = body_of(score.run('{"text": "after rotation"}'))
    assert status == 200
    assert body["answer"] == "You said: after rotation (2 words)"
    assert scoring.count("listsecrets", "aoai-conn") == 2
    assert score.client is not None
    assert score.client.api_key == new_key
    assert new_key not in repr(score.client)


def test_a_second_401_answers_502_naming_the_variable(scoring: MockServer) -> None:
    score.init()
    scoring.queue_fault("downstream", 401, count=2)
    status, body = body_of(score.run('{"text": "x"}'))
    assert status == 502
    assert "AOAI_API_KEY" in body["error"]
    assert scoring.count("listsecrets", "aoai-conn") == 2


def test_a_denied_refresh_answers_502_and_the_log_names_the_role(
    scoring: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    score.init()
    scoring.rotate_connection_key("aoai-conn")
    scoring.revoke()
    with caplog.at_level(logging.WARNING):
        status, body = body_of(score.run('{"text": "x"}'))
    assert status == 502  # the runtime served the old key; the model API refused it again
    assert "AOAI_API_KEY" in body["error"]
    assert "Workspace Connection Secrets Reader" in caplog.text


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"status": 500}, "answered 500"),
        ({"status": 200, "body": {"unexpected": True}}, "unexpected shape"),
        ({"status": 200, "body": "invalid_json"}, "unexpected shape"),
        ({"drop_connection": True}, "did not answer"),
    ],
)
def test_model_api_failures_answer_502_with_a_safe_message(
    scoring: MockServer, fault: dict[str, object], message: str
) -> None:
    score.init()
    scoring.queue_fault("downstream", **fault)  # type: ignore[arg-type]
    status, body = body_of(score.run('{"text": "x"}'))
    assert status == 502
    assert message in body["error"]
    assert defaults.AOAI_KEY not in json.dumps(body)


def test_init_fails_naming_the_role_and_says_it_once(
    scoring: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    scoring.revoke()
    with caplog.at_level(logging.INFO), pytest.raises(SecretResolutionError) as raised:
        score.init()
    role = "Azure Machine Learning Workspace Connection Secrets Reader"
    assert "AOAI_API_KEY" in str(raised.value)
    assert role in str(raised.value)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret injection: 6 variables: 5 ACCESS_DENIED, 1 RESOLVED" in logged
    assert role not in logged, "the exception carries each failure: not logged twice"


def test_init_fails_when_a_required_variable_is_unset(
    scoring: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AOAI_API_KEY")
    with pytest.raises(SecretResolutionError, match="AOAI_API_KEY"):
        score.init()


def test_init_logs_the_table_and_never_a_value(
    scoring: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        score.init()
        score.run('{"text": "x"}')
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret resolution: 6 variables: 6 RESOLVED" in text
    assert "DB_PASSWORD       RESOLVED  keyvault" in text
    for value in (defaults.AOAI_KEY, defaults.OTHER_KEY, *defaults.DB_PASSWORD_VERSIONS):
        assert value not in text


def test_error_answers_are_plain_dicts_without_azmlinfsrv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "azureml_inference_server_http.api.aml_response", None)
    assert score._error("nope", 400) == {"error": "nope", "status": 400}
