"""Time to the first word against time to the whole reply, with ``OpenAIModel`` streaming.

An agent on ``OpenAIModel`` talks to the tests' fake OpenAI server, which streams a reply of
about 60 words as Server-Sent Events with a pause between writes (a model writing at a given
speed). A live observer records when the first ``token`` event arrives, when the engine says
the reply (what a UI without token streaming shows first) and when the turn ends; the medians
over the rounds, and the ratio first-token / full-reply, are printed with the load.

    .venv/bin/python tools/bench/bench_stream.py [--rounds 10 --delay 0.01]

No network beyond 127.0.0.1; no API key.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "models"))

REPLY = (
    "Thanks for waiting. I checked your account and the order you asked about left our "
    "warehouse yesterday afternoon; the carrier expects to deliver it on Thursday between nine "
    "and noon. You will get a text with a tracking link an hour before it arrives, and if "
    "nobody is home the driver leaves it with a neighbour or at the nearest pickup point."
)


async def main(rounds: int, delay: float, piece: int) -> None:
    from _openai_server import FakeOpenAIServer, Scripted, tool_call  # type: ignore[import-not-found]

    import resolvekit as rk
    import resolvekit.models as models
    from resolvekit.live import observe
    from resolvekit.models.openai import OpenAIModel

    models.ALLOW_MODEL_REQUESTS = True

    class Track(rk.Intent):
        """Customer asks where an order is."""

    first: list[float] = []
    full: list[float] = []
    done: list[float] = []
    with FakeOpenAIServer() as server:
        model = OpenAIModel("bench", base_url=server.url, api_key="k")
        agent: rk.Agent[None] = rk.Agent(name="Bench", model=model, redaction=None, handoff=[])

        @agent.playbook(Track)
        async def track(ctx: rk.Context[None], intent: Track) -> None:
            ctx.say("ok")

        for n in range(rounds + 1):  # the first round warms up (client, imports)
            body = tool_call("reply", {"text": REPLY})
            server.push(Scripted(body=body, piece=piece, write_bytes=200, chunk_delay=delay))
            seen: dict[str, float] = {}
            started = time.perf_counter()

            def watch(kind: str, data: dict[str, Any], seen: dict[str, float] = seen) -> None:
                seen.setdefault(kind, time.perf_counter())

            with observe(watch):
                result = await agent.handle(f"c{n}", "where is my order?")
            ended = time.perf_counter()
            assert result.reply == REPLY, result.reply
            if n:
                first.append((seen["token"] - started) * 1000)
                full.append((seen["say"] - started) * 1000)
                done.append((ended - started) * 1000)
        await agent.close()

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):8.1f} ms"

    load = os.getloadavg()
    print(f"rounds {rounds}, {delay * 1000:.0f} ms between writes, {piece} chars per chunk")
    print(f"first token   {med(first)}")
    print(f"full reply    {med(full)}   (what a UI without tokens shows first)")
    print(f"turn done     {med(done)}")
    ratio = statistics.median(first) / statistics.median(full)
    print(f"first token / full reply = {ratio:.3f}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.01, help="seconds between writes")
    parser.add_argument("--piece", type=int, default=4, help="characters per chunk")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.delay, args.piece))
