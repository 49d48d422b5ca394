"""Smoke test of the sample image: bring up mock + scorer, wait for liveness, score, tear down.

    python docker/smoke.py               # docker compose -f docker/compose.yaml up -d --build
    python docker/smoke.py --no-docker   # the image's files in a fresh venv, free ports

``--no-docker`` builds what the image holds without an engine: the build context is the
repository filtered by ``docker/Dockerfile.dockerignore``; the Dockerfile's ``COPY`` lines
copy from it into a directory that stands for the image's file system; a fresh venv gets
azmlinfsrv (the base image's part) and the package installed from that copy, as the
Dockerfile's ``pip install`` does. The mock's ``command`` and the scorer's ``environment``
come from ``compose.yaml``, the scorer's command, ``ENV`` and ``WORKDIR`` from the Dockerfile;
only ports and paths change. Nothing runs from the checkout: a scoring script that imports
something the image lacks fails here as in the container. Exit 0 when the answer is right, 1
with a message otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import requests
import yaml

DOCKER_DIR = Path(__file__).resolve().parent
ROOT = DOCKER_DIR.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: find the checkout

from secretinj_runtime.testing import sample as procs  # noqa: E402

COMPOSE_FILE = DOCKER_DIR / "compose.yaml"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
MOCK_PORT = 8731
SCORER_PORT = 5001
#: Where the Dockerfile copies the package, and the extras its ``pip install`` asks for.
PACKAGE_DIR = "/opt/secretinj-runtime"
EXTRAS = "[mock]"
#: What the base image brings that the Dockerfile does not install.
BASE_PACKAGE = "azureml-inference-server-http"
TEXT = "hello from the smoke test"
EXPECTED_SOURCES = {
    "AOAI_ENDPOINT": "connection",
    "AOAI_API_KEY": "connection",
    "AOAI_API_VERSION": "connection",
    "AOAI_DEPLOYMENT": "connection",
    "OTHER_API_KEY": "connection",
    "DB_PASSWORD": "keyvault",
}


class SmokeError(RuntimeError):
    """A smoke check failed; the message says which."""


def compose_services(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """Return the ``services`` of the compose file."""
    data = yaml.safe_load(path.read_text())
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict) or not {"mock", "scorer"} <= services.keys():
        raise SmokeError(f"{path}: expected services 'mock' and 'scorer'")
    return services


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """Return a service's environment as compose passes it (``$$`` is a literal ``$``)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v).replace("$$", "$") for k, v in env.items()}


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """Return ``(INSTRUCTION, arguments)`` of each Dockerfile line (continuations joined)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_cmd(path: Path = DOCKERFILE) -> list[str]:
    """Return the Dockerfile's ``CMD`` (exec form)."""
    found = [args for word, args in dockerfile_instructions(path) if word == "CMD"]
    if not found or not found[-1].startswith("["):
        raise SmokeError(f"{path}: no exec-form CMD")
    cmd = json.loads(found[-1])
    if not isinstance(cmd, list) or not all(isinstance(w, str) for w in cmd):
        raise SmokeError(f"{path}: CMD is not a list of strings")
    return cmd


Rule = tuple[bool, str, "re.Pattern[str]"]


def ignore_rules(path: Path) -> list[Rule]:
    """Return ``(is_exception, pattern, regex)`` of each line of a ``.dockerignore`` file."""
    rules: list[Rule] = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
        regex = ""
        for token in re.findall(r"\*\*/|\*\*|\*|\?|\\.|[^*?\\]", pattern):
            wildcard = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
            regex += wildcard.get(token, re.escape(token[-1]))
        rules.append((negate, pattern, re.compile(regex)))
    return rules


def ignored(relpath: str, rules: list[Rule]) -> bool:
    """Tell whether Docker leaves ``relpath`` out of the context.

    The last rule that matches the path, or one of its parent directories, decides.
    """
    parts = relpath.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    out = False
    for negate, _, regex in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            out = not negate
    return out


def build_context(root: Path, rules: list[Rule]) -> set[str]:
    """Return the files (relative, ``/``-separated) of the build context at ``root``."""
    literal = [re.split(r"[*?\[\\]", pattern)[0] for negate, pattern, _ in rules if negate]
    files: set[str] = set()
    for folder, dirs, names in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        rel = "" if rel == "." else rel + "/"
        dirs[:] = [  # a directory left out is skipped unless an exception may reach inside
            d
            for d in dirs
            if not ignored(rel + d, rules)
            or any(f"{rel}{d}/".startswith(p) or p.startswith(f"{rel}{d}/") for p in literal)
        ]
        files.update(rel + n for n in names if not ignored(rel + n, rules))
    return files


def stage_image(context: Path, image_root: Path) -> dict[str, str]:
    """Copy what the Dockerfile's ``COPY`` lines take from the context into ``image_root``.

    Returns the Dockerfile's ``ENV`` (absolute paths moved under ``image_root``) with
    ``WORKDIR`` as ``"WORKDIR"``.
    """
    dockerfile = context / "docker" / "Dockerfile"
    files = build_context(context, ignore_rules(context / "docker" / "Dockerfile.dockerignore"))
    env: dict[str, str] = {}
    workdir = "/"
    for word, args in dockerfile_instructions(dockerfile):
        if word == "WORKDIR":
            workdir = os.path.join(workdir, args)
        elif word == "ENV":
            items = shlex.split(args)
            if items and "=" not in items[0]:  # the legacy form: ENV NAME value
                items = [f"{items[0]}={' '.join(items[1:])}"]
            for item in items:
                name, _, value = item.partition("=")
                env[name] = value
        elif word == "COPY":
            *sources, dest = json.loads(args) if args.startswith("[") else args.split()
            if any(s.startswith("--") or set(s) & set("*?[") for s in sources):
                raise SmokeError(f"{dockerfile}: COPY {args}: flags and wildcards unsupported")
            for source in sources:
                _copy(source.rstrip("/"), os.path.join(workdir, dest), files, context, image_root)
    moved = {k: _in_image(v, image_root) for k, v in env.items()}
    return {**moved, "WORKDIR": _in_image(workdir, image_root)}


def _copy(source: str, dest: str, files: set[str], context: Path, image_root: Path) -> None:
    inside = sorted(f for f in files if f.startswith(source + "/"))
    if source in files:  # a file: into a directory (dest ends with '/') or as dest
        target = os.path.join(dest, Path(source).name) if dest.endswith("/") else dest
        pairs = [(source, target)]
    elif inside:  # a directory: its contents into dest
        pairs = [(f, os.path.join(dest, f[len(source) + 1 :])) for f in inside]
    else:
        raise SmokeError(f"COPY {source}: not in the build context (see the .dockerignore)")
    for src, target in pairs:
        out = image_root / target.lstrip("/")
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(context / src, out)


def _from(bin_dir: Path, argv: list[str]) -> list[str]:
    """Run ``argv[0]`` from the fresh venv, where the image has its console scripts."""
    script = bin_dir / argv[0]
    if not script.exists():
        raise SmokeError(f"{argv[0]}: not installed in the image's environment")
    return [str(script), *argv[1:]]


def _in_image(value: str, image_root: Path) -> str:
    """Move an absolute path of the image under ``image_root``; leave anything else alone."""
    if not value.startswith("/") or re.search(r"[\s:]", value):
        return value
    return str(image_root / value.lstrip("/"))


def clean_environ(extra: dict[str, str]) -> dict[str, str]:
    """Return this environment without the checkout, the dev venv or identity settings."""
    env = procs.child_environ()
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    dev_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != dev_bin)
    return {**env, **extra}


def build_venv(where: Path, image_root: Path, timeout_s: float) -> Path:
    """Create a fresh venv with the base image's azmlinfsrv and the package from the image."""
    try:
        base = f"{BASE_PACKAGE}=={metadata.version(BASE_PACKAGE)}"
    except metadata.PackageNotFoundError:
        raise SmokeError(f"{BASE_PACKAGE} is needed to stand in for the base image") from None
    build = where / "build"  # as the Dockerfile does: pip builds in a writable copy
    shutil.copytree(image_root / PACKAGE_DIR.lstrip("/"), build)
    venv = where / "venv"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{build}{EXTRAS}", base],
    ]
    for argv in steps:
        try:
            done = subprocess.run(
                argv,
                env=clean_environ({}),
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SmokeError(f"{shlex.join(argv[:4])} took over {timeout_s:.0f} s") from None
        if done.returncode != 0:
            raise SmokeError(f"{shlex.join(argv)} failed:\n{done.stderr.strip()[-2000:]}")
    return venv / "bin"


def _replace_port(argv: Sequence[str], old: int, new: int) -> list[str]:
    out = list(argv)
    if "--port" not in out or out[out.index("--port") + 1] != str(old):
        raise SmokeError(f"expected '--port {old}' in {argv}")
    out[out.index("--port") + 1] = str(new)
    return out


def check_answer(status: int, answer: Any, text: str) -> None:
    """Raise `SmokeError` unless /score answered the model's reply and the expected sources."""
    if status != 200 or not isinstance(answer, dict):
        raise SmokeError(f"/score answered {status}: {answer}")
    if answer.get("answer") != f"You said: {text} ({len(text.split())} words)":
        raise SmokeError(f"unexpected answer: {answer.get('answer')!r}")
    if answer.get("secrets") != EXPECTED_SOURCES:
        raise SmokeError(f"unexpected secret sources: {answer.get('secrets')}")


def smoke_local(timeout_s: float, context: Path = ROOT) -> None:
    """Build the image's files and a fresh venv, run mock and scorer from them, score once."""
    services = compose_services(context / "docker" / "compose.yaml")
    mock_port, scorer_port = procs.free_port(), procs.free_port()
    with tempfile.TemporaryDirectory(prefix="secretinj-smoke-") as tmp:
        work, image_root = Path(tmp), Path(tmp) / "image"
        image_env = stage_image(context, image_root)
        cwd = Path(image_env.pop("WORKDIR"))
        started = time.monotonic()
        bin_dir = build_venv(work, image_root, timeout_s=max(timeout_s, 300))
        print(f"smoke: venv with the image's package in {time.monotonic() - started:.0f} s")
        home = work / "home"  # gunicorn's control socket lives in $HOME: one per run
        home.mkdir()
        base = clean_environ({**image_env, "HOME": str(home)})
        base["PATH"] = f"{bin_dir}{os.pathsep}{base['PATH']}"
        mock_argv = _replace_port(services["mock"]["command"], MOCK_PORT, mock_port)
        mock = procs.MockProcess(
            "mock", _from(bin_dir, mock_argv), env=base, log_path=work / "mock.log", cwd=cwd
        )
        with mock:
            mock.wait_ready(timeout_s)
            print(f"smoke: mock at {mock.url}", flush=True)
            cmd = dockerfile_cmd(context / "docker" / "Dockerfile")
            scorer_argv = _replace_port(
                [_in_image(w, image_root) for w in cmd], SCORER_PORT, scorer_port
            )
            env = {
                k: v.replace(f"127.0.0.1:{MOCK_PORT}", f"127.0.0.1:{mock_port}")
                for k, v in compose_environment(services["scorer"]).items()
            }
            server = procs.Process(
                "azmlinfsrv",
                _from(bin_dir, scorer_argv),
                env={**base, **env},
                log_path=work / "azmlinfsrv.log",
                cwd=cwd,
                url=f"http://127.0.0.1:{scorer_port}",
            )
            with server:
                took = procs.wait_for_liveness(server, timeout_s)
                print(f"smoke: azmlinfsrv live at {server.url} after {took:.1f} s", flush=True)
                status, answer = procs.score(server.url, {"text": TEXT})
                check_answer(status, answer, TEXT)
        if not (mock.finished() and server.finished()):
            raise SmokeError("a process outlived the smoke test")


def _docker(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    cmd = ["docker", *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError:
        raise SmokeError("the docker CLI is not installed (try --no-docker)") from None
    except subprocess.TimeoutExpired:
        raise SmokeError(f"docker {' '.join(args[:3])} took over {timeout_s:.0f} s") from None


def _compose(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return _docker("compose", "-f", str(COMPOSE_FILE), *args, timeout_s=timeout_s)


def _preflight() -> None:
    if _docker("compose", "version", timeout_s=30).returncode != 0:
        raise SmokeError(
            "`docker compose` is not available (install the compose plugin, or use --no-docker)"
        )
    info = _docker("info", "--format", "{{.ServerVersion}}", timeout_s=30)
    if info.returncode != 0:
        reason = info.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise SmokeError(f"the docker engine is not reachable: {reason[0]} (or use --no-docker)")


def smoke_docker(timeout_s: float) -> None:
    """Build and start the compose pair, check one score, always tear it down."""
    _preflight()
    try:  # `down` also after a failed or timed-out `up`: it may have started containers
        up = _compose("up", "-d", "--build", timeout_s=max(timeout_s, 900))
        if up.returncode != 0:
            raise SmokeError(f"docker compose up failed:\n{up.stderr.strip()[-2000:]}")
        url = f"http://127.0.0.1:{SCORER_PORT}"
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if requests.get(f"{url}/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                logs = _compose("logs", "--no-color", "--tail", "40", timeout_s=60).stdout
                raise SmokeError(f"the scorer was not live within {timeout_s:.0f} s:\n{logs}")
            time.sleep(0.5)
        print(f"smoke: scorer live at {url}", flush=True)
        status, answer = procs.score(url, {"text": TEXT})
        check_answer(status, answer, TEXT)
    finally:
        try:
            down = _compose("down", "--volumes", "--remove-orphans", timeout_s=120)
        except SmokeError as ex:
            print(f"smoke: docker compose down failed: {ex}", file=sys.stderr)
        else:
            if down.returncode != 0:
                print(f"smoke: docker compose down failed: {down.stderr.strip()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the smoke test; return 0 on success, 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--no-docker", action="store_true", help="the image's files in a fresh venv, no engine"
    )
    parser.add_argument("--timeout-s", type=float, default=60.0, help="readiness deadline")
    parser.add_argument(
        "--context",
        type=Path,
        default=ROOT,
        help="with --no-docker: the build context (default: this repository)",
    )
    args = parser.parse_args(argv)
    mode = "local processes" if args.no_docker else "docker compose"
    try:
        if args.no_docker:
            smoke_local(args.timeout_s, args.context.resolve())
        else:
            smoke_docker(args.timeout_s)
    except (SmokeError, procs.ProcessError, requests.RequestException, OSError) as ex:
        print(f"smoke FAILED ({mode}): {ex}", file=sys.stderr, flush=True)
        return 1
    print(f"smoke OK ({mode}): /score answered with the resolved secrets", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
