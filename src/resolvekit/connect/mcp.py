"""MCP servers as toolsets (the official ``mcp`` SDK; ``pip install resolvekit[connect]``).

::

    crm = MCPToolset.stdio("python", ["crm_server.py"])            # a subprocess
    erp = MCPToolset.http("http://127.0.0.1:8000/mcp", headers=...)  # streamable HTTP
    agent = rk.Agent("Support", toolsets=[crm.prefixed("crm"), erp])

Each server tool becomes a :class:`~resolvekit.connect.SchemaTool` behind the agent's gates.
Its effect comes from the MCP annotations, safe by default: ``readOnlyHint`` makes a read;
anything else is a write that needs the customer's yes (loosen it with
:class:`~resolvekit.ToolOverride`). ``idempotentHint``, or an ``idempotency_key`` argument in the
tool's input schema, makes it idempotent: retried, and recovered after a crash with the same key.
Every write also carries its key in the request's ``_meta`` (``resolvekit/idempotency_key``).

Faults are typed, never a crashed turn: a server that cannot be started or reached is
``unavailable``; one that dies or hangs during a write is ``unknown_outcome`` (handed to a
human); during a read, retried, then ``unavailable`` or ``timeout``; an answer that is not
valid, or does not fit the tool's output schema, is ``bad_result``; the server's own error
result (``isError``) is ``refused`` with its text. A dropped server is started again on the
next call or turn; a changed tool list is listed again at the start of the next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

from ..exceptions import ToolError, ToolRefusal, UserError
from ..tools import RetryPolicy, Tool
from ..toolsets import Toolset
from ._schema import BadResult, Dropped, SchemaTool, Unreachable, check_result

if TYPE_CHECKING:
    from mcp import ClientSession

__all__ = ["IDEMPOTENCY_META", "MCPToolset"]

log = logging.getLogger("resolvekit.connect")

IDEMPOTENCY_META = "resolvekit/idempotency_key"
"""The ``_meta`` key that carries a write's idempotency key."""
KEY_ARGUMENT = "idempotency_key"
"""An input-schema property of this name receives the idempotency key."""

Meta = Callable[[Any], Mapping[str, Any] | None]
Transport = Callable[[], contextlib.AbstractAsyncContextManager[Any]]


class MCPToolset(Toolset):
    """The tools of one MCP server.

    Args:
        transport: opens the connection: an async context manager yielding the SDK's
            ``(read, write)`` streams; :meth:`stdio` and :meth:`http` build it for you.
        name: the toolset's name (errors, logs).
        timeout: seconds per attempt of each call (default 30).
        retry: the retry policy of reads and idempotent writes (default: 3 attempts).
        meta: ``meta(ctx)``: extra ``_meta`` for every call, from the application (the acting
            user, a tenant); never from the model.
        connect_timeout: seconds to start the server and list its tools.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        name: str = "mcp",
        timeout: float | None = 30.0,
        retry: RetryPolicy | None = None,
        meta: Meta | None = None,
        connect_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self._transport = transport
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._meta = meta
        self._connect_timeout = connect_timeout
        self._tools: Mapping[str, Tool[Any]] = {}
        self._conn: _Connection | None = None
        self._opening: asyncio.Task[_Connection] | None = None
        self._stale = False

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        errlog: TextIO | None = None,
        **options: Any,
    ) -> MCPToolset:
        """A server run as a subprocess, spoken to over its stdin and stdout.

        Args:
            command: the executable (``"python"``, ``"npx"``...).
            args: its arguments.
            env: extra environment variables.
            cwd: its working directory.
            errlog: where its stderr goes (default: this process's stderr, or nowhere when
                that has no file descriptor).
            **options: those of :class:`MCPToolset`.
        """

        def transport() -> contextlib.AbstractAsyncContextManager[Any]:
            from mcp import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=command, args=list(args), env=dict(env or {}) or None, cwd=cwd
            )
            return stdio_client(params, errlog=errlog or _stderr())

        options.setdefault("name", command.rsplit("/", 1)[-1])
        return cls(transport, **options)

    @classmethod
    def http(
        cls, url: str, *, headers: Mapping[str, str] | None = None, **options: Any
    ) -> MCPToolset:
        """A server at a streamable-HTTP endpoint (``http://127.0.0.1:8000/mcp``).

        Args:
            url: the endpoint.
            headers: sent with every request (authentication from your configuration).
            **options: those of :class:`MCPToolset`.
        """

        @contextlib.asynccontextmanager
        async def transport() -> AsyncIterator[Any]:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            timeout = httpx2.Timeout(30.0, read=300.0)
            async with (
                httpx2.AsyncClient(headers=dict(headers or {}), timeout=timeout) as client,
                streamable_http_client(url, http_client=client) as streams,
            ):
                yield streams

        options.setdefault("name", url)
        return cls(transport, **options)

    # -- lifecycle ---------------------------------------------------------------------------

    def tools(self) -> Mapping[str, Tool[Any]]:
        return self._tools

    async def start(self) -> None:
        """Start the server (or connect) and list its tools; nothing when connected.

        Raises:
            UserError: the server could not be started or listed (with why).
        """
        try:
            await self._connection()
        except Unreachable as exc:
            raise UserError(f"MCP server {self.name!r} could not be started: {exc}") from exc

    async def refresh(self) -> None:
        """Reconnect a dropped server; list the tools again when the server said they changed.
        A server that cannot be reached keeps its last tools (their calls fail typed)."""
        try:
            conn = await self._connection()
            if self._stale:
                self._stale = False
                await self._list(conn)
        except Exception as exc:
            log.warning("MCP server %r: refresh failed: %s", self.name, exc)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done():
            opening.cancel()
            with contextlib.suppress(BaseException):
                await opening
        if conn is not None:
            if conn.loop is asyncio.get_running_loop():
                await conn.stop()
            else:
                conn.abandon()

    async def _connection(self) -> _Connection:
        """The live connection, opening one when there is none. The opening is shared and
        shielded: a call that times out while the server starts does not abort the start, and
        the next call waits for the same one."""
        loop = asyncio.get_running_loop()
        conn = self._conn
        if conn is not None and conn.alive and conn.loop is loop:
            return conn
        opening = self._opening
        if opening is None or opening.done() or opening.get_loop() is not loop:
            opening = self._opening = loop.create_task(self._open(conn, loop))
        return await asyncio.shield(opening)

    async def _open(self, old: _Connection | None, loop: asyncio.AbstractEventLoop) -> _Connection:
        if old is not None:
            if old.loop is loop:
                await old.stop()
            else:
                old.abandon()
        conn = _Connection(self._transport, self._on_message, loop)
        await conn.open(self._connect_timeout)
        try:
            await self._list(conn)
        except BaseException:
            await conn.stop()
            raise
        self._conn = conn
        return conn

    async def _on_message(self, message: Any) -> None:
        method = getattr(message, "method", None) or getattr(
            getattr(message, "root", None), "method", None
        )
        if method == "notifications/tools/list_changed":
            self._stale = True

    async def _list(self, conn: _Connection) -> None:
        listed: list[Any] = []
        cursor: str | None = None
        while True:
            from mcp.types import PaginatedRequestParams

            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await conn.session.list_tools(params=params)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        tools: dict[str, Tool[Any]] = {}
        for spec in listed:
            try:
                tools[spec.name] = self._tool(spec)
            except Exception as exc:  # one bad tool must not hide the others
                log.warning("MCP server %r: tool %r skipped: %s", self.name, spec.name, exc)
        self._tools = tools

    def _tool(self, spec: Any) -> SchemaTool:
        hints = spec.annotations
        read = bool(hints is not None and hints.read_only_hint)
        schema = dict(spec.input_schema or {"type": "object"})
        _check_schema(schema)
        if spec.output_schema is not None:
            _check_schema(spec.output_schema)
        key_param = KEY_ARGUMENT if KEY_ARGUMENT in (schema.get("properties") or {}) else None
        idempotent = key_param is not None or bool(hints is not None and hints.idempotent_hint)
        tool = SchemaTool(
            name=spec.name,
            remote_name=spec.name,
            description=(spec.description or spec.title or spec.name).strip(),
            effect="read" if read else "write",
            confirm=not read,
            timeout=self._timeout,
            retry=self._retry,
            idempotent=idempotent,
            input_schema=schema,
            output_schema=spec.output_schema,
            key_param=key_param,
            send=_not_bound,
        )
        tool.send = self._sender(tool.remote_name, tool.effect, key_param, spec.output_schema)
        return tool

    def _sender(
        self,
        remote: str,
        effect: str,
        key_param: str | None,
        output_schema: dict[str, Any] | None,
    ) -> Any:
        async def send(ctx: Any, args: dict[str, Any], key: str | None) -> Any:
            arguments = dict(args)
            meta: dict[str, Any] = dict(self._meta(ctx) or {}) if self._meta else {}
            if key_param and key:
                arguments[key_param] = key
            if effect == "write" and key:
                meta[IDEMPOTENCY_META] = key
            conn = await self._reachable()
            result = await conn.call(remote, arguments, meta or None)
            return self._result(remote, result, output_schema)

        return send

    async def _reachable(self) -> _Connection:
        try:
            return await self._connection()
        except Unreachable:
            raise
        except Exception as exc:
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc

    def _result(self, remote: str, result: Any, output_schema: dict[str, Any] | None) -> Any:
        texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
        if result.is_error:
            message = " ".join(texts).strip() or "the tool reported an error"
            if message.startswith("Unknown tool"):
                self._stale = True
                raise ToolError(remote, "unavailable", message)
            raise ToolRefusal(message[:2000])
        if result.structured_content is not None:
            value = result.structured_content
            check_result(output_schema, value)
            return _unwrap(value, output_schema)
        if output_schema is not None:
            raise BadResult("the tool promises structured content and sent none")
        if not texts:
            return None
        import json

        joined = "\n".join(texts)
        try:
            return json.loads(joined)
        except ValueError:
            return joined


def _describe(exc: BaseException) -> str:
    """The leaf errors of an exception group (the SDK's task groups wrap them)."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def _stderr() -> TextIO:
    """This process's stderr for a server's, or nowhere when it has no file descriptor (a
    captured stream, as under pytest)."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        import subprocess

        return cast(TextIO, subprocess.DEVNULL)
    return sys.stderr


async def _not_bound(ctx: Any, args: dict[str, Any], key: str | None) -> Any:
    raise RuntimeError("tool not bound to a server")


def _unwrap(value: Any, output_schema: dict[str, Any] | None) -> Any:
    """Servers wrap a non-object result as ``{"result": value}`` (the SDK's convention)."""
    props = (output_schema or {}).get("properties") or {}
    if isinstance(value, dict) and set(value) == {"result"} and set(props) == {"result"}:
        return value["result"]
    return value


def _check_schema(schema: dict[str, Any]) -> None:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)


class _Connection:
    """One live session with a server, owned by a task of its own (the SDK's transports are
    context managers that must be entered and left in the same task)."""

    def __init__(self, transport: Transport, on_message: Any, loop: Any) -> None:
        self._transport = transport
        self._on_message = on_message
        self.loop = loop
        self.session: ClientSession = None  # type: ignore[assignment]
        self._stop = asyncio.Event()
        self._dead = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._broken = False

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._dead.is_set() and not self._broken

    async def open(self, seconds: float) -> None:
        ready: asyncio.Future[None] = self.loop.create_future()
        self._task = asyncio.create_task(self._serve(ready))
        try:
            async with asyncio.timeout(seconds):
                await ready
        except TimeoutError as exc:
            await self.stop()
            raise Unreachable(f"no answer within {seconds:g}s") from exc
        except Exception as exc:
            await self.stop()
            raise Unreachable(_describe(exc)) from exc
        except BaseException:
            await self.stop()
            raise

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        from mcp import ClientSession

        try:
            async with self._transport() as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write, message_handler=self._on_message) as s:
                    await s.initialize()
                    self.session = s
                    ready.set_result(None)
                    await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else Unreachable("cancelled"))
            if not isinstance(exc, Exception):
                raise
            log.info("MCP connection ended: %r", exc)
        finally:
            self._dead.set()

    async def call(self, name: str, arguments: dict[str, Any], meta: dict[str, Any] | None) -> Any:
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED, INVALID_PARAMS

        if not self.alive:
            raise Unreachable("the server is not connected")
        call = asyncio.ensure_future(self.session.call_tool(name, arguments, meta=cast(Any, meta)))
        dead = asyncio.ensure_future(self._dead.wait())
        try:
            done, _ = await asyncio.wait({call, dead}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            dead.cancel()
            if not call.done():
                call.cancel()
        if call not in done:
            self._broken = True
            raise Dropped("the server went away during the call")
        try:
            return call.result()
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED or self._dead.is_set():
                self._broken = True  # the next call starts the server again
                raise Dropped(exc.message) from exc
            if exc.code == INVALID_PARAMS:
                raise ToolError(name, "invalid_arguments", exc.message) from exc
            raise ToolRefusal(exc.message[:2000]) from exc
        except (ToolError, ToolRefusal, asyncio.CancelledError):
            raise
        except Exception as exc:
            if self._dead.is_set():
                raise Dropped(f"{type(exc).__name__}: {exc}") from exc
            raise BadResult(f"the answer could not be read: {type(exc).__name__}: {exc}") from exc

    def abandon(self) -> None:
        """Forget a connection made on an event loop that is gone (``asyncio.run`` per call);
        its subprocess ended with that loop."""
        self._broken = True

    async def stop(self) -> None:
        self._stop.set()
        task = self._task
        if task is None or task.done():
            return
        try:
            async with asyncio.timeout(5):
                await asyncio.shield(task)
        except (TimeoutError, Exception):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
