"""The retail backend as real services: an MCP server and an HTTP API with an OpenAPI document,
on 127.0.0.1, and the retail agent driven through either.

One uvicorn server (a background thread of this process) serves both, on one free port:

- ``/mcp``: an MCP server (the ``mcp`` SDK's low-level ``Server``, streamable HTTP) with one
  tool per retail action, annotated ``readOnlyHint``/``destructiveHint``;
- ``/openapi.json`` and ``/api/...``: the same actions as HTTP operations (``GET`` for reads,
  ``POST`` with a JSON body for writes).

Both run the very functions the in-process agent registers (:mod:`examples.retail.agent_tools`),
with the same authorisation: the service reads which database (``X-Tenant``) and which
authenticated user (``X-User``) a call is for from headers or ``_meta`` the *agent's
application* sets, never the model. Databases are registered with :meth:`RetailService.tenant`
(the eval registers each conversation's copy; its end state is read back from the same object).

Run the agent through a service::

    python -m examples.retail.services --backend mcp      # or openapi; a scripted demo
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal

import resolvekit as rk

from . import agent_tools as t
from .db import RetailDB

if TYPE_CHECKING:
    from resolvekit.toolsets import Toolset

__all__ = ["Backend", "RetailService", "remote_toolset", "service"]

Backend = Literal["mcp", "openapi"]
_SERVED = [tool for tool in t.AGENT_TOOLS]


class RetailService:
    """The retail actions served over MCP and HTTP, for any number of registered databases."""

    def __init__(self) -> None:
        self.port = 0
        self._tenants: dict[str, RetailDB] = {}
        self._tools = {tool.name: tool for tool in _SERVED}
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._server: Any = None
        self.calls = 0
        """Actions run so far (over either protocol)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tenant(self, db: RetailDB) -> str:
        """The id under which the service finds ``db`` (registered on first use)."""
        key = f"db{id(db)}"
        self._tenants[key] = db
        return key

    # -- running ---------------------------------------------------------------------------

    def start(self) -> RetailService:
        """Serve on a free port of 127.0.0.1 in a daemon thread (returns once listening)."""
        if self._thread is not None:
            return self
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._thread = threading.Thread(target=self._run, name="retail-service", daemon=True)
        self._thread.start()
        if not self._started.wait(60):
            raise RuntimeError("the retail service did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None

    def _run(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)

        async def serve() -> None:
            task = asyncio.create_task(self._server.serve())
            while not self._server.started and not task.done():  # noqa: ASYNC110 -- uvicorn's flag
                await asyncio.sleep(0.02)
            self._started.set()
            await task

        asyncio.run(serve())

    def app(self) -> Any:
        """The Starlette app: the MCP endpoint and the HTTP API."""
        from mcp.server.lowlevel import Server
        from starlette.requests import Request
        from starlette.responses import JSONResponse, Response
        from starlette.routing import Route

        server: Server[Any] = Server(
            "retail", on_list_tools=self._list_tools, on_call_tool=self._call_tool
        )

        async def openapi(request: Request) -> Response:
            return JSONResponse(self.openapi())

        async def operation(request: Request) -> Response:
            name = request.path_params["name"]
            if request.method == "GET":
                args: dict[str, Any] = dict(request.query_params)
            else:
                try:
                    args = await request.json()
                except ValueError:
                    return JSONResponse({"detail": "the body is not JSON"}, status_code=400)
            status, body = self.run(
                name, args, request.headers.get("x-tenant", ""), request.headers.get("x-user")
            )
            return JSONResponse(body, status_code=status)

        routes = [
            Route("/openapi.json", openapi),
            Route("/api/{name}", operation, methods=["GET", "POST"]),
        ]
        return server.streamable_http_app(
            stateless_http=True, json_response=True, custom_starlette_routes=routes
        )

    # -- one call, either way ----------------------------------------------------------------

    def run(
        self, name: str, args: dict[str, Any], tenant: str, user: str | None
    ) -> tuple[int, Any]:
        """Run one action for ``tenant`` as ``user``: ``(HTTP status, JSON body)``."""
        self.calls += 1
        tool = self._tools.get(name)
        db = self._tenants.get(tenant)
        if tool is None:
            return 404, {"detail": f"Unknown tool: {name}"}
        if db is None:
            return 403, {"detail": "unknown tenant"}
        try:
            model = tool.args_model.model_validate(args)
        except Exception as exc:
            return 422, {"detail": str(exc)}
        ctx = SimpleNamespace(deps=db, facts={"user_id": user} if user else {})
        kwargs = {k: getattr(model, k) for k in type(model).model_fields}
        try:
            result = tool.function(ctx, **kwargs)
        except rk.ToolRefusal as exc:
            return 409, {"detail": str(exc)}
        return 200, tool.dump_result(result)

    async def _list_tools(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        listed = []
        for tool in _SERVED:
            read = tool.effect == "read"
            listed.append(
                types.Tool(
                    name=tool.name,
                    description=tool.description,
                    input_schema=tool.parameters,
                    annotations=types.ToolAnnotations(
                        read_only_hint=read, destructive_hint=not read
                    ),
                )
            )
        return types.ListToolsResult(tools=listed)

    async def _call_tool(self, ctx: Any, params: Any) -> Any:
        from mcp import types

        meta = dict(ctx.meta or {}) if ctx.meta is not None else {}
        status, body = self.run(
            params.name, dict(params.arguments or {}), str(meta.get("tenant", "")),
            meta.get("user"),
        )  # fmt: skip
        if status != 200:
            text = body.get("detail", "error") if isinstance(body, dict) else str(body)
            return types.CallToolResult(
                content=[types.TextContent(type="text", text=text)], is_error=True
            )
        return types.CallToolResult(content=[types.TextContent(type="text", text=json.dumps(body))])

    def openapi(self) -> dict[str, Any]:
        """The HTTP API's OpenAPI 3.1 document."""
        paths: dict[str, Any] = {}
        components: dict[str, Any] = {}
        for tool in _SERVED:
            schema = _hoist(tool.parameters, components)
            output = _hoist(tool.result_adapter.json_schema(), components)
            operation: dict[str, Any] = {
                "operationId": tool.name,
                "summary": tool.description,
                "responses": {
                    "200": {"description": "the result",
                            "content": {"application/json": {"schema": output}}},
                    "409": {"description": "refused"},
                },
            }  # fmt: skip
            if tool.effect == "read":
                required = set(schema.get("required") or [])
                operation["parameters"] = [
                    {"name": n, "in": "query", "required": n in required, "schema": s}
                    for n, s in (schema.get("properties") or {}).items()
                ]
                paths[f"/{tool.name}"] = {"get": operation}
            else:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": schema}},
                }
                paths[f"/{tool.name}"] = {"post": operation}
        return {
            "openapi": "3.1.0",
            "info": {"title": "Retail backend", "version": "1"},
            "servers": [{"url": "/api"}],
            "paths": paths,
            "components": {"schemas": components},
        }


def _hoist(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Move a pydantic schema's ``$defs`` into the document's components (refs rewritten)."""
    text = json.dumps(schema).replace('"#/$defs/', '"#/components/schemas/')
    moved: dict[str, Any] = json.loads(text)
    components.update(moved.pop("$defs", {}))
    return moved


_SERVICE: list[RetailService] = []


def service() -> RetailService:
    """The process's retail service, started on first use."""
    if not _SERVICE:
        _SERVICE.append(RetailService().start())
    return _SERVICE[0]


_TOOLSETS: dict[str, Toolset] = {}


def remote_toolset(backend: Backend, svc: RetailService | None = None) -> Toolset:
    """The retail actions through ``backend``, as the agent's toolset (one per backend and
    process, shared by the agents built for each conversation: one connection).

    The application, not the service or the model, says which calls need the customer's yes:
    each tool keeps the effect and confirmation of its in-process declaration.
    """
    if svc is None and backend in _TOOLSETS:
        return _TOOLSETS[backend]
    made = _remote_toolset(backend, svc or service())
    if svc is None:
        _TOOLSETS[backend] = made
    return made


def _remote_toolset(backend: Backend, svc: RetailService) -> Toolset:
    from resolvekit.connect import MCPToolset, OpenAPIToolset

    def who(ctx: Any) -> dict[str, str]:
        user = ctx.facts.get("user_id") if ctx is not None else None
        tenant = svc.tenant(ctx.deps) if ctx is not None else ""
        return {"tenant": tenant, **({"user": str(user)} if user else {})}

    overrides = {
        tool.name: rk.ToolOverride(effect=tool.effect, confirm=tool.confirm, timeout=30.0)
        for tool in _SERVED
    }
    toolset: Toolset
    if backend == "mcp":
        toolset = MCPToolset.http(f"{svc.url}/mcp", name="retail-mcp", meta=who)
    else:

        def headers(ctx: Any) -> dict[str, str]:
            return {f"X-{k.capitalize()}": v for k, v in who(ctx).items()}

        toolset = OpenAPIToolset(f"{svc.url}/openapi.json", name="retail-openapi", auth=headers)
    return toolset.with_overrides(overrides)


def main() -> None:  # pragma: no cover - a demo
    import argparse

    from .agent import build_agent
    from .db import load_db

    parser = argparse.ArgumentParser(description="The retail agent through a real service.")
    parser.add_argument("--backend", choices=["mcp", "openapi"], default="mcp")
    args = parser.parse_args()

    async def demo() -> None:
        db = load_db()
        agent = build_agent(model="test", knowledge=False, backend=args.backend)
        async with agent:
            for text in ["what's the status of my order?", "my email is nope@example.com"]:
                result = await agent.handle("demo", text, deps=db)
                print(f"customer: {text}\nagent: {result.reply}")
        print(f"(tools served at {service().url}, {args.backend})")

    asyncio.run(demo())


if __name__ == "__main__":  # pragma: no cover
    main()
