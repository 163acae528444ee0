"""Helpdesk delivery: an agent hands a conversation over to a signed webhook that is down, the
packet waits in the outbox, and the sweep delivers it once when the webhook is back.

Run it (offline; a receiver on 127.0.0.1 and a free port, files in a temporary folder):

    .venv/bin/python examples/helpdesk_webhook.py

The receiver checks the HMAC signature and dedupes on the ``Idempotency-Key`` header, as yours
should (docs/helpdesk.md).
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
from pathlib import Path
from typing import Any

import resolvekit as rk
from resolvekit.helpdesk import SIGNATURE_HEADER, DeliveryPolicy, verify_signature

SECRET = "example-signing-secret-0123"


class Receiver:
    """A webhook receiver: verifies the signature, keeps each packet once."""

    def __init__(self) -> None:
        self.packets: dict[str, dict[str, Any]] = {}
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/handoffs"
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    def app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def handoffs(request: Request) -> Response:
            body = await request.body()
            if not verify_signature(SECRET, body, request.headers.get(SIGNATURE_HEADER)):
                return Response(status_code=401)
            key = request.headers["idempotency-key"]
            if key not in self.packets:  # a redelivery changes nothing
                import json

                self.packets[key] = json.loads(body)
            return Response(status_code=202)

        return Starlette(routes=[Route("/handoffs", handoffs, methods=["POST"])])

    async def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn has a flag, not an event
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task


def build_agent(receiver: Receiver, outbox: Path) -> tuple[rk.Agent[None], rk.WebhookTarget]:
    # One attempt inside the customer's turn, and due again at once (a demo: the default
    # policy retries 3 times, then waits 30 s, doubling, before the next sweep tries).
    policy = DeliveryPolicy(attempts=1, sweep_wait=0.0)
    webhook = rk.WebhookTarget(receiver.url, SECRET, outbox=outbox, policy=policy)
    model = rk.FunctionModel(lambda request: rk.Escalate(reason="wants a manager"))
    agent: rk.Agent[None] = rk.Agent(
        name="Acme support", model=model, store="memory://", handoff=[webhook], free_mode=True
    )
    return agent, webhook


async def demo(folder: Path) -> Receiver:
    receiver = Receiver()
    agent, webhook = build_agent(receiver, folder / "outbox")
    result = await agent.handle("jane@example.com", "I want to speak to a manager")
    print(f"turn: {result.outcome}; the webhook is down, waiting: {len(webhook.outbox.pending())}")
    await receiver.start()
    report = await webhook.flush()  # what `resolvekit deliver app.py:agent --retry` runs
    await webhook.flush()  # a second sweep finds nothing to send again
    print(f"sweep: delivered {len(report.delivered)}; the receiver has {len(receiver.packets)}")
    await receiver.stop()
    await agent.close()
    return receiver


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(demo(Path(tmp)))
