"""An agent as an MCP server: a client (MCPToolset) sees its read tools and a ``handle`` tool,
talks to the agent through it (confirmation included) and calls its tools."""

from __future__ import annotations

import sys
from typing import TextIO

import pytest

import resolvekit as rk
from resolvekit.connect import MCPToolset

from .conftest import SERVERS


async def test_agent_served_over_mcp_stdio(devnull: TextIO) -> None:
    toolset = MCPToolset.stdio(
        sys.executable,
        [str(SERVERS / "agent_server.py")],
        errlog=devnull,
        timeout=60,
    )
    try:
        await toolset.start()
        tools = toolset.tools()
        assert set(tools) == {"handle", "get_order"}  # the write is not exposed by default
        assert tools["get_order"].effect == "read"
        assert tools["handle"].effect == "write"
        handle = tools["handle"]
        first = await handle.invoke(
            None, {"customer_id": "c1", "text": "cancel order W1234567, no longer needed"}, None
        )
        assert first["outcome"] == "awaiting_customer", first
        assert "W1234567" in first["reply"]
        done = await handle.invoke(None, {"customer_id": "c1", "text": "yes"}, None)
        assert done["outcome"] == "resolved", done
        order = await tools["get_order"].invoke(None, {"order_id": "W1234567"}, None)
        assert order["status"] == "cancelled"
        with pytest.raises(rk.ToolError) as info:
            await tools["get_order"].invoke(None, {"order_id": "W0000000"}, None)
        assert info.value.kind in ("refused", "exception")
    finally:
        await toolset.close()
