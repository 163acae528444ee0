"""The Starlette application: routes, errors, CORS, lifespan (see ``docs/serving.md``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import InternalError, ResolvekitError, UserError
from .auth import Gate
from .body import MessageIn, ResumeIn, read_body
from .config import ServeConfig, ServedAgent
from .errors import ApiError, error_for, error_response
from .feed import Cursor, Feed
from .stream import LiveEvents
from .traces import TraceRoute
from .turns import Turns, result_json
from .views import conversation_json

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

    from ..sessions import Conversation

__all__ = ["STATIC", "create_app"]

log = logging.getLogger("resolvekit.serve")

STATIC = Path(__file__).with_name("static")
"""The web chat's files (``widget.js``, ``demo.html``), served at ``/widget.js`` and ``/demo``."""

READY_TIMEOUT = 5.0
Handler = Callable[["Request"], Awaitable["Response"]]


def create_app(agent: ServedAgent, config: ServeConfig | None = None, **options: Any) -> Starlette:
    """An ASGI application serving ``agent`` over HTTP (run it with uvicorn).

    Args:
        agent: the :class:`~resolvekit.Agent` to serve (warmed up at start-up, closed at
            shutdown).
        config: the settings; or give them as keywords (the fields of :class:`ServeConfig`:
            ``api_keys``, ``authorize``, ``cors_origins``, ``max_body_bytes``,
            ``customer_rate``, ``key_rate``...).

    Raises:
        UserError: an unknown option.
    """
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    known = {f.name for f in dataclasses.fields(ServeConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(f"Unknown serve option(s) {unknown}; known: {sorted(known)}")
    config = dataclasses.replace(config or ServeConfig(), **options)
    if not config.api_keys and config.authorize is None:
        log.warning("serving agent %r with no api_keys and no authorize: open", agent.name)
    service = _Service(agent, config)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await agent.warm_up()
        try:
            yield
        finally:
            left = await service.turns.drain(config.drain_timeout)
            if left:
                log.warning("%d turn(s) still running at shutdown", left)
            await agent.close()

    customer = "/v1/customers/{customer_id}"
    routes: list[BaseRoute] = [
        Route("/healthz", service.healthz, methods=["GET"]),
        Route("/readyz", service.readyz, methods=["GET"]),
        Route(f"{customer}/messages", _api(service.message), methods=["POST"]),
        Route(f"{customer}/messages", _api(service.feed.messages), methods=["GET"]),
        Route(f"{customer}/messages/stream", _api(service.stream), methods=["POST"]),
        Route(f"{customer}/conversation", _api(service.conversation), methods=["GET"]),
        Route(f"{customer}/handoff", _api(service.handoff), methods=["GET"]),
        Route(f"{customer}/trace", _api(service.traces.trace), methods=["GET"]),
        Route("/v1/handoffs/resume", _api(service.resume), methods=["POST"]),
    ]
    if config.channels is not None:
        from .channels import channel_routes

        hooks = channel_routes(agent, service.turns, service.gate, config, config.channels)
        routes += [Route(path, _api(handler), methods=["POST"]) for path, handler in hooks]
    if config.static:
        routes += [
            Route("/widget.js", _static("widget.js", "text/javascript"), methods=["GET"]),
            Route("/demo", _static("demo.html", "text/html"), methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(config.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Accept"],
                max_age=600,
            )
        )
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.state.resolvekit = service
    return app


def _api(handler: Handler) -> Handler:
    """``handler`` with every failure turned into the one error body."""

    async def call(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error_response(error)
        except ResolvekitError as exc:
            if isinstance(exc, InternalError):
                log.error("%s %s failed: %s", request.method, request.url.path, exc)
            return error_response(error_for(exc))
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return error_response(ApiError(500, "internal", "the request failed"))

    return call


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(404, "not_found", f"no route {request.url.path}"))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return error_response(ApiError(405, "method_not_allowed", f"{request.method} not allowed"))


def _static(name: str, media_type: str) -> Handler:
    async def serve(request: Request) -> Response:
        from starlette.responses import FileResponse

        path = STATIC / name
        if not path.is_file():
            return error_response(ApiError(404, "not_found", f"{name} is not installed"))
        return FileResponse(path, media_type=media_type)

    return serve


class _Service:
    """The route handlers, sharing the agent, the gate and the turns in flight."""

    def __init__(self, agent: ServedAgent, config: ServeConfig) -> None:
        self.agent = agent
        self.config = config
        self.gate = Gate(config)
        self.turns = Turns(agent, config.recent_traces)
        self.feed = Feed(agent, self.gate, self.turns, config.feed_interval)
        self.traces = TraceRoute(agent, self.gate, self.turns)

    async def healthz(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """Ready when the store answers (and the server is not shutting down)."""
        from starlette.responses import JSONResponse

        if self.turns.draining:
            return error_response(ApiError(503, "shutting_down", "the server is shutting down"))
        try:
            await asyncio.wait_for(
                self.agent.store.open_conversation("__resolvekit_readyz__"), READY_TIMEOUT
            )
        except Exception as exc:
            return error_response(
                ApiError(
                    503, "not_ready", f"the store is down: {type(exc).__name__}", retry_after=2
                )
            )
        return JSONResponse({"status": "ready"})

    async def _start(self, request: Request, *, observer: LiveEvents | None = None) -> Any:
        customer_id = await self.gate.customer(request)
        body = await read_body(request, MessageIn, self.config.max_body_bytes)
        await self.gate.message(customer_id)
        deps = None
        if self.config.deps is not None:
            deps = self.config.deps(request, customer_id, body.metadata or {})
        return self.turns.start(
            customer_id,
            body.text,
            channel=body.channel,
            message_id=body.message_id,
            reply_to=body.reply_to,
            deps=deps,
            observer=observer,
        )

    async def message(self, request: Request) -> Response:
        """One message in, the turn's result out."""
        from starlette.responses import JSONResponse

        task = await self._start(request)
        # shielded: a client that leaves does not cancel the turn; it is stored all the same
        result = await asyncio.shield(task)
        return JSONResponse(result_json(self.agent, result))

    async def stream(self, request: Request) -> Response:
        """One message in, Server-Sent Events out (``docs/serving.md``)."""
        from starlette.responses import StreamingResponse

        live = LiveEvents(self.agent)
        task = await self._start(request, observer=live)
        await live.first(task)
        return StreamingResponse(
            live.events(task),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _conversation(self, request: Request) -> Conversation:
        customer_id = await self.gate.customer(request)
        found = await self.agent.conversation(customer_id)
        if found is None:
            raise ApiError(404, "no_conversation", "this customer has no open conversation")
        return found

    async def conversation(self, request: Request) -> Response:
        """The open conversation: transcript, slots, status, the open question, and the cursor
        of its end for ``GET .../messages``."""
        from starlette.responses import JSONResponse

        found = await self._conversation(request)
        data = self._redact(conversation_json(self.agent, found))
        data["cursor"] = Cursor.after(found, len(found.transcript)).encode()  # not redacted
        return JSONResponse(data)

    async def handoff(self, request: Request) -> Response:
        """The handoff packet of a conversation a person has (without its resume token)."""
        from starlette.responses import JSONResponse

        from ..handoffs import Handoff, redact_handoff

        found = await self._conversation(request)
        if found.status != "handed_off" or not found.handoff:
            raise ApiError(404, "no_handoff", "the conversation is not with a person")
        packet = redact_handoff(Handoff.model_validate(found.handoff), self.agent.redaction)
        data = packet.model_dump(mode="json")
        data.pop("resume_token", None)  # for the human's desk, not for the customer's client
        return JSONResponse(data)

    async def resume(self, request: Request) -> Response:
        """A person gives a handed-off conversation back to the agent."""
        from starlette.responses import JSONResponse

        await self.gate.caller(request, None)
        body = await read_body(request, ResumeIn, self.config.max_body_bytes)
        try:
            conversation = await self.agent.resume(
                body.token, note=body.note, continue_request=body.continue_request
            )
        except UserError as exc:
            raise ApiError(404, "unknown_token", str(exc)) from None
        return JSONResponse(self._redact(conversation_json(self.agent, conversation)))

    def _redact(self, data: dict[str, Any]) -> dict[str, Any]:
        redactor = self.agent.redaction
        return data if redactor is None else redactor.redact_value(data)
