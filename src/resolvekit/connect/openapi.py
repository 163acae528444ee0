"""An OpenAPI 3.0/3.1 service as a toolset: one tool per operation (``httpx2``, ``jsonschema``;
``pip install resolvekit[connect]``).

::

    shop = OpenAPIToolset("https://shop.internal/openapi.json",
                          auth=bearer(lambda ctx: ctx.deps.shop_token))
    agent = rk.Agent("Support", toolsets=[shop.prefixed("shop")])

- **Tools.** The tool's name is the ``operationId`` (or ``method_path``); its arguments are the
  path, query and header parameters and, flattened, the properties of a JSON request body (a
  body that is not an object, or whose names clash, is the ``body`` argument). Everything is
  checked against the document's schemas before a request leaves.
- **Effects.** ``GET``/``HEAD`` are reads; any other method is a write that needs the
  customer's yes (change it with :class:`~resolvekit.ToolOverride`). Every write carries the
  engine's key in an ``Idempotency-Key`` header; ``PUT``, ``DELETE`` and operations that declare
  that header are idempotent (retried and recovered with the same key).
- **Auth** comes from the application (``auth=``: headers from the context, e.g. a token in
  ``ctx.deps``), never from the document or the model.
- **Faults.** Timeouts per attempt; ``429``/``503`` retried honouring ``Retry-After``; a broken
  connection after the request left, or a ``5xx``, is retried for reads and idempotent writes
  and is ``unknown_outcome`` for other writes; ``400``/``422`` are ``invalid_arguments``, other
  ``4xx`` ``refused`` with the service's message; bodies over ``max_response_bytes``, invalid
  JSON or a body that does not fit the response schema are ``bad_result``.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import RetryableToolError, ToolError, ToolRefusal, UserError
from ..tools import RetryPolicy, Tool
from ..toolsets import Toolset
from ._schema import BadResult, Dropped, SchemaTool, Unreachable, check_result

if TYPE_CHECKING:
    import httpx2

__all__ = ["Auth", "OpenAPIToolset", "api_key", "bearer"]

Auth = Callable[[Any], "Mapping[str, str] | Awaitable[Mapping[str, str]]"]
"""``auth(ctx)``: the headers that authenticate a request (sync or async)."""

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
IDEMPOTENCY_HEADER = "Idempotency-Key"


def bearer(token: Callable[[Any], str]) -> Auth:
    """``Authorization: Bearer <token(ctx)>``."""
    return lambda ctx: {"Authorization": f"Bearer {token(ctx)}"}


def api_key(header: str, key: Callable[[Any], str]) -> Auth:
    """An API key in ``header`` (``X-API-Key: <key(ctx)>``)."""
    return lambda ctx: {header: key(ctx)}


class OpenAPIToolset(Toolset):
    """The operations of an HTTP service described by an OpenAPI document.

    Args:
        document: the document: a URL, a file (JSON or YAML) or the parsed mapping.
        base_url: where requests go (default: the document's first server, resolved against
            the document's URL).
        auth: headers for every request from the context (:func:`bearer`, :func:`api_key`).
        name: the toolset's name.
        timeout: seconds per attempt (default 30).
        retry: the retry policy of reads and idempotent writes (default: 3 attempts).
        max_response_bytes: longer bodies are refused as ``bad_result`` (default 1 MB).
        client: an ``httpx2.AsyncClient`` to use (default: one made on start).
    """

    def __init__(
        self,
        document: str | Path | Mapping[str, Any],
        *,
        base_url: str | None = None,
        auth: Auth | None = None,
        name: str = "openapi",
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        max_response_bytes: int = 1_000_000,
        client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self._document = document
        self._base_url = base_url
        self._auth = auth
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._max_bytes = max_response_bytes
        self._client = client
        self._own_client = client is None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._tools: Mapping[str, Tool[Any]] = {}

    def tools(self) -> Mapping[str, Tool[Any]]:
        return self._tools

    async def start(self) -> None:
        """Load the document (fetched when it is a URL) and make the tools.

        Raises:
            UserError: the document cannot be read or is not OpenAPI 3.
        """
        if self._tools:
            return
        spec, origin = await self._load()
        version = str(spec.get("openapi", ""))
        if not version.startswith("3."):
            raise UserError(f"{self.name}: not an OpenAPI 3 document (openapi: {version!r})")
        if self._base_url is None:
            servers = spec.get("servers") or [{"url": "/"}]
            self._base_url = _join(origin, str(servers[0].get("url", "/")))
        self._tools = {t.name: t for t in _operations(spec, self._tool)}

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._own_client:
            await client.aclose()

    async def _load(self) -> tuple[dict[str, Any], str]:
        document = self._document
        if isinstance(document, Mapping):
            return dict(document), self._base_url or ""
        text = str(document)
        if re.match(r"https?://", text):
            try:
                response = await (await self._http()).get(text)
                response.raise_for_status()
            except Exception as exc:
                raise UserError(f"{self.name}: cannot fetch {text}: {exc}") from exc
            return _parse(response.text, text), text
        try:
            content = await asyncio.to_thread(Path(text).read_text, encoding="utf-8")
            return _parse(content, text), ""
        except OSError as exc:
            raise UserError(f"{self.name}: cannot read {text}: {exc}") from exc

    async def _http(self) -> httpx2.AsyncClient:
        import httpx2

        loop = asyncio.get_running_loop()
        if self._own_client and (self._client is None or self._client_loop is not loop):
            self._client = httpx2.AsyncClient(timeout=httpx2.Timeout(self._timeout or 300.0))
            self._client_loop = loop
        assert self._client is not None
        return self._client

    def _tool(self, op: _Operation) -> SchemaTool:
        write = op.method not in ("get", "head")
        tool = SchemaTool(
            name=op.name,
            remote_name=op.name,
            description=op.description,
            effect="write" if write else "read",
            confirm=write,
            timeout=self._timeout,
            retry=self._retry,
            idempotent=op.method in ("put", "delete") or op.key_param is not None,
            input_schema=op.input_schema,
            output_schema=op.output_schema,
            key_param=op.key_param,
            send=_unbound,
        )
        tool.send = self._sender(op, tool)
        return tool

    def _sender(self, op: _Operation, tool: SchemaTool) -> Any:
        async def send(ctx: Any, args: dict[str, Any], key: str | None) -> Any:
            import httpx2

            headers: dict[str, str] = {"Accept": "application/json"}
            if self._auth is not None:
                found = self._auth(ctx)
                headers.update(await found if inspect.isawaitable(found) else found)
            if tool.effect == "write" and key:
                headers[IDEMPOTENCY_HEADER] = key
            path, query, body = op.path, {}, None
            for name, value in args.items():
                where = op.places.get(name, "body")
                if where == "path":
                    path = path.replace("{" + name + "}", _quote(value))
                elif where == "query":
                    query[name] = value if not isinstance(value, bool) else str(value).lower()
                elif where == "header":
                    headers[name] = str(value)
                elif where == "whole_body":
                    body = value
                else:
                    body = {**(body or {}), name: value}
            client = await self._http()
            url = (self._base_url or "").rstrip("/") + path
            try:
                request = client.build_request(
                    op.method.upper(), url, params=query, headers=headers, json=body
                )
                response = await client.send(request, stream=True)
            except (httpx2.ConnectError, httpx2.ConnectTimeout) as exc:
                raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
            except httpx2.TimeoutException as exc:
                raise TimeoutError(str(exc)) from exc
            except httpx2.TransportError as exc:
                raise Dropped(f"{type(exc).__name__}: {exc}") from exc
            try:
                data = await self._read(response)
            finally:
                await response.aclose()
            return self._result(tool, response.status_code, response.headers, data)

        return send

    async def _read(self, response: Any) -> bytes:
        import httpx2

        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_bytes:
                    raise BadResult(f"the response is longer than {self._max_bytes} bytes")
                chunks.append(chunk)
        except httpx2.TimeoutException as exc:
            raise TimeoutError(str(exc)) from exc
        except httpx2.TransportError as exc:
            raise Dropped(f"{type(exc).__name__}: {exc}") from exc
        return b"".join(chunks)

    def _result(self, tool: SchemaTool, status: int, headers: Any, data: bytes) -> Any:
        text = data.decode("utf-8", errors="replace")
        if 200 <= status < 300:
            if not data.strip():
                return None
            try:
                value = json.loads(text)
            except ValueError:
                if "json" in headers.get("content-type", ""):
                    raise BadResult("the response is not valid JSON") from None
                return text
            return check_result(tool.output_schema, value)
        message = _message(text) or f"HTTP {status}"
        if status in (429, 503):
            raise RetryableToolError(message, retry_after=_retry_after(headers))
        if status >= 500:
            if tool.effect == "write":
                raise Dropped(f"HTTP {status}: {message}")
            raise RetryableToolError(f"HTTP {status}: {message}")
        if status in (400, 422):
            raise ToolError(tool.name, "invalid_arguments", message)
        raise ToolRefusal(message)


class _Operation:
    def __init__(self, name: str, method: str, path: str, description: str) -> None:
        self.name, self.method, self.path, self.description = name, method, path, description
        self.places: dict[str, str] = {}
        """Where each argument goes: path, query, header, body (one property), whole_body."""
        self.input_schema: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        self.output_schema: dict[str, Any] | None = None
        self.key_param: str | None = None


def _operations(spec: dict[str, Any], build: Callable[[_Operation], SchemaTool]) -> list[Tool[Any]]:
    resolve = _Resolver(spec)
    tools: list[Tool[Any]] = []
    for path, item in (spec.get("paths") or {}).items():
        item = resolve(item)
        shared = item.get("parameters") or []
        for method in METHODS:
            raw = item.get(method)
            if raw is None:
                continue
            raw = resolve(raw)
            name = raw.get("operationId") or f"{method}_{_slug(path)}"
            text = raw.get("summary") or raw.get("description") or f"{method.upper()} {path}"
            op = _Operation(_slug(name), method, path, str(text).strip())
            _parameters(op, [resolve(p) for p in [*shared, *(raw.get("parameters") or [])]])
            _body(op, resolve(raw.get("requestBody") or {}))
            op.output_schema = _response_schema(resolve(raw.get("responses") or {}), resolve)
            tools.append(build(op))
    return tools


def _parameters(op: _Operation, params: list[dict[str, Any]]) -> None:
    props, required = op.input_schema["properties"], op.input_schema["required"]
    for param in params:
        name, where = str(param.get("name")), str(param.get("in"))
        if where not in ("path", "query", "header"):
            continue
        if where == "header" and name.lower() == IDEMPOTENCY_HEADER.lower():
            op.key_param = name  # the engine's key, not the model's
        props[name] = dict(param.get("schema") or {})
        if param.get("description"):
            props[name]["description"] = param["description"]
        op.places[name] = where
        if (param.get("required") or where == "path") and name not in required:
            required.append(name)


def _body(op: _Operation, body: dict[str, Any]) -> None:
    content = (body.get("content") or {}).get("application/json")
    if content is None:
        return
    schema = dict(content.get("schema") or {})
    props, required = op.input_schema["properties"], op.input_schema["required"]
    inner = schema.get("properties")
    if schema.get("type", "object") == "object" and inner and not set(inner) & set(props):
        for name, sub in inner.items():
            props[name] = sub
            op.places[name] = "body"
        required.extend(r for r in schema.get("required") or [] if r not in required)
    else:
        props["body"] = schema
        op.places["body"] = "whole_body"
        if body.get("required"):
            required.append("body")


def _response_schema(responses: dict[str, Any], resolve: _Resolver) -> dict[str, Any] | None:
    for code in ("200", "201", "202", "2XX", "default"):
        found = resolve(responses.get(code) or {})
        content = (found.get("content") or {}).get("application/json")
        if content is not None and content.get("schema"):
            return dict(content["schema"])
    return None


class _Resolver:
    """Inlines local ``$ref``s (``#/components/...``) and turns OpenAPI 3.0's ``nullable`` into
    JSON Schema; a recursive reference is left as an open schema."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def __call__(self, node: Any, seen: frozenset[str] = frozenset()) -> Any:
        if isinstance(node, list):
            return [self(n, seen) for n in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen or not ref.startswith("#/"):
                return {}
            target: Any = self.spec
            for part in ref[2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
            return self(target, seen | {ref})
        out = {k: self(v, seen) for k, v in node.items()}
        if out.pop("nullable", False) is True and "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
        return out


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserError(f"{where}: neither JSON nor YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{where}: not an OpenAPI document")
    return data


def _join(origin: str, url: str) -> str:
    if re.match(r"https?://", url) or not origin:
        return url
    from urllib.parse import urljoin

    return urljoin(origin, url)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "operation"


def _quote(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value), safe="")


def _message(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(data, dict):
        for key in ("detail", "message", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])[:500]
    return text.strip()[:500]


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


async def _unbound(ctx: Any, args: dict[str, Any], key: str | None) -> Any:
    raise RuntimeError("operation not bound to a service")
