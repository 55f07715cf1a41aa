"""A loopback HTTP server that speaks enough of the OpenAI and Anthropic APIs for the real SDKs.

`FakeServer` runs in a thread on 127.0.0.1 and records every request it receives (method, path,
query, headers, body), so tests can prove a request was sent or, for a refused call, that it never
reached the server. Routes:

* `POST /v1/chat/completions`: a chat completion, or with `"stream": true` an SSE stream of four
  chunks and `[DONE]`; the model `error-400` answers 400 with an OpenAI error body.
* `POST /v1/embeddings`: one embedding (base64 when the SDK asks for it, as it does by default).
* `POST /v1/messages`: an Anthropic message, or with `"stream": true` its SSE events.
* `POST /v1/messages/count_tokens`: `{"input_tokens": 7}`.
* `/status/<code>`: that status with a short text body; any other path answers 200 with
  `PLAIN_BODY`.

Test-only: it trusts its input and is never exposed beyond the loopback interface.
"""

from __future__ import annotations

import base64
import json
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["CHAT_TEXT", "PLAIN_BODY", "FakeServer", "Seen"]

PLAIN_BODY = b"plain body from the fake server\n"
CHAT_TEXT = ["hel", "lo"]
CREATED = 1_700_000_000


@dataclass(frozen=True)
class Seen:
    """One request as the server received it; header names are lower case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class FakeServer:
    """The server, started on construction; use it as a context manager to stop it."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def paths(self) -> list[str]:
        with self._lock:
            return [seen.path for seen in self.seen]

    def last(self) -> Seen:
        with self._lock:
            return self.seen[-1]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, the client's
    # delayed ACK would hold the body back by 40 ms.
    disable_nagle_algorithm = True
    fake: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        self.fake.record(
            Seen(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
        )
        route = _ROUTES.get((self.command, parts.path))
        if route is not None:
            status, content_type, payload = route(json.loads(body or b"{}"))
        elif parts.path.startswith("/status/"):
            status, content_type = int(parts.path.rpartition("/")[2]), "text/plain"
            payload = f"status {status}\n".encode()
        else:
            status, content_type, payload = 200, "text/plain", PLAIN_BODY
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


# --- OpenAI -----------------------------------------------------------------------------------

Reply = tuple[int, str, bytes]


def _json(value: object, status: int = 200) -> Reply:
    return status, "application/json", json.dumps(value).encode()


def _sse(events: Sequence[tuple[str | None, str]]) -> Reply:
    lines = []
    for event, data in events:
        if event is not None:
            lines.append(f"event: {event}\n")
        lines.append(f"data: {data}\n\n")
    return 200, "text/event-stream", "".join(lines).encode()


def chat_chunks(model: str) -> list[dict[str, Any]]:
    """The chunks `/v1/chat/completions` streams, as JSON objects."""
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": ""}, None),
        *(({"content": text}, None) for text in CHAT_TEXT),
        ({}, "stop"),
    ]
    return [
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        for delta, finish in deltas
    ]


def _chat(request: dict[str, Any]) -> Reply:
    model = str(request.get("model"))
    if model == "error-400":
        error = {"message": "this model is refused", "type": "invalid_request_error"}
        return _json({"error": error}, status=400)
    if request.get("stream"):
        return _sse(
            [(None, json.dumps(chunk)) for chunk in chat_chunks(model)] + [(None, "[DONE]")]
        )
    return _json(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(CHAT_TEXT)},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )


def _embeddings(request: dict[str, Any]) -> Reply:
    vector = [0.25, 0.5]
    embedding: object = vector
    if request.get("encoding_format") == "base64":
        embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return _json(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
            "model": request.get("model"),
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
    )


# --- Anthropic --------------------------------------------------------------------------------


def message_events(model: str) -> list[dict[str, Any]]:
    """The events `/v1/messages` streams, as JSON objects."""
    start: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 0},
    }
    return [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
            for t in CHAT_TEXT
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    ]


def _messages(request: dict[str, Any]) -> Reply:
    model = str(request.get("model"))
    if request.get("stream"):
        return _sse([(event["type"], json.dumps(event)) for event in message_events(model)])
    return _json(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "".join(CHAT_TEXT)}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 2},
        }
    )


_ROUTES: dict[tuple[str, str], Callable[[dict[str, Any]], Reply]] = {
    ("POST", "/v1/chat/completions"): _chat,
    ("POST", "/v1/embeddings"): _embeddings,
    ("POST", "/v1/messages"): _messages,
    ("POST", "/v1/messages/count_tokens"): lambda request: _json({"input_tokens": 7}),
}
