"""Connected systems as toolsets: MCP servers and OpenAPI services, behind the same gates as
Python tools (``pip install resolvekit[connect]``; the SDKs are imported when first used).

- :class:`MCPToolset`: the tools of an MCP server, over stdio or streamable HTTP.
- :class:`OpenAPIToolset`: one tool per operation of an OpenAPI 3.0/3.1 document;
  :class:`ClientCredentials` authenticates it with OAuth client credentials.
- :class:`SchemaTool`: a tool described by JSON Schemas, for other connectors.

See docs/connecting.md.
"""

from __future__ import annotations

from ._schema import SchemaTool
from .mcp import MCPToolset
from .oauth import ClientCredentials
from .openapi import OpenAPIToolset, api_key, bearer

__all__ = ["ClientCredentials", "MCPToolset", "OpenAPIToolset", "SchemaTool", "api_key", "bearer"]
