"""``secretinj run``: build the environment, resolve it once, exec the command.

The environment is the deployment YAML's ``environment_variables`` (as the platform would
inject them), overridden by a dotenv file, overridden by the current process environment.
Resolved values reach the command through its environment only, never through a file.
"""

from __future__ import annotations

import os
import sys

from ._dotenv import EnvFileError, parse_env_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

__all__ = ["EnvFileError", "build_environment", "parse_env_file", "run_command"]


def build_environment(
    deployment: str | None, env_file: str | None, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return deployment variables, overridden by ``env_file``, overridden by ``base``.

    ``base`` defaults to the process environment. Raises `EnvFileError` or
    `secretinj_runtime.deployment_yaml.YamlFileError`.
    """
    env: dict[str, str] = {}
    if deployment is not None:
        from .deployment_yaml import load_environment_variables

        env.update(load_environment_variables(deployment))
    if env_file is not None:
        env.update(parse_env_file(env_file))
    env.update(os.environ if base is None else base)
    return env


def run_command(
    command: list[str],
    *,
    deployment: str | None,
    env_file: str | None,
    stderr: TextIO,
) -> int:
    """Resolve the environment once and exec ``command`` in it; return an exit code on failure.

    Returns 2 for unreadable input files, 1 when a reference did not resolve (the command is
    not started), 127 when the command is not found and 126 when it cannot be executed.
    On success the process is replaced by the command and this never returns.
    """
    import secretinj_runtime as sir

    from .deployment_yaml import YamlFileError

    try:
        env = build_environment(deployment, env_file)
    except (EnvFileError, YamlFileError) as ex:
        print(f"secretinj: error: {ex}", file=stderr)
        return 2
    try:
        report = sir.resolve_environment(environ=env, required=True)
    except sir.SecretResolutionError as ex:
        print(ex.report, file=stderr)  # the table says which variable failed and why
        headline = str(ex).splitlines()[0].rstrip(":")
        print(f"secretinj: error: {headline}; {command[0]} not started", file=stderr)
        return 1
    print(f"secretinj: {report.summary()}", file=stderr)
    for stream in (sys.stdout, sys.stderr, stderr):
        stream.flush()
    try:
        os.execvpe(command[0], command, env)  # noqa: S606 - the user's own command
    except FileNotFoundError:
        print(f"secretinj: error: {command[0]}: command not found", file=stderr)
        return 127
    except OSError as ex:
        print(f"secretinj: error: {command[0]}: cannot run: {ex.strerror or ex}", file=stderr)
        return 126
