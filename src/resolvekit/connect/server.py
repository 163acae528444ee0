"""An agent as an MCP server: its tools, and the agent itself as a ``handle`` tool, for other
agents and MCP clients (``pip install resolvekit[connect]``).

::

    from resolvekit.connect.server import run_stdio, http_app

    run_stdio(agent)                       # python my_agent_server.py, spoken to over stdio
    app = http_app(agent)                  # a Starlette app: uvicorn app --host 127.0.0.1

The ``handle`` tool takes ``customer_id`` and ``text`` (and optionally ``channel`` and
``message_id``, so a client's redelivery is harmless) and returns the reply, the outcome and the
handoff if there is one: the conversation, confirmations and handoffs work exactly as on any
other channel. The agent's read tools are exposed too (``tools="read"``, the default; ``"all"``
adds its writes, which then run on the caller's say-so, as :meth:`Agent.call_tool` does;
``"none"`` exposes only ``handle``). A tool call acts for the customer named in the request's
``_meta`` (``resolvekit/customer_id``), ``"mcp"`` otherwise.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

from ..exceptions import ResolvekitError, ToolError
from ..handoffs import Handoff

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server
    from mcp.types import CallToolResult

    from ..agent import Agent

__all__ = ["CUSTOMER_META", "agent_server", "http_app", "run_stdio"]

CUSTOMER_META = "resolvekit/customer_id"
Exposed = Literal["read", "all", "none"]

HANDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "customer_id": {"type": "string", "description": "Who is writing (stable per customer)."},
        "text": {"type": "string", "description": "The customer's message."},
        "channel": {"type": "string", "default": "mcp"},
        "message_id": {
            "type": ["string", "null"],
            "description": "Your id for this delivery; a repeat returns the stored result.",
        },
    },
    "required": ["customer_id", "text"],
}


def agent_server(agent: Agent[Any], *, tools: Exposed = "read") -> Server[Any]:
    """The MCP server (the SDK's low-level ``Server``) of ``agent``; its lifespan warms the
    agent up and closes it."""
    from mcp import types
    from mcp.server.lowlevel import Server

    def exposed() -> dict[str, Any]:
        if tools == "none":
            return {}
        return {n: t for n, t in agent.tools.items() if tools == "all" or t.effect == "read"}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        listed = [
            types.Tool(
                name="handle",
                description=f"Send a customer's message to {agent.name} and get its reply.",
                input_schema=HANDLE_SCHEMA,
                annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=True),
            )
        ]
        for name, tool in exposed().items():
            read = tool.effect == "read"
            listed.append(
                types.Tool(
                    name=name,
                    description=tool.description,
                    input_schema=tool.parameters,
                    annotations=types.ToolAnnotations(
                        read_only_hint=read,
                        destructive_hint=not read,
                        idempotent_hint=read or tool.idempotent,
                    ),
                )
            )
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: Any) -> types.CallToolResult:
        args = dict(params.arguments or {})
        try:
            if params.name == "handle":
                value = await _handle(agent, args)
            elif params.name in exposed():
                meta = dict(ctx.meta or {}) if ctx.meta is not None else {}
                customer = str(meta.get(CUSTOMER_META) or "mcp")
                value = await agent.call_tool(params.name, args, customer_id=customer)
            else:
                return _error(f"Unknown tool: {params.name}")
        except ToolError as exc:
            return _error(exc.message)
        except ResolvekitError as exc:
            return _error(str(exc))
        text = json.dumps(value, default=str)
        structured = value if isinstance(value, dict) else None
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=structured
        )

    @contextlib.asynccontextmanager
    async def lifespan(server: Any) -> AsyncIterator[dict[str, Any]]:
        async with agent:
            yield {}

    return Server(agent.name, on_list_tools=list_tools, on_call_tool=call_tool, lifespan=lifespan)


async def _handle(agent: Agent[Any], args: dict[str, Any]) -> dict[str, Any]:
    customer, text = args.get("customer_id"), args.get("text")
    if not isinstance(customer, str) or not isinstance(text, str):
        raise ToolError("handle", "invalid_arguments", "customer_id and text must be strings")
    result = await agent.handle(
        customer,
        text,
        channel=str(args.get("channel") or "mcp"),
        message_id=args.get("message_id") or None,
    )
    handoff: Handoff | None = result.handoff
    return {
        "reply": result.reply,
        "outcome": result.outcome,
        "confidence": result.confidence,
        "question_id": result.question_id,
        "handoff": None if handoff is None else {"reason": handoff.reason},
        "duplicate": result.duplicate,
    }


def _error(message: str) -> CallToolResult:
    from mcp import types

    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )


def run_stdio(agent: Agent[Any], *, tools: Exposed = "read") -> None:
    """Serve ``agent`` over stdio until the client disconnects (the process's stdin/stdout)."""
    import anyio
    from mcp.server.stdio import stdio_server

    server = agent_server(agent, tools=tools)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def http_app(agent: Agent[Any], *, tools: Exposed = "read", path: str = "/mcp") -> Any:
    """A Starlette app serving ``agent`` over streamable HTTP at ``path``."""
    return agent_server(agent, tools=tools).streamable_http_app(streamable_http_path=path)
