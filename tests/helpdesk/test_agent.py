"""An agent's escalation reaches a helpdesk target, waits in the outbox while the helpdesk is
down, and ``resolvekit deliver --retry`` sends it once the helpdesk is back."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import resolvekit as rk
from resolvekit.cli import main
from resolvekit.helpdesk import DeliveryPolicy

from .servers import SECRET, Helpdesk, Served


def escalating_agent(target: rk.HandoffTarget) -> rk.Agent[None]:
    model = rk.FunctionModel(
        lambda request: rk.Escalate(reason="wants a manager", priority="urgent")
    )
    return rk.Agent(name="desk", model=model, store="memory://", handoff=[target], free_mode=True)


async def test_an_escalation_becomes_a_zendesk_ticket(
    served: Served, helpdesk: Helpdesk, tmp_path: Path
) -> None:
    target = rk.ZendeskTarget(
        base_url=served.url,
        email="agent@acme.test",
        api_token="zd-token",
        outbox=tmp_path / "outbox",
    )
    assert isinstance(target, rk.HandoffTarget)
    agent = escalating_agent(target)
    result = await agent.handle("jane@example.com", "my card 4111 1111 1111 1111 was charged twice")
    assert result.outcome == "escalated"
    [ticket] = helpdesk.tickets.values()
    assert ticket["priority"] == "urgent" and "wants a manager" in ticket["subject"]
    assert "4111 1111 1111 1111" not in ticket["comment"]["body"]
    assert helpdesk.rejected == []


AGENT_FILE = """
import resolvekit as rk
from resolvekit.helpdesk import DeliveryPolicy

target = rk.WebhookTarget({url!r}, {secret!r}, outbox={outbox!r},
                          policy=DeliveryPolicy(sweep_wait=0, max_sweep_wait=0))
agent = rk.Agent(name="desk", model="test", store="memory://", handoff=[target])
"""


def test_resolvekit_deliver_retry_sweeps_the_outbox(
    served: Served, helpdesk: Helpdesk, tmp_path: Path, sleep, capsys
) -> None:  # type: ignore[no-untyped-def]
    helpdesk.clock = time.time  # the command signs with the real clock
    outbox = tmp_path / "outbox"
    app = tmp_path / "desk.py"
    app.write_text(AGENT_FILE.format(url=served.url + "/hook", secret=SECRET, outbox=str(outbox)))
    helpdesk.faults = [422]
    hook = rk.WebhookTarget(
        served.url + "/hook",
        SECRET,
        outbox=outbox,
        policy=DeliveryPolicy(sweep_wait=0),
        sleep=sleep,
    )
    served.stop()

    def run(args: list[str]) -> int:  # in a thread: the test runs in no event loop of its own
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(main, args).result()

    import asyncio

    from .conftest import make_handoff

    asyncio.run(hook.deliver(make_handoff(1)))
    asyncio.run(hook.deliver(make_handoff(2)))
    assert len(hook.outbox.pending()) == 2
    served.start()
    assert run(["deliver", f"{app}:agent", "--retry"]) == 1  # one was refused (422)
    out = capsys.readouterr().out
    assert "1 delivered, 0 waiting, 1 dead-lettered" in out
    assert len(helpdesk.webhooks) == 1
    assert run(["deliver", f"{app}:agent", "--requeue"]) == 0
    assert "1 dead letter(s) requeued" in capsys.readouterr().out
    assert len(helpdesk.webhooks) == 2 and hook.outbox.pending() == []
