"""A scripted OpenAI-compatible HTTP server for tests (stdlib only, no network beyond 127.0.0.1).

It speaks ``POST /v1/chat/completions``: each request pops the next scripted :class:`Scripted`
response (status, headers, body, delay) and is recorded in :attr:`requests`. The real
``openai.AsyncOpenAI`` client talks to it over HTTP, so retries, timeouts, headers and error
bodies are exercised end to end.

A request with ``"stream": true`` gets a 200 body as Server-Sent Events, the way OpenAI streams
it: ``chat.completion.chunk`` objects (``data: {...}``, blank line), content and function
arguments cut every ``piece`` characters (so inside escapes, multibyte characters, keys),
``finish_reason``, a usage chunk when ``stream_options.include_usage`` asks, then
``data: [DONE]``; the bytes go out ``write_bytes`` at a time (so inside UTF-8 sequences), with
``chunk_delay`` between writes, chunked transfer encoding, and ``cut`` closes the connection
abruptly after that many bytes.

    with FakeOpenAIServer() as server:
        server.push(tool_call("reply", {"text": "hi"}))
        model = OpenAIModel("gpt-4.1-mini", base_url=server.url, api_key="test")
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FakeOpenAIServer",
    "Recorded",
    "Scripted",
    "completion",
    "error",
    "logprob_tokens",
    "sse_bytes",
    "stream_chunks",
    "tool_call",
]


@dataclass(kw_only=True)
class Scripted:
    """One scripted HTTP response."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (to provoke client timeouts)."""
    raw: bytes | None = None
    """Bytes sent as the body instead of ``json.dumps(body)`` (garbage, truncated JSON...)."""
    content_type: str = "application/json"
    """The ``content-type`` header; an empty string sends none."""
    cut: int | None = None
    """Announce the full ``content-length`` but close the connection after this many bytes
    (streamed: close it abruptly, without the last chunk of the chunked encoding)."""
    stream: bytes | None = None
    """Streamed answers: these SSE bytes instead of the chunks made from ``body``."""
    piece: int = 3
    """Streamed answers: characters of content or arguments per chunk."""
    write_bytes: int = 7
    """Streamed answers: bytes per write (flushed)."""
    chunk_delay: float = 0.0
    """Streamed answers: seconds between writes."""
    ascii: bool = False
    """Streamed answers: JSON with ``\\u`` escapes instead of raw UTF-8."""
    pause_at: int | None = None
    """Streamed answers: after this many bytes, wait ``pause`` seconds (or until ``resume``)."""
    pause: float = 0.0
    resume: threading.Event | None = None
    """Set by the test to end the pause early; :attr:`resumed` says whether it was."""
    resumed: bool | None = None


@dataclass(kw_only=True)
class Recorded:
    """One request the server received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeOpenAIServer:
    """Threaded HTTP server on a random free port of 127.0.0.1."""

    def __init__(self) -> None:
        self.queue: deque[Scripted] = deque()
        self.requests: list[Recorded] = []
        self.received = threading.Event()
        """Set once the first request has been recorded."""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def push(self, *responses: Scripted | dict[str, Any]) -> None:
        """Queue responses; a dict is a 200 JSON body."""
        for response in responses:
            self.queue.append(
                response if isinstance(response, Scripted) else Scripted(body=response)
            )

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests]

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wake handlers sleeping on a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                with server._lock:
                    server.requests.append(
                        Recorded(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=json.loads(raw or b"{}"),
                        )
                    )
                    server.received.set()
                    scripted = (
                        server.queue.popleft()
                        if server.queue
                        else Scripted(status=418, body={"error": {"message": "script exhausted"}})
                    )
                if self.path.rstrip("/") != "/v1/chat/completions":
                    scripted = Scripted(status=404, body={"error": {"message": "not found"}})
                if scripted.delay and server._stop.wait(scripted.delay):
                    return
                recorded = server.requests[-1].body
                if recorded.get("stream") and scripted.status == 200 and scripted.raw is None:
                    self._stream(scripted, recorded)
                    return
                payload = (
                    scripted.raw if scripted.raw is not None else json.dumps(scripted.body).encode()
                )
                try:
                    self.send_response(scripted.status)
                    if scripted.content_type:
                        self.send_header("content-type", scripted.content_type)
                    self.send_header("content-length", str(len(payload)))
                    for key, value in scripted.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if scripted.cut is None:
                        self.wfile.write(payload)
                    else:
                        self.wfile.write(payload[: scripted.cut])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def _stream(self, scripted: Scripted, request: dict[str, Any]) -> None:
                if scripted.stream is not None:
                    payload = scripted.stream
                else:
                    usage = (request.get("stream_options") or {}).get("include_usage", False)
                    chunks = stream_chunks(scripted.body, piece=scripted.piece, usage=usage)
                    payload = sse_bytes(chunks, ascii=scripted.ascii)
                if scripted.cut is not None:
                    payload = payload[: scripted.cut]
                self.protocol_version = "HTTP/1.1"
                self.close_connection = True
                try:
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("transfer-encoding", "chunked")
                    self.send_header("connection", "close")
                    self.end_headers()
                    for start in range(0, len(payload), scripted.write_bytes):
                        if scripted.pause_at is not None and start >= scripted.pause_at:
                            scripted.pause_at = None
                            self.wfile.flush()
                            if scripted.resume is not None:
                                scripted.resumed = scripted.resume.wait(scripted.pause)
                            elif server._stop.wait(scripted.pause):
                                return
                        part = payload[start : start + scripted.write_bytes]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        self.wfile.flush()
                        if scripted.chunk_delay and server._stop.wait(scripted.chunk_delay):
                            return
                    if scripted.cut is None:
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.connection.shutdown(socket.SHUT_RDWR)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def logprob_tokens(*pairs: tuple[str, float]) -> dict[str, Any]:
    """A ``logprobs`` member from ``(token, logprob)`` pairs."""
    return {
        "content": [
            {"token": t, "logprob": lp, "bytes": list(t.encode()), "top_logprobs": []}
            for t, lp in pairs
        ],
        "refusal": None,
    }


def completion(
    message: dict[str, Any],
    *,
    finish_reason: str = "stop",
    logprobs: dict[str, Any] | None = None,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    model: str = "gpt-4.1-mini-2025-04-14",
    usage: bool = True,
) -> dict[str, Any]:
    """A Chat Completions response body around one assistant ``message``."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, **message},
                "finish_reason": finish_reason,
                "logprobs": logprobs,
            }
        ],
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
    return body


def tool_call(
    name: str,
    arguments: dict[str, Any] | str,
    *,
    extra_calls: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    **kwargs: Any,
) -> dict[str, Any]:
    """A response calling function ``name`` (``arguments`` as an object or a raw string)."""
    calls = [(name, arguments), *extra_calls]
    return completion(
        {
            "tool_calls": [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {
                        "name": n,
                        "arguments": a if isinstance(a, str) else json.dumps(a),
                    },
                }
                for i, (n, a) in enumerate(calls)
            ]
        },
        finish_reason="tool_calls",
        **kwargs,
    )


def error(
    status: int, message: str, *, headers: dict[str, str] | None = None, **kw: Any
) -> Scripted:
    """An OpenAI-style error response."""
    return Scripted(
        status=status,
        body={"error": {"message": message, "type": "invalid_request_error", **kw}},
        headers=headers or {},
    )


def stream_chunks(body: dict[str, Any], *, piece: int = 3, usage: bool = True) -> list[Any]:
    """The ``chat.completion.chunk`` objects a streaming server sends for completion ``body``
    (as built by :func:`completion` or :func:`tool_call`): the role, the content and each tool
    call's arguments cut every ``piece`` characters, log-probabilities one token a chunk, the
    finish reason, then (``usage``) a last chunk with the usage and no choices."""
    choice = body["choices"][0]
    message = choice["message"]
    head = {"id": body.get("id", "chatcmpl-test"), "object": "chat.completion.chunk"}
    head |= {"created": body.get("created", 0), "model": body.get("model")}

    def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, **extra}]}

    chunks: list[Any] = [chunk({"role": "assistant", "content": ""})]
    content = message.get("content") or ""
    chunks += [chunk({"content": content[i : i + piece]}) for i in range(0, len(content), piece)]
    for n, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        first = {"index": n, "id": call.get("id"), "type": "function"}
        chunks.append(chunk({"tool_calls": [{**first, "function": {"name": function["name"]}}]}))
        arguments = function.get("arguments") or ""
        chunks += [
            chunk(
                {"tool_calls": [{"index": n, "function": {"arguments": arguments[i : i + piece]}}]}
            )
            for i in range(0, len(arguments), piece)
        ]
    for entry in (choice.get("logprobs") or {}).get("content") or []:
        chunks.append(chunk({}, logprobs={"content": [entry], "refusal": None}))
    chunks.append(chunk({}, finish_reason=choice.get("finish_reason") or "stop"))
    if usage and body.get("usage") is not None:
        chunks.append({**head, "choices": [], "usage": body["usage"]})
    return chunks


def sse_bytes(chunks: list[Any], *, ascii: bool = False, done: bool = True) -> bytes:
    """Chunks as Server-Sent Events (``data: <json>`` and a blank line each), then
    ``data: [DONE]``; a ``bytes`` item is sent as it is (a malformed event)."""
    out = b"".join(
        c if isinstance(c, bytes) else f"data: {json.dumps(c, ensure_ascii=ascii)}\n\n".encode()
        for c in chunks
    )
    return out + (b"data: [DONE]\n\n" if done else b"")
