"""The report: JSON shape, exit codes, the table, one-line details, fixes required."""

from __future__ import annotations

import pytest

from secretinj_runtime.preflight.model import Check, Outcome, Report


def test_exit_codes_and_ok() -> None:
    report = Report()
    report.add("a", "x", Outcome.PASS, "fine")
    report.add("b", "y", Outcome.WARN, "hmm", "do this")
    report.add("c", "z", Outcome.UNKNOWN, "cannot tell")
    assert report.ok
    assert report.exit_code() == 0
    report.add("d", "w", Outcome.FAIL, "broken", "fix it")
    assert report.to_dict()["ok"] is False
    assert report.exit_code() == 1
    report.config_error = True
    assert report.exit_code() == 2
    assert report.summary() == "4 checks: 1 PASS, 1 FAIL, 1 WARN, 1 UNKNOWN"


def test_json_shape() -> None:
    report = Report()
    report.add("workspace", "ws", Outcome.FAIL, "not\nfound  here", "az ml workspace show")
    assert report.to_dict() == {
        "ok": False,
        "checks": [
            {
                "check": "workspace",
                "subject": "ws",
                "status": "FAIL",
                "detail": "not found here",  # service text is flattened to one line
                "fix": "az ml workspace show",
            }
        ],
    }


def test_fail_and_warn_need_a_fix() -> None:
    with pytest.raises(ValueError, match="needs a fix"):
        Check("a", "b", Outcome.FAIL, "d")
    with pytest.raises(ValueError, match="needs a fix"):
        Check("a", "b", Outcome.WARN, "d", "")
    assert Check("a", "b", Outcome.UNKNOWN, "d").fix is None


def test_table_puts_each_fix_under_its_check() -> None:
    report = Report()
    report.add("reference", "KEY", Outcome.PASS, "parses")
    report.add("connection", "conn-name", Outcome.FAIL, "missing", "create it\nthen rerun")
    lines = report.render().splitlines()
    assert lines[0].split() == ["STATUS", "CHECK", "SUBJECT", "DETAIL"]
    assert lines[1].split() == ["PASS", "reference", "KEY", "parses"]
    assert lines[2].split() == ["FAIL", "connection", "conn-name", "missing"]
    assert lines[3] == "        fix: create it"  # under CHECK: STATUS is 6 wide
    assert lines[4] == "             then rerun"


def test_long_details_are_cut_at_a_word() -> None:
    report = Report()
    check = report.add("a", "b", Outcome.PASS, "word " * 500)
    assert len(check.detail) <= 600
    assert check.detail.endswith("word ...")
