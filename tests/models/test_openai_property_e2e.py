"""Property, end to end: an agent on OpenAIModel whose server answers at random.

The real ``openai`` client talks to a local server that answers each request with a random body:
well-formed function calls (start an intent, fill slots, confirm yes, reply...), HTTP errors,
garbage bytes, truncated or non-completion JSON. Whatever comes back, ``Agent.handle`` raises only
documented errors and no write runs without a confirmation the engine read as a yes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import pytest
from _openai_server import FakeOpenAIServer, Scripted, tool_call
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resolvekit as rk
from resolvekit.models.openai import OpenAIModel, OpenAISettings
from resolvekit.understanding.consent import read_consent
from tests.engine.shop import Backend, build_agent

pytestmark = pytest.mark.usefixtures("allow_openai_requests")

DOCUMENTED = (rk.InvalidMessage, rk.UserError, rk.StoreError, rk.InternalError)

CANCEL = {"order_id": "W1234567", "reason": "ordered by mistake"}
CALLS = [
    ("start_cancel_order", {**CANCEL, "confidence": 1}),
    ("start_order_status", {"order_id": "W1234567", "confidence": 0.9}),
    ("confirm", {"answer": "yes", "confidence": 1}),
    ("confirm", {"answer": "no"}),
    ("fill_slots", {"reason": "no longer needed"}),
    ("reply", {"text": "hi"}),
    ("escalate", {"reason": "x"}),
    ("cancel_order", {"order_id": "W1234567", "reason": "ordered by mistake"}),
    ("nonsense", {"a": 1}),
]  # fmt: skip

JUNK = ["", "{", "[]", "null", '{"choices": []}', '{"choices": [{"message": null}]}']

bodies = st.one_of(
    st.sampled_from(CALLS).map(lambda c: Scripted(body=tool_call(c[0], c[1]))),
    st.sampled_from(CALLS).map(lambda c: Scripted(body=tool_call(c[0], c[1]))),
    st.sampled_from([500, 502, 429, 400, 404]).map(
        lambda s: Scripted(status=s, body={"error": {"message": "no"}})
    ),
    st.binary(max_size=40).map(lambda b: Scripted(raw=b)),
    st.sampled_from(JUNK).map(lambda t: Scripted(raw=t.encode())),
    st.sampled_from(CALLS).map(lambda c: Scripted(raw=json.dumps(tool_call(*c)).encode()[:60])),
)  # fmt: skip

texts = st.sampled_from(
    ["cancel W1234567", "yes", "no", "I never said yes", "is it ok?", "\ud83d yes", "hmm", "ok"]
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    script=st.lists(bodies, min_size=5, max_size=60), said=st.lists(texts, min_size=8, max_size=8)
)
def test_random_server_answers_never_escape_handle_or_write_without_a_yes(
    server: FakeOpenAIServer, script: list[Scripted], said: list[str]
) -> None:
    server.queue.clear()
    # Every conversation opens with the attack: start the cancellation, then say yes to
    # whatever the customer answers; random answers follow.
    server.push(Scripted(body=tool_call(*CALLS[0])), Scripted(body=tool_call(*CALLS[2])), *script)
    fast = OpenAISettings(
        retry_initial=0, retry_max_wait=0, retry_jitter=0, timeout=5, max_retries=1
    )
    model = OpenAIModel("gpt-4.1-mini", base_url=server.url, api_key="k", settings=fast)
    backend = Backend()
    agent = build_agent(backend, model, handoff=[])

    async def play() -> None:
        for text in ["cancel W1234567", *said]:
            with contextlib.suppress(*DOCUMENTED):
                await agent.handle("c", text)
        conversation = await agent.store.open_conversation("c")
        runs = conversation.runs if conversation is not None else []
        done = 0
        for run in runs:
            for position, step in enumerate(run.journal):
                if step.kind == "call" and step.key == "cancel_order" and step.status == "done":
                    done += 1
                    confirm = [s for s in run.journal[:position] if s.kind == "confirm"][-1]
                    assert confirm.result is True and confirm.evidence is not None
                    assert read_consent(confirm.evidence["text"], confirm.key).answer == "yes"
        assert len(backend.writes) == done

    asyncio.run(play())
