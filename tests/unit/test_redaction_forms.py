"""Redaction has no holes a normal app falls into: extra= fields, escaped forms, scale."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secretinj_runtime.redaction import MASK, SecretRedactor, global_redactor, printed_forms

SECRET = 'p@ss"w0rd\\with/odd&chars'


class JsonFormatter(logging.Formatter):
    """What JSON log handlers do: every attribute of the record, extra= fields included."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        return json.dumps({k: str(v) for k, v in vars(record).items()})


@pytest.fixture
def captured() -> Iterator[list[str]]:
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app.json")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield lines
    logger.removeHandler(handler)


def test_extra_fields_are_masked(captured: list[str]) -> None:
    global_redactor().add([SECRET])
    log = logging.getLogger("app.json")
    log.info("calling the model", extra={"api_key": SECRET, "nested": {"k": SECRET}, "n": 3})
    assert captured, "the record was emitted"
    text = captured[-1]
    for form in printed_forms(SECRET):
        assert form not in text
    record = json.loads(text)
    assert record["api_key"] == MASK
    assert record["n"] == "3", "other fields are left alone"


@pytest.mark.parametrize(
    "render",
    [
        lambda v: v,
        lambda v: json.dumps({"key": v}),
        lambda v: repr({"key": v}),
        repr,
        lambda v: f"https://x.example.com/?key={quote(v, safe='')}",
        lambda v: f"key={quote_plus(v)}",
    ],
)
def test_every_printed_form_is_masked(render: object, caplog: pytest.LogCaptureFixture) -> None:
    global_redactor().add([SECRET])
    caplog.set_level(logging.INFO)
    text = render(SECRET)  # type: ignore[operator]
    logging.getLogger("app").info("payload %s", text)
    assert caplog.records[-1].getMessage().count(MASK) >= 1
    for form in printed_forms(SECRET):
        assert form not in caplog.text


FORMS: dict[str, Callable[[str], str]] = {
    "raw": lambda v: v,
    "json": lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
    "json_ascii": lambda v: json.dumps(v)[1:-1],
    "repr": lambda v: repr(v)[1:-1],
    "url": lambda v: quote(v, safe=""),
    "url_plus": lambda v: quote_plus(v, safe=""),
}


@settings(max_examples=300, deadline=None)
@given(
    value=st.text(min_size=4, max_size=40).filter(lambda v: "*" not in v),
    prefix=st.text(alphabet="ab \\\"'%", max_size=8),
    form=st.sampled_from(sorted(FORMS)),
)
def test_no_resolved_value_survives_in_any_form(value: str, prefix: str, form: str) -> None:
    redactor = SecretRedactor(hook=False)
    redactor.add([value])
    rendered = FORMS[form](value)
    out = redactor.redact(f"{prefix}{rendered}!")
    assert rendered not in out


def test_masking_scales_to_many_values() -> None:
    redactor = SecretRedactor(hook=False)
    values = [f"value-{i:05d}-{'x' * (i % 7)}" for i in range(20_000)]
    redactor.add(values)
    assert len(redactor) == 20_000
    text = f"a {values[12345]} b {values[7]} c"
    assert redactor.redact(text) == f"a {MASK} b {MASK} c"
    assert redactor.redact("nothing secret here") == "nothing secret here"


def test_prefix_sharing_values_are_masked_whole() -> None:
    redactor = SecretRedactor(hook=False)
    redactor.add([f"sk-proj-{i:04d}-abcdef" for i in range(100)] + ["sk-proj-0042-abcdef-longer"])
    assert redactor.redact("x sk-proj-0042-abcdef-longer y") == f"x {MASK} y"
    assert redactor.redact("x sk-proj-0099-abcdef y") == f"x {MASK} y"
