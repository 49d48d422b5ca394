"""``secretinj run``: build the environment, check it, resolve it once, exec the command.

The environment is the deployment YAML's ``environment_variables`` (as the platform would
inject them), overridden by a dotenv file, overridden by the current process environment.
Everything that can be checked without the network is checked first: names and values the
environment cannot hold, and whether the command exists. Resolved values reach the command
through its environment only, never through a file; ``SECRETINJ_RESOLVED`` tells it which
variables they are (names only).
"""

from __future__ import annotations

import os
import stat
import sys

from ._constants import EnvironmentVariables
from ._dotenv import EnvFileError, read_env_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

#: Names of the variables `run` resolved, comma-separated, in the command's environment; the
#: runtime in the command masks their values from import on and reports them (source "run").
RESOLVED_VARIABLE = EnvironmentVariables.RESOLVED

__all__ = ["RESOLVED_VARIABLE", "EnvFileError", "build_environment", "run_command"]


def build_environment(
    deployment: str | None, env_file: str | None, base: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Return deployment variables, overridden by ``env_file``, overridden by ``base``.

    Also returns where each variable from a file comes from (``file:line``). ``base``
    defaults to the process environment. Raises `EnvFileError` or
    `secretinj_runtime.deployment_yaml.YamlFileError`.
    """
    env: dict[str, str] = {}
    origin: dict[str, str] = {}
    if deployment is not None:
        from .deployment_yaml import load_environment_entries

        for name, value, line in load_environment_entries(deployment):
            env[name], origin[name] = value, f"{deployment}:{line}"
    if env_file is not None:
        for name, value, line in read_env_file(env_file):
            env[name], origin[name] = value, f"{env_file}:{line}"
    for name, value in (os.environ if base is None else base).items():
        env[name] = value
        origin.pop(name, None)
    return env, origin


def environment_problems(env: Mapping[str, str], origin: Mapping[str, str]) -> list[str]:
    """Return ``file:line: problem`` for each variable the environment cannot hold."""
    from ._valuecheck import environ_problem

    out: list[str] = []
    for name, value in env.items():
        problem = environ_problem(name, value)
        if problem is not None:
            out.append(f"{origin.get(name, 'the environment')}: {problem}")
    return out


def find_command(name: str, path: str | None) -> tuple[str | None, int, str]:
    """Find ``name`` as ``exec`` would, on ``path`` (a PATH value; None: the default).

    Returns ``(file, 0, "")``, or ``(None, 127, "command not found")``, or ``(None, 126,
    reason)`` for a command that exists but cannot be run (a directory, not executable).
    """
    not_found = None, 127, "command not found"
    if not name:
        return not_found
    if os.sep in name:
        candidates = [name]
    else:
        dirs = (os.defpath if path is None else path).split(os.pathsep)
        candidates = [os.path.join(d, name) for d in dirs]  # "" is the current directory
    reason = ""
    for candidate in candidates:
        try:
            mode = os.stat(candidate).st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode):
            reason = reason or "cannot run: it is a directory"
        elif not os.access(candidate, os.X_OK):
            reason = reason or "cannot run: Permission denied"
        else:
            return candidate, 0, ""
    return (None, 126, reason) if reason else not_found


def run_command(
    command: list[str],
    *,
    deployment: str | None,
    env_file: str | None,
    stderr: TextIO,
) -> int:
    """Resolve the environment once and exec ``command`` in it; return an exit code on failure.

    Returns 2 for unreadable or invalid input files (names or values the environment cannot
    hold included), 127 when the command is not found and 126 when it cannot be executed
    (both checked before any network call), 1 when a reference did not resolve (the command
    is not started). SIGTERM and SIGINT before the exec end the process at once (143, 130).
    On success the process is replaced by the command and this never returns.
    """
    from ._signals import exit_on_signals

    with exit_on_signals(stderr, f"{command[0]} not started"):  # PID 1 drops them otherwise
        prepared = _prepare(command, deployment, env_file, stderr)
    if isinstance(prepared, int):
        return prepared
    executable, env = prepared
    for stream in (sys.stdout, sys.stderr, stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed by the caller (`>&-`) or a broken pipe
            pass
    try:
        os.execve(executable, command, env)  # noqa: S606 - the user's own command
    except OSError as ex:
        print(f"secretinj: error: {command[0]}: cannot run: {ex.strerror or ex}", file=stderr)
        return 126


def _prepare(
    command: list[str], deployment: str | None, env_file: str | None, stderr: TextIO
) -> tuple[str, dict[str, str]] | int:
    """Build, check and resolve the environment; return the file to exec and it, or a code."""
    from .deployment_yaml import YamlFileError

    try:
        env, origin = build_environment(deployment, env_file)
    except (EnvFileError, YamlFileError) as ex:
        print(f"secretinj: error: {ex}", file=stderr)
        return 2
    problems = environment_problems(env, origin)
    for problem in problems:
        print(f"secretinj: error: {problem}", file=stderr)
    if problems:
        return 2
    executable, code, reason = find_command(command[0], env.get("PATH"))
    if executable is None:
        print(f"secretinj: error: {command[0]}: {reason}", file=stderr)
        return code
    return _resolve(env, command[0], stderr) or (executable, env)


def _resolve(env: dict[str, str], program: str, stderr: TextIO) -> int:
    """Resolve every reference of ``env`` in place and mark the names; return 0 or 1."""
    import secretinj_runtime as sir

    try:
        report = sir.resolve_environment(environ=env, required=True)
    except sir.SecretResolutionError as ex:
        print(ex.report, file=stderr)  # the table says which variable failed and why
        headline = str(ex).splitlines()[0].rstrip(":")
        print(f"secretinj: error: {headline}; {program} not started", file=stderr)
        return 1
    resolved = [n for n, s in report.variables.items() if s.status is sir.Status.RESOLVED]
    for name in resolved:
        if "\0" in env[name]:
            print(
                f"secretinj: error: {name}: the resolved value holds a NUL character: the "
                f"environment cannot hold it; {program} not started",
                file=stderr,
            )
            return 1
    _mark_resolved(env, resolved)
    if report.variables:
        print(f"secretinj: {report.summary()}", file=stderr)
    else:
        print("secretinj: no variable holds a reference: nothing to resolve", file=stderr)
    return 0


def _mark_resolved(env: dict[str, str], resolved: list[str]) -> None:
    """Set `RESOLVED_VARIABLE` to the names resolved here and by an outer ``run``.

    Names listed by an outer ``secretinj run`` stay listed while the variable exists (its
    value is that secret); without any name the variable is removed.
    """
    inherited = [n for n in env.get(RESOLVED_VARIABLE, "").split(",") if n in env]
    names = list(dict.fromkeys([*inherited, *resolved]))
    if names:
        env[RESOLVED_VARIABLE] = ",".join(names)
    else:
        env.pop(RESOLVED_VARIABLE, None)
