"""Sample Azure ML scoring script: secrets injected by the platform, or fetched as a fallback.

``deployment.yml`` sets environment variables to secret-injection references. On Azure ML the
platform replaces them with values; locally (``azmlinfsrv``, local endpoints) they stay
references and ``secretinj_runtime`` fetches them with the managed identity. Either way
``init()`` ends with real values in ``os.environ`` and a report that names each variable's
source, never its value.

``run()`` takes ``{"text": "..."}``, asks the Azure OpenAI chat deployment of the connection,
and answers ``{"answer": ..., "secrets": {VARIABLE: source}}``. When the model API refuses
the key (401: rotated), it fetches the key again and retries once.
"""

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import requests

import secretinj_runtime as sir

logger = logging.getLogger("score")

REQUIRED = ("AOAI_ENDPOINT", "AOAI_API_KEY", "AOAI_API_VERSION")
OPTIONAL = ("AOAI_DEPLOYMENT", "OTHER_API_KEY", "DB_PASSWORD")
DEFAULT_DEPLOYMENT = "gpt-demo"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ChatClient:
    """A minimal Azure OpenAI chat-completions client (the key never appears in its repr)."""

    endpoint: str
    api_key: str = field(repr=False)
    api_version: str
    deployment: str

    def complete(self, text: str) -> requests.Response:
        """Send one user message; return the HTTP response as it is."""
        base = self.endpoint.rstrip("/")
        if not base.endswith("/openai"):  # a connection target is the resource URL
            base += "/openai"
        return requests.post(
            f"{base}/deployments/{self.deployment}/chat/completions",
            params={"api-version": self.api_version},
            headers={"api-key": self.api_key},
            json={"messages": [{"role": "user", "content": text}]},
            timeout=TIMEOUT_S,
        )


# azmlinfsrv loads this file without registering it as a module: keep annotations evaluated
# (no ``from __future__ import annotations``), or @dataclass cannot resolve them.
resolver: sir.SecretResolver | None = None
client: ChatClient | None = None
sources: dict[str, str] = {}


def init() -> None:
    """Resolve the secret variables (or fail naming each one and why); build the client."""
    global resolver, client, sources
    sir.configure_logging("score")  # azmlinfsrv prints no INFO line without it
    resolver = sir.SecretResolver()
    names = [*REQUIRED, *(name for name in OPTIONAL if name in os.environ)]
    report = resolver.resolve_environment(names)  # a failure names each variable and why
    logger.info("secret resolution: %s\n%s", report.summary(), report)
    sources = {name: status.source or "-" for name, status in report.variables.items()}
    client = _build_client(resolver)
    for name in REQUIRED:  # a fetched value can rotate: rebuild the client when it does
        if report.variables[name].status is sir.Status.RESOLVED:
            resolver.on_change(name, _rebuild_client)


def run(raw_data: str) -> Any:
    """Answer ``{"text": ...}`` with the model's reply and where each secret came from."""
    text = _text(raw_data)
    if text is None:
        return _error('expected a JSON body like {"text": "hello"}', 400)
    if resolver is None or client is None:
        return _error("the scoring script is not initialised (init() has not run)", 500)
    try:
        response = client.complete(text)
        if response.status_code == 401:  # the key was rotated: fetch it again, retry once
            logger.warning("the model API refused the key; fetching AOAI_API_KEY again")
            resolver.refresh()  # a new value fires on_change, which rebuilds the client
            resolver.get_secret("AOAI_API_KEY")
            response = client.complete(text)
        if response.status_code == 401:
            return _error("the model API refused AOAI_API_KEY, also after fetching it again", 502)
        if not response.ok:
            return _error(f"the model API answered {response.status_code}", 502)
        answer = response.json()["choices"][0]["message"]["content"]
    except sir.SecretInjectionError as ex:  # its message names the variable, never a value
        return _error(f"could not fetch AOAI_API_KEY again: {ex}", 502)
    except (ValueError, LookupError, TypeError):
        return _error("the model API answered in an unexpected shape", 502)
    except requests.RequestException as ex:
        return _error(f"the model API did not answer ({type(ex).__name__})", 502)
    return {"answer": answer, "secrets": sources}


def _build_client(res: sir.SecretResolver) -> ChatClient:
    return ChatClient(
        endpoint=res.get_secret("AOAI_ENDPOINT"),
        api_key=res.get_secret("AOAI_API_KEY"),
        api_version=res.get_secret("AOAI_API_VERSION"),
        deployment=res.get_secret("AOAI_DEPLOYMENT", DEFAULT_DEPLOYMENT),
    )


def _rebuild_client(name: str) -> None:
    """Rebuild the client after a refresh brought a new value of ``name`` (on_change)."""
    global client
    assert resolver is not None
    logger.info("%s has a new value; rebuilding the model API client", name)
    client = _build_client(resolver)


def _text(raw_data: str) -> str | None:
    try:
        body = json.loads(raw_data)
    except (TypeError, ValueError, RecursionError):  # any body it cannot parse is a 400
        return None
    text = body.get("text") if isinstance(body, dict) else None
    return text if isinstance(text, str) and text.strip() else None


def _error(message: str, status: int) -> Any:
    """Return an error answer: an AMLResponse under azmlinfsrv, a plain dict elsewhere."""
    logger.warning("answering %d: %s", status, message)
    try:
        from azureml_inference_server_http.api.aml_response import AMLResponse
    except ImportError:
        return {"error": message, "status": status}
    return AMLResponse({"error": message}, status, json_str=True)
