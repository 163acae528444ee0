"""Order support over HTTP: the shop agent of ``order_support.py`` behind ``resolvekit.serve``.

Serve it, then talk to it with curl (see docs/serving.md)::

    .venv/bin/python examples/http_service.py --port 8000 --api-key secret
    curl -s localhost:8000/v1/customers/c-1/messages -H "Authorization: Bearer secret" \\
      -H "Content-Type: application/json" -d '{"text": "cancel order W1000001, by mistake"}'

or play a short conversation through the API in this process (offline, no server)::

    .venv/bin/python examples/http_service.py --demo

The demo sends a cancellation as JSON (the answer offers ``yes``/``no`` quick replies), answers
``yes`` through the streaming route (printing each Server-Sent Event: the write's
``tool_started`` and ``tool_finished``, the reply's ``delta``, ``done``), sends the same answer
again (a retry: the stored reply, nothing runs twice) and reads the conversation back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from resolvekit.chat import load_agent

KEY = "demo-key"


def shop_agent() -> Any:
    """order_support.py's agent (loaded from the file next to this one)."""
    return load_agent(f"{Path(__file__).with_name('order_support.py')}:agent")


def events(body: str) -> list[tuple[str, Any]]:
    """A text/event-stream body as ``(event, data)`` pairs."""
    out = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields["event"], json.loads(fields["data"])))
    return out


async def demo(model: str = "local") -> list[tuple[str, Any]]:
    """The conversation through the API; returns what was received, in order."""
    import httpx2

    agent = shop_agent()
    seen: list[tuple[str, Any]] = []
    with agent.override(model=model):
        app = agent.to_asgi(api_keys=[KEY])
        async with app.router.lifespan_context(app):
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(
                transport=transport,
                base_url="http://shop.example",
                headers={"Authorization": f"Bearer {KEY}"},
            ) as client:
                path = "/v1/customers/c-1/messages"
                text = "please cancel order W1000001, I ordered it by mistake"
                first = (await client.post(path, json={"text": text, "message_id": "e1"})).json()
                print(f"you> {text}\nagent> {first['reply']}  options: {first['options']}")
                seen.append(("json", first))
                answer = {"text": "yes", "message_id": "e2", "reply_to": first["question_id"]}
                stream = await client.post(path + "/stream", json=answer)
                print("you> yes   (streamed)")
                for name, data in events(stream.text):
                    print(f"  event {name}: {json.dumps(data)[:100]}")
                    seen.append((name, data))
                retry = (await client.post(path, json=answer)).json()
                print(f"retry of e2 -> duplicate={retry['duplicate']}: {retry['reply']}")
                seen.append(("retry", retry))
                conv = (await client.get("/v1/customers/c-1/conversation")).json()
                print(f"stored transcript: {len(conv['transcript'])} lines")
                seen.append(("conversation", conv))
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action="store_true", help="a conversation in this process")
    parser.add_argument("--model", default="local", help="local (default) or test")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", action="append", default=[], help="accepted key(s)")
    args = parser.parse_args()
    if args.demo:
        asyncio.run(demo(args.model))
        return
    import uvicorn

    agent = shop_agent()
    with agent.override(model=args.model):
        uvicorn.run(agent.to_asgi(api_keys=args.api_key), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
