"""ListSecrets calls per replica against azmlinfsrv's ``--worker_count`` (replicas' sizing).

Three ways to run the sample score with N gunicorn workers, each against a fresh mock (its
own process), counting the ARM writes one replica costs before any rotation:

- ``init in every worker``: plain azmlinfsrv; every worker runs ``init()`` and resolves;
- ``preload``: ``WORKER_PRELOAD=true``; ``init()`` runs once in the master, workers are forked
  and keep its cache (the runtime resets sessions and locks in each child);
- ``secretinj run``: ``secretinj run -- azmlinfsrv ...``; resolved once before the server
  starts, the workers find values, not references.

Target: preload and ``secretinj run`` stay at one call per connection, whatever N.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.harness import Outcome, mock_env, pyplot, record, save_figure, say, start_mock
from secretinj_runtime.testing import sample as procs

MODES = ("init in every worker", "preload", "secretinj run")
#: The sample deployment references two connections (and one Key Vault secret).
CONNECTIONS = 2


@dataclass
class Params:
    """Worker counts to try."""

    worker_counts: tuple[int, ...] = (1, 2, 4, 8)
    timeout_s: float = 60.0

    @classmethod
    def smoke(cls) -> Params:
        """Two small counts, for CI."""
        return cls(worker_counts=(1, 2))


def _start(
    mode: str, workers: int, env: dict[str, str], workdir: Path, log_name: str
) -> procs.Process:
    if mode == "secretinj run":
        port = procs.free_port()
        argv = [*procs.console_script("secretinj", "secretinj_runtime.cli"), "run", "--"]
        argv += [*procs.console_script("azmlinfsrv", "azureml_inference_server_http.amlserver")]
        argv += ["--entry_script", str(procs.SCORE_SCRIPT), "--port", str(port)]
        argv += ["--worker_count", str(workers)]
        return procs.start_scorer(workdir, env, argv=argv, port=port, log_name=log_name)
    extra = {"WORKER_PRELOAD": "true"} if mode == "preload" else {}
    return procs.start_scorer(workdir, {**env, **extra}, worker_count=workers, log_name=log_name)


def _ready_pattern(mode: str) -> str:
    # With preload the master logs "ready" once; every worker logs its boot.
    if mode == "preload":
        return r"Booting worker with pid: \d+"
    return r"Worker with pid \d+ ready for serving traffic"


def measure(mode: str, workers: int, workdir: Path, timeout_s: float) -> float:
    """Start a mock and the server; return ListSecrets calls per connection once all serve."""
    with start_mock(workdir) as mock:
        env = {**mock_env(mock), **procs.deployment_variables()}
        log_name = f"azmlinfsrv-{mode.split(maxsplit=1)[0]}-{workers}.log"
        with _start(mode, workers, env, workdir, log_name) as server:
            procs.wait_for_log(server, _ready_pattern(mode), count=workers, timeout_s=timeout_s)
            status, answer = procs.score(server.url, {"text": "sized"})
            if status != 200:
                raise RuntimeError(f"{mode}, {workers} workers: /score answered {status}: {answer}")
        return mock.count("listsecrets") / CONNECTIONS


def run(params: Params, workdir: Path) -> Outcome:
    """Every mode at every worker count; one record each."""
    calls: dict[str, list[float]] = {mode: [] for mode in MODES}
    records = []
    for mode in MODES:
        for workers in params.worker_counts:
            per_connection = measure(mode, workers, workdir, params.timeout_s)
            calls[mode].append(per_connection)
            say(f"{mode}, {workers} workers: {per_connection:g} ListSecrets per connection")
            bounded = mode != "init in every worker"
            records.append(
                record(
                    "workers",
                    f"ListSecrets per connection per replica, {mode}, {workers} workers",
                    per_connection,
                    "calls",
                    target="= 1" if bounded else None,
                    met=(per_connection == 1) if bounded else None,
                )
            )
    return Outcome(records, {"workers": list(params.worker_counts), "calls": calls})


def chart(outcome: Outcome, path: Path) -> None:
    """ListSecrets per connection against the worker count, one line per mode."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    workers = outcome.samples["workers"]
    styles = (("o", "-", 6), ("s", "--", 11), ("^", ":", 6))  # preload and run coincide
    for (mode, values), (marker, line, size) in zip(
        outcome.samples["calls"].items(), styles, strict=False
    ):
        ax.plot(workers, values, marker=marker, linestyle=line, markersize=size, label=mode)
    ax.set_xlabel("azmlinfsrv --worker_count")
    ax.set_ylabel("ListSecrets per connection, one replica")
    ax.set_xticks(workers)
    ax.set_title("ARM writes per replica before any rotation")
    ax.grid(alpha=0.3)
    ax.legend()
    save_figure(fig, path)
