"""A deterministic Azure OpenAI-like chat completions API guarded by a connection key."""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from secretinj_runtime.mock.envelopes import error_response
from secretinj_runtime.mock.hooks import mock_state, prelude

router = APIRouter()
ACCESS_DENIED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)


def message_text(content: object) -> str | None:
    """Return the text of a chat message content (a string or a list of text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        texts = [p for p in parts if isinstance(p, str)]
        return " ".join(texts) if texts else None
    return None


def _words(text: str) -> int:
    return len(text.split())


def _parse_messages(raw: bytes) -> list[dict[str, Any]] | str:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "The request body is not valid JSON."
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array."
    if not all(isinstance(m, dict) for m in messages):
        return "Each item of 'messages' must be an object."
    return messages


@router.post("/openai/deployments/{deployment}/chat/completions")
async def chat_completions(request: Request, deployment: str) -> Response:
    """Echo the last user message: ``You said: <text> (<n> words)``, with a usage block."""
    state = mock_state(request)
    early = await prelude(request, "downstream", deployment)
    if early is not None:
        return early
    expected = state.downstream_key()
    presented = request.headers.get("api-key", "")
    if expected is None or not secrets.compare_digest(presented.encode(), expected.encode()):
        return error_response(401, "401", ACCESS_DENIED)
    if not request.query_params.get("api-version"):
        return error_response(
            400, "MissingApiVersion", "The api-version query parameter is required."
        )
    messages = _parse_messages(await request.body())
    if isinstance(messages, str):
        return error_response(400, "BadRequest", messages)
    user_texts = [message_text(m.get("content")) for m in messages if m.get("role") == "user"]
    if not user_texts or user_texts[-1] is None:
        return error_response(400, "BadRequest", "No user message with text content was found.")
    text = user_texts[-1]
    content = f"You said: {text} ({_words(text)} words)"
    prompt_tokens = sum(_words(message_text(m.get("content")) or "") for m in messages)
    completion_tokens = _words(content)
    number = state.log.count("downstream") + 1
    return JSONResponse(
        {
            "id": f"chatcmpl-mock-{number}",
            "object": "chat.completion",
            "created": int(state.now()),
            "model": deployment,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )
