"""Where each shell command the docs show is run (see docs/test-matrix.md, "The docs' commands").

A command (``markdown.Command.key``: as shown, blanks collapsed) is covered when it appears in
a transcript block (`test_transcripts.py` runs it), or is a key of exactly one of:

- `RUN_HERE`: `test_commands.py` runs it as shown, in the setup named (`shell.SETUPS`), and
  checks its exit status;
- `RUN_BY`: the tests that run it, as pytest node ids (``path::function``, parameters left
  out; ``noxfile.py::session`` for a nox session). Each must exist, and the source of one of
  them (with the module-level helpers it calls) must contain the command's evidence: by
  default its subcommand and every ``--option``;
- `NOT_RUNNABLE`: why the suite cannot run it.

Lines that are shell plumbing (`SHELL_BUILTINS`) are not commands.
"""

from __future__ import annotations

from dataclasses import dataclass

#: First words of lines that are shell plumbing, not commands to run.
SHELL_BUILTINS = frozenset({"export", "echo", "cd"})


@dataclass(frozen=True)
class Here:
    """Run by test_commands.py in ``setup``; it must exit ``status``."""

    setup: str
    status: int = 0


@dataclass(frozen=True)
class By:
    """Run by these tests; ``evidence`` overrides the strings derived from the command."""

    tests: tuple[str, ...]
    evidence: tuple[str, ...] | None = None


RUN_HERE: dict[str, Here] = {
    "secretinj --help": Here("offline"),
    "secretinj lint sample_score/deployment.yml": Here("offline"),
    "secretinj-mock env --url http://127.0.0.1:8731": Here("offline"),
    "secretinj-mock state > state.yml": Here("offline"),
    ".venv/bin/python -m secretinj_runtime.testing.demo --env http://127.0.0.1:8731": Here(
        "offline"
    ),
    ".venv/bin/nox -l": Here("offline"),
    'eval "$(secretinj-mock env --as deployer)"': Here("mock"),
    "curl -s localhost:8731/_mock/role-assignments": Here("mock"),
    (
        "curl -s -X POST localhost:8731/_mock/role-assignments -H 'Content-Type: "
        'application/json\' -d \'{"principal": "deployer", "role": "Azure Machine Learning '
        'Workspace Connection Secrets Reader", "scope": "workspace"}\''
    ): Here("mock"),
}

_SERVE = "tests/mock/test_mock_cli.py::test_serve_prints_url_and_exits_0_on_signal"
_WHEEL = "noxfile.py::wheel"

RUN_BY: dict[str, By] = {
    "secretinj-mock serve": By((_SERVE,)),
    "secretinj-mock serve &": By((_SERVE,)),
    "secretinj-mock serve --port 0 --state state.yml": By((_SERVE,)),
    # As the deployer, against the demo state: every check passes.
    "secretinj preflight sample_score/deployment.yml --endpoint sample_score/endpoint.yml": By(
        (
            "tests/preflight/test_command.py::test_all_good_json_shape_and_exit_0",
            "tests/preflight/test_command.py::test_a_fail_exits_1_and_prints_the_fix_under_it",
        ),
        evidence=("preflight",),
    ),
    "curl -s -X DELETE localhost:8731/_mock/role-assignments/<id>": By(
        (
            "tests/mock/test_mock_roles.py::"
            "test_the_deployer_gets_tokens_and_its_roles_drive_the_data_plane",
        ),
        evidence=('"DELETE"', "/role-assignments/"),
    ),
    "secretinj run --deployment deployment.yml -- azmlinfsrv --entry_script score.py "
    "--worker_count 4": By(
        (
            "tests/cli/test_e2e_run_azmlinfsrv.py::test_run_azmlinfsrv_resolves_once_for_all_workers",
        ),
        evidence=(
            '"run"',
            '"--deployment"',
            '"azmlinfsrv"',
            '"--entry_script"',
            '"--worker_count"',
        ),
    ),
    "python docker/smoke.py --no-docker": By(
        ("tests/e2e/test_e2e.py::test_the_smoke_script_passes_without_docker",),
        evidence=('"smoke.py"', '"--no-docker"'),
    ),
    "python -m build --wheel --outdir sample_score/environment": By(
        (_WHEEL,), evidence=('"build"', '"--outdir"', '"environment"')
    ),
    "pip install 'dist/secretinj_runtime-0.1.0-py3-none-any.whl[mock]'": By(
        (_WHEEL,), evidence=('"pip"', "[mock]")
    ),
    "pytest -q": By(
        ("tests/plugin/test_docs_example.py::test_the_example_passes",),
        evidence=("run_pytest",),
    ),
}

NOT_RUNNABLE: dict[str, str] = {
    "make test": "the suite's own entry point (lint, then pytest): a test cannot run the suite "
    "it is part of; .ci/run runs it",
    "make lint": "the first half of make test, which runs it before pytest",
    "make venv": "creates .venv from the package index; every make target runs it first",
    "make clean": "removes .venv, which the running suite uses",
    "make matrix": "every nox session: new environments from the package index, about 10 "
    "minutes; .ci/run runs the sessions tagged ci",
    "make bench": "minutes of measurements on a quiet machine; tests/bench/test_bench_smoke.py "
    "runs every benchmark at tiny sizes",
    "make dist": "builds in an isolated environment fetched from the package index; the nox "
    "session wheel builds and checks the sdist and wheel",
    ".venv/bin/nox -s lowest": "installs the lowest dependencies from the package index; "
    ".ci/run runs the session",
    ".ci/run": "CI's entry point: make test, then the nox sessions tagged ci",
    "az ml online-deployment create --file sample_score/deployment.yml --all-traffic": "real "
    "Azure: a workspace, an endpoint and a subscription",
    "python docker/smoke.py": "needs a Docker engine; its --no-docker mode runs in the suite",
    "pip install 'secretinj-runtime[mock,server]' pytest": "the package is not on an index "
    "yet; the nox session wheel installs the built wheel with its extras, and "
    "tests/plugin/test_docs_example.py runs the page's example with them",
}
