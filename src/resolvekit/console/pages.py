"""The console's HTML: server-rendered pages, every dynamic value escaped, a little plain JS
(no build step, nothing from a CDN)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from html import escape
from typing import Any

from ..sessions import Step
from .actions import ToolRun
from .service import ConversationView, InboxItem
from .suggest import Suggestion

__all__ = ["SCRIPT", "conversation_page", "inbox_page", "login_page", "message_page"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header .who{margin-left:auto}
main{padding:1rem 1.2rem;max-width:1200px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.8rem 1rem;
margin:0 0 1rem}
h1{font-size:1.2rem;margin:.2rem 0 .8rem}h2{font-size:1rem;margin:0 0 .5rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #eceef2;vertical-align:top}
.grid{display:grid;grid-template-columns:3fr 2fr;gap:1rem}
.badge{display:inline-block;padding:0 .45rem;border-radius:9px;font-size:12px;background:#e8eaf0}
.urgent,.high{background:#fde2e1;color:#8a1c17}.medium{background:#fff1d6;color:#7a4b00}
.low,.normal{background:#e3f1e6;color:#1c5b2b}
.msg{margin:.3rem 0;padding:.4rem .6rem;border-radius:6px;white-space:pre-wrap}
.customer{background:#eef3ff}.agent{background:#f2f2f2}.human_agent{background:#e7f7ec}
.tool{background:#fafafa;font-family:monospace;font-size:12px;color:#555}
.role{font-size:11px;color:#666;display:block}
.flash{background:#e7f7ec;border-color:#9bd3ab}.error{background:#fde2e1;border-color:#eaa}
.confirm{background:#fff7e0;border-color:#e6c36a}
.next{border-left:4px solid #2f6fed}form.inline{display:inline}
input,select,textarea{font:inherit;padding:.25rem .4rem}textarea{width:100%;min-height:4rem}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}code{font-size:12px}
"""

SCRIPT = """
document.addEventListener('submit', function (event) {
  var button = event.submitter || event.target.querySelector('button');
  if (button) { setTimeout(function () { button.disabled = true; }, 0); }
});
document.querySelectorAll('[data-fill]').forEach(function (button) {
  button.addEventListener('click', function () {
    var box = document.getElementById('reply-text');
    box.value = button.getAttribute('data-fill'); box.focus();
  });
});
if (document.body.dataset.refresh) {
  setInterval(function () {
    if (document.activeElement === document.body) { location.reload(); }
  }, Number(document.body.dataset.refresh) * 1000);
}
"""
"""The console's JavaScript, served as ``/console.js`` (the pages allow no inline script)."""


def _page(title: str, body: str, *, human: str | None, csrf: str, refresh: int = 0) -> str:
    who = ""
    if human:
        who = (
            f'<span class="who">{escape(human)} '
            f'<form class="inline" method="post" action="/logout">{_csrf(csrf)}'
            f'<button type="submit">Log out</button></form></span>'
        )
    data = f' data-refresh="{refresh}"' if refresh else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><meta name='viewport' content='width=device-width'>"
        f"<style>{_CSS}</style></head><body{data}><header><a href='/'>Handoff inbox</a>"
        f"{who}</header><main>{body}</main><script src='/console.js'></script></body></html>"
    )


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def _wait(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def _json(value: Any) -> str:
    return escape(json.dumps(value, default=str, ensure_ascii=False))


def login_page(*, error: str = "") -> str:
    """The login form: the human agent's name and the console's shared key."""
    problem = f'<section class="error">{escape(error)}</section>' if error else ""
    body = (
        f"<h1>Log in</h1>{problem}<section><form method='post' action='/login'>"
        "<p><label>Your name <input name='name' required maxlength='60' autofocus></label></p>"
        "<p><label>Console key <input name='key' type='password' required></label></p>"
        "<button type='submit'>Log in</button></form></section>"
    )
    return _page("Log in", body, human=None, csrf="")


def message_page(title: str, text: str, *, human: str | None, csrf: str) -> str:
    """A page that says one thing (an error)."""
    body = f"<h1>{escape(title)}</h1><section class='error'>{escape(text)}</section>"
    return _page(title, body + "<p><a href='/'>Back to the inbox</a></p>", human=human, csrf=csrf)


def inbox_page(items: list[InboxItem], *, human: str, csrf: str, extra: str = "") -> str:
    """Open handoffs by priority, then wait."""
    rows = "".join(
        f"<tr data-conversation='{escape(i.conversation_id)}'>"
        f"<td><span class='badge {escape(i.priority)}'>{escape(i.priority)}</span></td>"
        f"<td>{_wait(i.wait)}</td>"
        f"<td><a href='/c/{escape(i.conversation_id)}'>{escape(i.customer_id)}</a>"
        f" <small>({escape(i.channel)})</small></td>"
        f"<td>{escape(i.intent or '-')}</td><td>{escape(i.reason)}</td>"
        f"<td><span class='badge {i.frustration.level}'>{i.frustration.level}</span></td>"
        f"<td>{escape(i.last_message[:120])}</td></tr>"
        for i in items
    )
    table = (
        "<table id='inbox'><tr><th>Priority</th><th>Waiting</th><th>Customer</th>"
        "<th>Intent</th><th>Reason</th><th>Frustration</th><th>Last message</th></tr>"
        f"{rows}</table>"
        if items
        else "<p id='inbox-empty'>No open handoffs.</p>"
    )
    body = f"<h1>Open handoffs ({len(items)})</h1><section>{table}</section>{extra}"
    return _page("Handoff inbox", body, human=human, csrf=csrf, refresh=15)


def conversation_page(
    view: ConversationView,
    *,
    human: str,
    csrf: str,
    flash: str = "",
    error: str = "",
    pending_run: ToolRun | None = None,
    pending_request: str = "",
    extra: str = "",
) -> str:
    """One conversation: context, suggested actions, knowledge, reply box, hand back."""
    conv = view.conversation
    cid = escape(conv.id)
    top = ""
    if flash:
        top += f"<section class='flash' id='flash'>{escape(flash)}</section>"
    if error:
        top += f"<section class='error' id='error'>{escape(error)}</section>"
    if pending_run is not None:
        top += _confirm_panel(cid, pending_run, pending_request, csrf)
    handoff = view.handoff
    priority = str(handoff.get("priority", ""))
    badge = (
        f" · <span class='badge {escape(priority)}'>{escape(priority)}</span>" if priority else ""
    )
    status = "with a human" if view.with_human else conv.status
    head = (
        f"<h1>Customer {escape(conv.customer_id)} <small>on {escape(conv.channel)} · "
        f"<span id='status'>{escape(status)}</span>{badge}</small></h1>"
    )
    left = (
        _handoff_section(view)
        + _section("Transcript", _transcript(view), "transcript")
        + _section("Actions and results", _actions(view.actions), "actions")
    )
    right = (
        _frustration_section(view)
        + _section("Slots", _table(view.slots.items()), "slots")
        + (_suggestions(cid, view.suggestions, csrf) if view.with_human else "")
        + _knowledge(view)
        + (_reply_box(cid, csrf) + _hand_back(cid, csrf) if view.with_human else "")
        + extra
    )
    body = f"{head}{top}<div class='grid'><div>{left}</div><div>{right}</div></div>"
    return _page(f"Conversation {conv.customer_id}", body, human=human, csrf=csrf)


def _section(title: str, inner: str, ident: str, cls: str = "") -> str:
    return f"<section id='{ident}' class='{cls}'><h2>{escape(title)}</h2>{inner}</section>"


def _table(rows: Iterable[tuple[str, Any]]) -> str:
    cells = "".join(f"<tr><th>{escape(str(k))}</th><td>{_json(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>" if cells else "<p>None.</p>"


def _handoff_section(view: ConversationView) -> str:
    h = view.handoff
    if not h:
        return _section("Handoff", "<p>Not with a human now.</p>", "handoff")
    since = float(h.get("created_at") or time.time())
    rows = [
        ("Reason", h.get("reason", "")),
        ("Waiting", _wait(time.time() - since)),
        ("Intent", h.get("intent") or "-"),
        ("Summary", h.get("summary", "")),
        ("Waiting on", h.get("pending_action") or "-"),
        ("Next step", h.get("suggested_next_step", "")),
    ]
    inner = "".join(f"<tr><th>{k}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return _section("Handoff", f"<table>{inner}</table>", "handoff")


def _frustration_section(view: ConversationView) -> str:
    f = view.frustration
    reasons = "".join(f"<li>{escape(r)}</li>" for r in f.reasons) or "<li>no signal</li>"
    inner = f"<p><span class='badge {f.level}' id='frustration-level'>{f.level}</span></p>"
    return _section("Frustration", f"{inner}<ul>{reasons}</ul>", "frustration")


def _transcript(view: ConversationView) -> str:
    lines = []
    for m in view.conversation.transcript:
        who = {"human_agent": "human agent", "agent": "bot"}.get(m.role, m.role)
        if m.role == "tool" and m.tool_call:
            by = m.tool_call.get("human")
            who = f"tool {m.tool_call.get('name')}" + (f" (run by {by})" if by else "")
        lines.append(
            f"<div class='msg {escape(m.role)}'><span class='role'>{escape(who)}</span>"
            f"{escape(m.text)}</div>"
        )
    return "".join(lines) or "<p>Empty.</p>"


def _actions(steps: list[Step]) -> str:
    if not steps:
        return "<p>No tool calls yet.</p>"
    rows = "".join(
        f"<tr><td><code>{escape(s.key)}</code></td><td>{_json(s.args)}</td>"
        f"<td>{escape(s.status)}</td>"
        f"<td>{_json(s.error if s.error else s.result)}</td>"
        f"<td>{escape(s.human['name']) if s.human else 'bot'}</td></tr>"
        for s in steps
    )
    head = "<tr><th>Tool</th><th>Args</th><th>Status</th><th>Result</th><th>By</th></tr>"
    return f"<table>{head}{rows}</table>"


def _field(name: str, schema: dict[str, Any], value: Any, required: bool) -> str:
    label = escape(name.replace("_", " "))
    field = f"arg.{escape(name)}"
    req = " required" if required else ""
    options = schema.get("enum")
    if options:
        opts = "".join(
            f"<option value='{escape(str(o))}'{' selected' if o == value else ''}>"
            f"{escape(str(o))}</option>"
            for o in options
        )
        blank = "" if value in options else "<option value=''>choose…</option>"
        return f"<label>{label} <select name='{field}'{req}>{blank}{opts}</select></label> "
    shown = "" if value is None else (value if isinstance(value, str) else json.dumps(value))
    return f"<label>{label} <input name='{field}' value='{escape(str(shown))}'{req}></label> "


def _suggestions(cid: str, suggestions: list[Suggestion], csrf: str) -> str:
    if not suggestions:
        return _section("Suggested next actions", "<p>No playbook tools to suggest.</p>", "next")
    forms = []
    for s in suggestions:
        props = s.parameters.get("properties", {})
        required = set(s.parameters.get("required", []))
        fields = "".join(_field(p, props[p], s.args.get(p), p in required) for p in props)
        next_class = " next" if s.next else ""
        label = "Run…" if s.effect == "write" or s.confirm else "Run"
        tags = (
            (" <span class='badge high'>write</span>" if s.effect == "write" else "")
            + (" <span class='badge normal'>next</span>" if s.next else "")
            + (" <span class='badge'>done</span>" if s.done else "")
        )
        forms.append(
            f"<form method='post' action='/c/{cid}/run' class='suggestion{next_class}'"
            f" data-tool='{escape(s.tool)}'>{_csrf(csrf)}"
            f"<input type='hidden' name='tool' value='{escape(s.tool)}'>"
            f"<input type='hidden' name='request' value='{uuid.uuid4().hex}'>"
            f"<p><code>{escape(s.tool)}</code>{tags}<br><small>{escape(s.description)}</small></p>"
            f"<p>{fields}</p><button type='submit'>{label}</button></form><hr>"
        )
    return _section("Suggested next actions", "".join(forms), "next")


def _confirm_panel(cid: str, run: ToolRun, request: str, csrf: str) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in run.args.items())
    return (
        f"<section class='confirm' id='confirm'><h2>Confirm</h2><p>Run <code>{escape(run.tool)}"
        f"({escape(args)})</code> for this customer, under your name? It changes their data.</p>"
        f"<form method='post' action='/c/{cid}/run'>{_csrf(csrf)}"
        f"<input type='hidden' name='tool' value='{escape(run.tool)}'>"
        f"<input type='hidden' name='request' value='{escape(request)}'>"
        f"<input type='hidden' name='args' value='{_json(run.args)}'>"
        f"<input type='hidden' name='confirmed' value='yes'>"
        f"<button type='submit' id='confirm-run'>Confirm and run</button> "
        f"<a href='/c/{cid}'>Cancel</a></form></section>"
    )


def _knowledge(view: ConversationView) -> str:
    if not view.last_question:
        return ""
    question = f"<p>For: <q>{escape(view.last_question)}</q></p>"
    answer = view.knowledge
    if view.knowledge_error:
        inner = f"<p>Knowledge unavailable: {escape(view.knowledge_error)}</p>"
    elif answer is None or not answer.answerable:
        inner = "<p>No answer in the knowledge base.</p>"
    else:
        cites = "".join(f"<li>{escape(c.title or c.doc_id)}</li>" for c in answer.citations)
        inner = f"<div class='msg agent'>{escape(answer.text)}</div><ul>{cites}</ul>"
        if view.with_human:
            inner += (
                f"<button type='button' data-fill='{escape(answer.text)}'>Use as reply</button>"
            )
    return _section("Knowledge suggestions", question + inner, "knowledge")


def _reply_box(cid: str, csrf: str) -> str:
    return _section(
        "Reply to the customer",
        f"<form method='post' action='/c/{cid}/reply'>{_csrf(csrf)}"
        "<textarea name='text' id='reply-text' required maxlength='4000'></textarea>"
        "<button type='submit' id='send-reply'>Send</button></form>",
        "reply",
    )


def _hand_back(cid: str, csrf: str) -> str:
    return _section(
        "Hand back to the bot",
        f"<form method='post' action='/c/{cid}/handback'>{_csrf(csrf)}"
        "<p><label>Note (what you did, kept in the transcript) "
        "<input name='note' maxlength='500'></label></p>"
        "<button type='submit' id='hand-back'>Hand back to the bot</button></form>",
        "handback",
    )
