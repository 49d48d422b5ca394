from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from secretinj_runtime.redaction import MASK, SecretRedactor


@pytest.fixture
def redactor() -> Iterator[SecretRedactor]:
    factory = logging.getLogRecordFactory()
    yield SecretRedactor()
    logging.setLogRecordFactory(factory)


def test_masks_values_in_any_logger_and_any_form(
    redactor: SecretRedactor, caplog: pytest.LogCaptureFixture
) -> None:
    redactor.add(["s3cr3t-value", "tok"])  # "tok" is too short to mask
    caplog.set_level(logging.DEBUG)
    logging.getLogger("user.code").info("key %s", "s3cr3t-value")
    logging.getLogger().warning("inline s3cr3t-value and %r", {"k": "s3cr3t-value"})
    logging.getLogger("urllib3").debug("%(v)s", {"v": "s3cr3t-value"})
    logging.getLogger("user.code").info("short tok stays")
    try:
        raise RuntimeError("failed with s3cr3t-value")
    except RuntimeError:
        logging.getLogger("x").exception("boom")
    assert "s3cr3t-value" not in caplog.text
    assert caplog.text.count(MASK) >= 5
    assert "tok" in caplog.text, "values under four characters are left alone"
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == f"key {MASK}"


def test_longest_secret_is_masked_whole(redactor: SecretRedactor) -> None:
    redactor.add(["abcd", "abcdefgh"])
    assert redactor.redact("x abcdefgh y abcd") == f"x {MASK} y {MASK}"


def test_records_without_secrets_are_untouched(
    redactor: SecretRedactor, caplog: pytest.LogCaptureFixture
) -> None:
    redactor.add(["s3cr3t-value"])
    caplog.set_level(logging.INFO)
    logging.getLogger("a").info("count %d of %s", 3, "things")
    record = caplog.records[0]
    assert record.args == (3, "things")
    assert record.getMessage() == "count 3 of things"


def test_install_once_and_repr_has_no_values(redactor: SecretRedactor) -> None:
    redactor.add(["first-secret"])
    factory = logging.getLogRecordFactory()
    redactor.add(["second-secret"])
    assert logging.getLogRecordFactory() is factory
    assert len(redactor) == 2
    assert "secret" not in repr(redactor).replace("SecretRedactor", "")


def test_bad_format_strings_do_not_break_logging(
    redactor: SecretRedactor, caplog: pytest.LogCaptureFixture
) -> None:
    redactor.add(["s3cr3t-value"])
    caplog.set_level(logging.INFO)
    record = logging.getLogger("a").makeRecord(
        "a", logging.INFO, "f", 1, "%d s3cr3t-value", ("x",), None
    )
    assert "s3cr3t-value" not in str(record.msg)
