"""The approvals pane: pending approvals (``ctx.approve``) with approve/decline buttons for a
human whose role may decide them, read only for others; a double click decides once."""

from __future__ import annotations

import re
from typing import Any

import httpx2

from resolvekit.console import create_app
from tests.approvals.refunds import Bank, build
from tests.console.support import KEY


async def _client(bank: Bank, name: str, agent: Any = None) -> tuple[httpx2.AsyncClient, Any]:
    agent = agent or build(bank)
    app = create_app(agent, api_key=KEY, roles={"lena": "team_lead", "max": "manager"})
    client = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://c.test")
    assert (await client.post("/login", data={"name": name, "key": KEY})).status_code == 303
    return client, agent


async def _pending(
    client: httpx2.AsyncClient, agent: Any, customer: str, text: str
) -> tuple[str, str]:
    """The customer asks; the inbox's one approval id and the page's CSRF token."""
    await agent.handle(customer, text)
    html = (await client.get("/")).text
    [aid] = re.findall(r"data-approval='([^']+)'", html)
    return aid, _token(html)


def _token(html: str) -> str:
    found = re.search(r"name='csrf' value='([^']+)'", html) or re.search(
        r'name="csrf" value="([^"]+)"', html
    )
    assert found is not None
    return found.group(1)


async def test_a_team_lead_approves_once_and_the_playbook_refunds() -> None:
    bank = Bank()
    client, agent = await _client(bank, "lena")
    await agent.handle("c-1", "refund CH2002")
    await agent.handle("c-2", "refund CH3003")  # a manager's
    html = (await client.get("/")).text
    rows = re.findall(r"data-approval='([^']+)'", html)
    assert len(rows) == 1 and "refund 120 on CH2002" in html and "Approve" in html
    for _ in range(2):  # a double click
        response = await client.post(
            f"/approvals/{rows[0]}", data={"csrf": _token(html), "decision": "approve"}
        )
        assert response.status_code == 200
    assert bank.refunds == [("CH2002", 120.0)]
    assert "already" in response.text  # the second click is told who decided
    assert "approvals-empty" in (await client.get("/")).text
    await client.aclose()


async def test_without_a_role_approvals_are_read_only() -> None:
    bank = Bank()
    client, agent = await _client(bank, "sam")
    aid, token = await _pending(client, agent, "c-1", "refund CH2002")
    html = (await client.get("/")).text
    assert "read only" in html and "value='approve'" not in html
    response = await client.post(f"/approvals/{aid}", data={"csrf": token, "decision": "approve"})
    assert response.status_code == 400 and "has no approval role" in response.text
    assert bank.refunds == []
    await client.aclose()


async def test_a_manager_declines_with_a_note_and_a_wrong_role_cannot() -> None:
    bank = Bank()
    client, agent = await _client(bank, "max")
    aid, token = await _pending(client, agent, "c-2", "refund CH3003")
    bad = await client.post(f"/approvals/{aid}", data={"csrf": token, "decision": "maybe"})
    assert bad.status_code == 400 and bank.refunds == []
    response = await client.post(
        f"/approvals/{aid}",
        data={"csrf": token, "decision": "decline", "note": "over the limit"},
    )
    assert "declined by max" in response.text and bank.refunds == []
    await agent.handle("c-3", "refund CH3003")
    lead, _ = await _client(bank, "lena", agent)
    assert "data-approval" not in (await lead.get("/")).text  # not a team lead's to decide
    manager, _ = await _client(bank, "max", agent)
    assert "data-approval" in (await manager.get("/")).text
    await manager.aclose()
    await client.aclose()
    await lead.aclose()
