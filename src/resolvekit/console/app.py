"""The console as a web app (Starlette): login, the inbox, one conversation, and the POSTs
that run a tool, reply and hand back.

Auth: one shared console key; a human agent logs in with their name and the key and gets a
signed, HttpOnly, ``SameSite=Strict`` cookie (12 hours). Every POST must carry the session's
CSRF token (a hidden form field, an HMAC of the cookie) and, when the browser sends an
``Origin`` header, come from the console's own origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from ..exceptions import ResolvekitError
from .approvals import approvals_section, decide, pending
from .errors import ConsoleRefusal
from .pages import SCRIPT, conversation_page, inbox_page, login_page, message_page
from .service import Console, ReplyTarget

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from ..agent import Agent

__all__ = ["COOKIE", "SESSION_SECONDS", "create_app"]

COOKIE = "rk_console"
SESSION_SECONDS = 12 * 3600
_Action = Callable[[str, str, dict[str, str]], Awaitable["str | dict[str, Any]"]]
"""A POST's work: ``(conversation id, human, form) -> done code | what to show``."""
_STATUS = {"not_found": 404, "not_handed_off": 409, "unknown_tool": 404, "invalid": 400}


class _Auth:
    """Signed session cookies and CSRF tokens, keyed by the console key."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._secret = hashlib.sha256(b"resolvekit-console:" + key.encode()).digest()

    def _sign(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def check_key(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.key.encode())

    def cookie(self, name: str) -> str:
        encoded = base64.urlsafe_b64encode(name.encode()).decode()
        body = f"{encoded}.{int(time.time()) + SESSION_SECONDS}"
        return f"{body}.{self._sign(body)}"

    def human(self, cookie: str | None) -> str | None:
        """The logged-in name, or None for a missing, forged or expired cookie."""
        if not cookie or cookie.count(".") != 2:
            return None
        encoded, expires, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(f"{encoded}.{expires}")):
            return None
        if not expires.isdigit() or int(expires) < time.time():
            return None
        return base64.urlsafe_b64decode(encoded.encode()).decode()

    def csrf(self, cookie: str) -> str:
        return self._sign("csrf:" + cookie)[:40]


def create_app(
    agent: Agent[Any],
    *,
    api_key: str,
    reply_target: ReplyTarget | None = None,
    roles: Mapping[str, str] | None = None,
) -> Starlette:
    """The handoff inbox and agent assist console for ``agent``, as an ASGI app.

    Args:
        agent: the agent whose handed-off conversations humans take over.
        api_key: the shared console key human agents log in with (at least 8 characters).
        reply_target: where messages to customers go (see :class:`Console`).
        roles: the approval role of each human agent by name (``{"alice": "team_lead"}``):
            what the approvals pane lets them decide (:meth:`Agent.decide`). Others see the
            pending approvals read only.

    Raises:
        UserError: starlette is not installed (``pip install "resolvekit[console]"``), or the
            key is too short.
    """
    from ..exceptions import UserError

    try:
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse, RedirectResponse, Response
        from starlette.routing import Route
    except ImportError as exc:
        raise UserError('The console needs starlette: pip install "resolvekit[console]"') from exc
    if len(api_key) < 8:
        raise UserError("The console key must have at least 8 characters")
    console = Console(agent, reply_target=reply_target)
    auth = _Auth(api_key)
    role_of = dict(roles or {})

    async def approvals_pane(human: str, csrf: str, customer_id: str | None = None) -> str:
        role = role_of.get(human)
        try:
            items = await pending(agent, role, customer_id)
        except ResolvekitError as exc:
            return f"<section class='error'>Approvals unavailable: {escape(str(exc))}</section>"
        if customer_id is not None and not items:
            return ""
        return approvals_section(items, role=role, csrf=csrf)

    def session(request: Request) -> tuple[str, str] | None:
        cookie = request.cookies.get(COOKIE)
        name = auth.human(cookie)
        return (name, auth.csrf(cookie or "")) if name else None

    def same_origin(request: Request) -> bool:
        if request.headers.get("sec-fetch-site") == "cross-site":
            return False
        origin = request.headers.get("origin")
        if origin is None or origin == "null":
            return origin is None
        parts = urlsplit(origin)
        return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)

    def page(html: str, status: int = 200) -> Response:
        response = HTMLResponse(html, status_code=status)
        response.headers["x-frame-options"] = "DENY"
        response.headers["content-security-policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; "
            "form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["cache-control"] = "no-store"
        return response

    async def guarded(request: Request) -> tuple[str, str, dict[str, Any]] | Response:
        """For a POST: the session, its CSRF check and the form; else the response to send."""
        found = session(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        form = dict(await request.form())
        token = str(form.get("csrf", ""))
        if not same_origin(request) or not hmac.compare_digest(token, found[1]):
            html = message_page("Refused", "Cross-site request refused", human=None, csrf="")
            return page(html, 403)
        return found[0], found[1], {k: v for k, v in form.items() if isinstance(v, str)}

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return page(login_page())
        form = await request.form()
        name = str(form.get("name", "")).strip()
        if not same_origin(request):
            return page(login_page(error="Cross-site request refused"), 403)
        if not auth.check_key(str(form.get("key", ""))):
            return page(login_page(error="Wrong name or key"), 401)
        if not name or len(name) > 60 or not name.isprintable():
            return page(login_page(error="Give your name (at most 60 characters)"), 400)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            auth.cookie(name),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(request: Request) -> Response:
        checked = await guarded(request)
        if not isinstance(checked, tuple):
            return checked
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def inbox(request: Request) -> Response:
        found = session(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        return await show_inbox(*found)

    async def show_inbox(human: str, csrf: str, flash: str = "", status: int = 200) -> Response:
        try:
            items = await console.inbox()
        except ResolvekitError as exc:
            return page(message_page("Inbox unavailable", str(exc), human=human, csrf=csrf), 500)
        extra = await approvals_pane(human, csrf)
        if flash:
            extra = f"<section class='flash' id='flash'>{escape(flash)}</section>" + extra
        return page(inbox_page(items, human=human, csrf=csrf, extra=extra), status)

    async def decide_approval(request: Request) -> Response:
        checked = await guarded(request)
        if not isinstance(checked, tuple):
            return checked
        human, csrf, form = checked
        try:
            said = await decide(
                agent,
                request.path_params["aid"],
                decision=form.get("decision", ""),
                human=human,
                role=role_of.get(human),
                note=form.get("note") or None,
            )
        except ConsoleRefusal as exc:
            return await show_inbox(human, csrf, str(exc), _STATUS.get(exc.code, 400))
        return await show_inbox(human, csrf, said)

    async def show(
        request: Request,
        human: str,
        csrf: str,
        *,
        status: int = 200,
        **shown: Any,
    ) -> Response:
        cid = request.path_params["cid"]
        try:
            view = await console.view(cid)
        except ConsoleRefusal as exc:
            html = message_page("Not found", str(exc), human=human, csrf=csrf)
            return page(html, _STATUS.get(exc.code, 400))
        flash = _flash(request.query_params.get("done", ""), view)
        if "flash" not in shown:
            shown["flash"] = flash
        shown["extra"] = await approvals_pane(human, csrf, view.conversation.customer_id)
        return page(conversation_page(view, human=human, csrf=csrf, **shown), status)

    async def conversation(request: Request) -> Response:
        found = session(request)
        if found is None:
            return RedirectResponse("/login", status_code=303)
        return await show(request, *found)

    def posting(action: _Action) -> Callable[[Request], Awaitable[Response]]:
        """A POST on one conversation: checked (session, CSRF, origin), then ``action`` gives
        the code of what was done (redirected to, so a reload posts nothing again) or what to
        show on the page; a refusal is shown with its status."""

        async def endpoint(request: Request) -> Response:
            checked = await guarded(request)
            if not isinstance(checked, tuple):
                return checked
            human, csrf, form = checked
            cid = request.path_params["cid"]
            try:
                outcome = await action(cid, human, form)
            except ConsoleRefusal as exc:
                status = _STATUS.get(exc.code, 400)
                return await show(request, human, csrf, status=status, error=str(exc))
            if isinstance(outcome, dict):
                return await show(request, human, csrf, **outcome)
            done = quote(outcome, safe="")
            return RedirectResponse(f"/c/{quote(cid, safe='')}?done={done}", status_code=303)

        return endpoint

    async def run(cid: str, human: str, form: dict[str, str]) -> str | dict[str, Any]:
        request_id = form.get("request", "")
        outcome = await console.run_tool(
            cid,
            form.get("tool", ""),
            _form_args(form, console, form.get("tool", "")),
            human=human,
            request=request_id,
            confirmed=form.get("confirmed") == "yes",
        )
        if outcome.status == "confirm":
            return {"pending_run": outcome, "pending_request": request_id}
        return f"ran:{request_id}"

    async def reply(cid: str, human: str, form: dict[str, str]) -> str | dict[str, Any]:
        problem = await console.reply(cid, form.get("text", ""), human=human)
        return {"error": f"Reply kept, not sent: {problem}"} if problem else "sent"

    async def hand_back(cid: str, human: str, form: dict[str, str]) -> str | dict[str, Any]:
        _, problem = await console.hand_back(cid, human=human, note=form.get("note") or None)
        return {"error": f"Handed back; {problem}"} if problem else "handed_back"

    async def script(request: Request) -> Response:
        return Response(SCRIPT, media_type="text/javascript")

    app = Starlette(
        routes=[
            Route("/console.js", script),
            Route("/", inbox),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/c/{cid}", conversation),
            Route("/c/{cid}/run", posting(run), methods=["POST"]),
            Route("/c/{cid}/reply", posting(reply), methods=["POST"]),
            Route("/c/{cid}/handback", posting(hand_back), methods=["POST"]),
            Route("/approvals/{aid}", decide_approval, methods=["POST"]),
        ]
    )
    app.state.console = console
    return app


def _form_args(form: dict[str, str], console: Console, tool_name: str) -> dict[str, Any]:
    """A tool's arguments from the form: the confirm panel's JSON, or ``arg.<name>`` fields
    converted by the tool's JSON Schema (empty fields left out)."""
    if "args" in form:
        try:
            loaded = json.loads(form["args"])
        except ValueError:
            raise ConsoleRefusal("invalid", "The arguments are not valid JSON") from None
        if not isinstance(loaded, dict):
            raise ConsoleRefusal("invalid", "The arguments must be a JSON object")
        return loaded
    tool = console.agent.tools.get(tool_name)
    props = tool.parameters.get("properties", {}) if tool is not None else {}
    args: dict[str, Any] = {}
    for key, value in form.items():
        if not key.startswith("arg.") or value == "":
            continue
        name = key[4:]
        kind = props.get(name, {}).get("type")
        if kind in ("integer", "number", "boolean", "array", "object"):
            try:
                args[name] = json.loads(value)
            except ValueError:
                raise ConsoleRefusal("invalid", f"{name} must be a JSON {kind}") from None
        else:
            args[name] = value
    return args


def _flash(done: str, view: Any) -> str:
    if done == "sent":
        return "Reply sent."
    if done == "handed_back":
        pending = view.conversation.pending
        asked = f" It asked: {pending.question}" if pending is not None else ""
        return "Handed back to the bot." + asked
    if done.startswith("ran:"):
        request = done[4:]
        for step in view.actions:
            if step.human and step.human.get("request") == request:
                result = step.error if step.error else step.result
                return f"{step.key} {step.status}: {json.dumps(result, default=str)[:300]}"
    return ""
