"""Vendor-shaped helpdesk servers for the delivery tests, in one Starlette app under uvicorn on
127.0.0.1 and a free port: a signed-webhook receiver, Zendesk's ticket creation and Freshdesk's
ticket, note, search and conversation endpoints. Every request body is validated against the
JSON Schema written from the vendor's published docs (``schemas/``), every auth header checked;
faults are injected per request (``faults``) and the server can be stopped and started again on
the same port (a helpdesk down for an hour)."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolvekit.helpdesk import SIGNATURE_HEADER, verify_signature

SCHEMAS = Path(__file__).parent / "schemas"
SECRET = "s3cret-signing-key-0123456789"
ZENDESK_AUTH = "agent@acme.test/token:zd-token"
FRESHDESK_KEY = "fd-key"


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


def _basic(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if not header.startswith("Basic "):
        return None
    return base64.b64decode(header[6:]).decode()


@dataclass
class Helpdesk:
    """The receivers' state: what they accepted, what they refused, and faults to inject."""

    faults: list[Any] = field(default_factory=list)
    """Consumed one per POST: ``500``, ``422``, ``(429, retry_after)``, ``"slow"`` (process the
    request, then answer after the client's timeout: the acknowledgement is lost), ``"no_id"``
    (Freshdesk answers 201 without the ticket id)."""
    slow_seconds: float = 2.0
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    posts: int = 0
    rejected: list[str] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    """The receiver's clock for signature checks (follows the sender's simulated clock)."""

    def _fault(self) -> Any:
        self.posts += 1
        return self.faults.pop(0) if self.faults else None

    async def _apply(self, fault: Any) -> Response | None:
        if fault == 500:
            return JSONResponse({"error": "boom"}, status_code=500)
        if fault == 422:
            return JSONResponse({"error": "RecordInvalid"}, status_code=422)
        if isinstance(fault, tuple) and fault[0] == 429:
            return Response(status_code=429, headers={"Retry-After": str(fault[1])})
        return None

    def _invalid(self, body: Any, name: str) -> Response | None:
        try:
            jsonschema.validate(body, schema(name))
        except jsonschema.ValidationError as exc:
            self.rejected.append(f"{name}: {exc.message}")
            return JSONResponse({"error": exc.message}, status_code=400)
        return None

    async def webhook(self, request: Request) -> Response:
        fault = self._fault()
        raw = await request.body()
        now = self.clock()
        if not verify_signature(SECRET, raw, request.headers.get(SIGNATURE_HEADER), now=now):
            self.rejected.append("webhook: bad signature")
            return Response(status_code=401)
        if (answer := await self._apply(fault)) is not None:
            return answer
        key = request.headers.get("idempotency-key")
        if not key:
            self.rejected.append("webhook: no idempotency key")
            return Response(status_code=400)
        if key not in self.keys:  # the receiver dedupes on the key
            self.keys[key] = True
            self.webhooks.append(json.loads(raw))
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        return Response(status_code=202)

    async def zendesk_create(self, request: Request) -> Response:
        fault = self._fault()
        if _basic(request) != ZENDESK_AUTH:
            self.rejected.append("zendesk: bad auth")
            return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
        if (answer := await self._apply(fault)) is not None:
            return answer
        body = await request.json()
        if (invalid := self._invalid(body, "zendesk_create_ticket")) is not None:
            return invalid
        key = request.headers.get("idempotency-key")
        if key and key in self.keys:  # Zendesk replays the first answer for a known key
            ticket_id = self.keys[key]
        else:
            ticket_id = len(self.tickets) + 1
            self.tickets[ticket_id] = body["ticket"]
            if key:
                self.keys[key] = ticket_id
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        return JSONResponse({"ticket": {"id": ticket_id}}, status_code=201)

    def _freshdesk_auth(self, request: Request) -> Response | None:
        if _basic(request) != f"{FRESHDESK_KEY}:X":
            self.rejected.append("freshdesk: bad auth")
            return JSONResponse({"code": "invalid_credentials"}, status_code=401)
        return None

    async def freshdesk_create(self, request: Request) -> Response:
        fault = self._fault()
        if (denied := self._freshdesk_auth(request)) is not None:
            return denied
        if (answer := await self._apply(fault)) is not None:
            return answer
        body = await request.json()
        if (invalid := self._invalid(body, "freshdesk_create_ticket")) is not None:
            return invalid
        if fault == "no_id":  # a 2xx the client cannot read (a proxy's page, a changed API)
            return JSONResponse({"ok": True}, status_code=201)
        ticket_id = len(self.tickets) + 1
        self.tickets[ticket_id] = body  # Freshdesk does not dedupe: the client must
        self.notes[ticket_id] = []
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        return JSONResponse({"id": ticket_id, **body}, status_code=201)

    async def freshdesk_note(self, request: Request) -> Response:
        fault = self._fault()
        if (denied := self._freshdesk_auth(request)) is not None:
            return denied
        ticket_id = int(request.path_params["id"])
        if ticket_id not in self.tickets:
            return JSONResponse({"code": "not_found"}, status_code=404)
        if (answer := await self._apply(fault)) is not None:
            return answer
        body = await request.json()
        if (invalid := self._invalid(body, "freshdesk_create_note")) is not None:
            return invalid
        self.notes[ticket_id].append(body)
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        return JSONResponse({"id": 100 + ticket_id, **body}, status_code=201)

    async def freshdesk_search(self, request: Request) -> Response:
        if (denied := self._freshdesk_auth(request)) is not None:
            return denied
        query = request.query_params.get("query", "")
        tag = query.split("tag:'", 1)[1].split("'", 1)[0] if "tag:'" in query else None
        found = [{"id": i} for i, t in self.tickets.items() if tag in t.get("tags", [])]
        return JSONResponse({"results": found, "total": len(found)})

    async def freshdesk_conversations(self, request: Request) -> Response:
        if (denied := self._freshdesk_auth(request)) is not None:
            return denied
        return JSONResponse(self.notes.get(int(request.path_params["id"]), []))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hook", self.webhook, methods=["POST"]),
                Route("/api/v2/tickets.json", self.zendesk_create, methods=["POST"]),
                Route("/api/v2/tickets", self.freshdesk_create, methods=["POST"]),
                Route("/api/v2/tickets/{id:int}/notes", self.freshdesk_note, methods=["POST"]),
                Route("/api/v2/search/tickets", self.freshdesk_search, methods=["GET"]),
                Route(
                    "/api/v2/tickets/{id:int}/conversations",
                    self.freshdesk_conversations,
                    methods=["GET"],
                ),
            ]
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Served:
    """The app under uvicorn in a thread; stop() and start() again on the same port."""

    def __init__(self, helpdesk: Helpdesk) -> None:
        self.helpdesk = helpdesk
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 60.0) -> None:
        config = uvicorn.Config(
            self.helpdesk.app(), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the helpdesk server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(30)
            self._server = self._thread = None
