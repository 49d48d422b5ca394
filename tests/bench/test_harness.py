"""The shared harness of the benchmarks: records, statistics, orders, threads, children."""

from __future__ import annotations

import json
import math
import random
import threading
import time
from pathlib import Path

import pytest

from bench import harness


def test_record_ratio_only_for_finite_numbers() -> None:
    assert harness.record("b", "m", 3.0, "ms", baseline=2.0)["ratio"] == 1.5
    assert harness.record("b", "m", 3.0, "ms", baseline="text")["ratio"] is None
    assert harness.record("b", "m", 3.0, "ms", baseline=0)["ratio"] is None
    assert harness.record("b", "m", math.nan, "ms", baseline=2.0)["ratio"] is None
    assert harness.record("b", "m", None, "ms", baseline=2.0)["ratio"] is None


def test_records_round_trip_with_non_finite_values_as_null(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    recs = [
        harness.record("b", "one", 1.0, "ms", baseline=2.0, target="<= 1x", met=True),
        harness.record("b", "nan", math.nan, "s"),
    ]
    harness.write_records(path, recs)
    raw = json.loads(path.read_text())
    assert [tuple(r) for r in raw] == [harness.FIELDS, harness.FIELDS]
    assert raw[1]["value"] is None
    assert harness.load_records(path)[0] == recs[0]


def test_load_records_rejects_what_is_not_a_list(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    path.write_text('{"benchmark": "b"}')
    with pytest.raises(ValueError, match="expected a list of records"):
        harness.load_records(path)


def test_statistics() -> None:
    assert harness.median([3.0, 1.0, 2.0]) == 2.0
    assert math.isnan(harness.median([]))
    assert harness.quartiles([5.0]) == (5.0, 5.0)
    assert harness.quartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, 4.0)
    samples = harness.Samples()
    for key, value in (("a", 1.0), ("b", 10.0), ("a", 3.0)):
        samples.add(key, value)
    assert samples.values == {"a": [1.0, 3.0], "b": [10.0]}
    assert samples.median("a") == 2.0
    assert math.isnan(samples.median("missing"))


def test_abba_reverses_every_other_round() -> None:
    assert [harness.abba("AB", i) for i in range(4)] == [
        ["A", "B"],
        ["B", "A"],
        ["A", "B"],
        ["B", "A"],
    ]


def test_shuffled_is_a_permutation_drawn_from_the_given_generator() -> None:
    items = ["bare", "ours", "eager", "venv_bare", "venv_ours"]
    # The same draws as the benchmarks made before the harness: the recorded orders stay.
    expected = [items[i] for i in random.Random(1).sample(range(5), 5)]  # noqa: S311
    assert harness.shuffled(items, random.Random(1)) == expected  # noqa: S311
    rng = random.Random(1)  # noqa: S311
    orders = [harness.shuffled(items, rng) for _ in range(20)]
    assert all(sorted(o) == sorted(items) for o in orders)
    assert len({tuple(o) for o in orders}) > 1


def test_timed_ms_returns_the_result_and_a_duration() -> None:
    result, elapsed_ms = harness.timed_ms(lambda: 42)
    assert result == 42
    assert 0 <= elapsed_ms < 1000


def test_release_together_starts_every_thread_after_the_barrier() -> None:
    done_at: dict[int, float] = {}
    lock = threading.Lock()

    def work(i: int) -> None:
        with lock:
            done_at[i] = time.perf_counter()

    started = harness.release_together(8, work, timeout_s=10)
    assert sorted(done_at) == list(range(8))
    assert all(t >= started for t in done_at.values())


def test_release_together_reports_a_failing_thread() -> None:
    def work(i: int) -> None:
        if i == 2:
            raise ValueError("boom")

    with pytest.raises(
        RuntimeError, match="1 of 3 threads failed, first: ValueError: boom"
    ) as info:
        harness.release_together(3, work, timeout_s=10, name="load")
    assert isinstance(info.value.__cause__, ValueError)


def test_release_together_gives_up_on_a_stuck_thread() -> None:
    gate = threading.Event()
    try:
        with pytest.raises(RuntimeError, match=r"replica: threads still running after 0\.05 s"):
            harness.release_together(2, lambda i: gate.wait(10), timeout_s=0.05, name="replica")
    finally:
        gate.set()


def test_python_figure_reads_the_last_number() -> None:
    assert harness.python_figure("import sys; print('noise'); print(sys.argv[1])", "2.5") == 2.5


def test_a_failing_child_raises_with_its_stderr() -> None:
    code = "import sys\nsys.stderr.write('went wrong here')\nsys.exit(3)"
    with pytest.raises(RuntimeError, match=r"exited with status 3:\nwent wrong here") as info:
        harness.run_child([harness.PYTHON, "-c", code])
    assert "sys.exit" not in str(info.value)  # the inline code is elided


def test_a_silent_child_has_no_figure() -> None:
    with pytest.raises(RuntimeError, match="printed no figure"):
        harness.python_figure("pass")


def test_endpoints_come_from_the_mock_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRETINJ_ARM_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("SECRETINJ_WORKSPACE_ID", "/subscriptions/s/workspaces/w")
    monkeypatch.setenv("SECRETINJ_KEYVAULT_ENDPOINT", "http://127.0.0.1:9/keyvault")
    monkeypatch.setenv("MSI_ENDPOINT", "http://127.0.0.1:9/msi/token")
    monkeypatch.setenv("MSI_SECRET", harness.MSI_SECRET)
    where = harness.Endpoints.from_environ()
    assert where.workspace_url == "http://127.0.0.1:9/subscriptions/s/workspaces/w"
    assert where.keyvault_url == "http://127.0.0.1:9/keyvault"
    assert where.msi_url == "http://127.0.0.1:9/msi/token"


def test_step_curve_rises_by_one_at_each_event() -> None:
    xs, ys = harness.step_curve([1.0, 2.0], 3.0)
    assert xs == [0.0, 1.0, 1.0, 2.0, 2.0, 3.0]
    assert ys == [0, 0, 1, 1, 2, 2]


def test_api_key_connection_state() -> None:
    plain = harness.api_key_connection("https://t/", "k")
    assert plain == {
        "authType": "ApiKey",
        "category": "AzureOpenAI",
        "target": "https://t/",
        "credentials": {"key": "k"},
    }
    assert harness.api_key_connection("https://t/", "k", {"Region": "r"})["metadata"] == {
        "Region": "r"
    }
