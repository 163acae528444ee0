"""OpenAIModel streaming the customer-visible text of its answers while a live observer watches,
over the real openai client and the local fake server's SSE answers (no network)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from _openai_server import (
    FakeOpenAIServer,
    Scripted,
    completion,
    logprob_tokens,
    sse_bytes,
    stream_chunks,
    tool_call,
)

from resolvekit.exceptions import ModelTimeout, UnexpectedModelBehavior
from resolvekit.live import observe
from resolvekit.messages import AskClarification, Message, Reply, StartIntent
from resolvekit.models import IntentSpec, ModelRequest, Passage, SlotSpec
from resolvekit.models.openai import OpenAIModel, OpenAISettings

pytestmark = pytest.mark.usefixtures("allow_openai_requests")

TRICKY = 'Café "déjà vu" \\ ok 😀\nline\ttab / é [1]'
"""Escapes, multibyte characters, a surrogate pair (when ASCII-escaped), a backslash."""

CANCEL = IntentSpec(
    name="CancelOrder",
    description="Cancel a pending order.",
    slots=[SlotSpec(name="order_id", description="The order number")],
)

TURN_KINDS = frozenset({"start_intent", "ask_clarification", "escalate", "reply"})


def turn(**kw: Any) -> ModelRequest:
    kw.setdefault("allowed", TURN_KINDS)
    kw.setdefault("intents", [CANCEL])
    return ModelRequest(messages=[Message(role="customer", text="hello")], **kw)


def answer_request() -> ModelRequest:
    return ModelRequest(
        messages=[Message(role="customer", text="How long do refunds take?")],
        allowed=frozenset({"reply", "ask_clarification"}),
        task="answer",
        passages=[Passage(text="Refunds take 5-7 business days.", citation=None)],
    )


@pytest.fixture
def model(server: FakeOpenAIServer) -> OpenAIModel:
    settings = OpenAISettings(retry_initial=0.001, retry_max_wait=0.01, timeout=10.0)
    return OpenAIModel("gpt-4.1-mini", base_url=server.url, api_key="sk-test", settings=settings)


class Watch:
    """A live observer that records what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        self.events.append((kind, data))

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def tokens(self) -> list[str]:
        return [data["text"] for kind, data in self.events if kind == "token"]

    def shown(self) -> str:
        """The provisional text a UI shows at the end: tokens since the last retract."""
        text = ""
        for kind, data in self.events:
            text = "" if kind == "retract" else text + data["text"]
        return text


async def watched(model: OpenAIModel, request: ModelRequest) -> tuple[Any, Watch]:
    watch = Watch()
    with observe(watch):
        response = await model.request(request)
    return response, watch


@pytest.mark.parametrize(
    ("piece", "write_bytes", "ascii"), [(1, 1, False), (2, 3, True), (3, 7, False), (5, 2, True)]
)
async def test_reply_text_streams_as_tokens_that_join_to_the_reply(
    server: FakeOpenAIServer, model: OpenAIModel, piece: int, write_bytes: int, ascii: bool
) -> None:
    # Cut every piece characters of the arguments (inside escapes, the key, surrogate pairs)
    # and every write_bytes bytes on the wire (inside UTF-8 sequences).
    server.push(
        Scripted(
            body=tool_call("reply", {"text": TRICKY, "close": False}),
            piece=piece,
            write_bytes=write_bytes,
            ascii=ascii,
        )
    )
    response, watch = await watched(model, turn())
    assert response.decision == Reply(text=TRICKY)
    assert "".join(watch.tokens()) == TRICKY
    assert len(watch.tokens()) > 5
    assert "retract" not in watch.kinds
    sent = server.bodies[0]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_tokens_arrive_while_the_server_is_still_answering(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    resume = threading.Event()
    body = tool_call("reply", {"text": "Hello there, how can I help you today?"})
    scripted = Scripted(
        body=body,
        pause_at=len(sse_bytes(stream_chunks(body)[:10], done=False)),  # a few words in
        pause=10.0,
        resume=resume,
    )
    server.push(scripted)
    paused: list[bool] = []

    def watch(kind: str, data: dict[str, Any]) -> None:
        if kind == "token" and not resume.is_set():
            # The server cannot write past its pause point before ``resume`` is set (here, or
            # by the 10 s timeout): a token seen while ``resumed`` is None came before the rest
            # of the answer. (The server may not have reached the pause yet: under load the
            # first tokens can be read before it gets there.)
            paused.append(scripted.resumed is None)
            resume.set()

    with observe(watch):
        response = await model.request(turn())
    assert response.decision == Reply(text="Hello there, how can I help you today?")
    assert paused == [True]  # the first token came while the server waited mid-answer
    assert scripted.resumed is True  # released by the first token, not by the 10 s timeout


async def test_clarification_text_streams(server: FakeOpenAIServer, model: OpenAIModel) -> None:
    server.push(tool_call("ask_clarification", {"options": ["a", "b"], "text": "Which one?"}))
    response, watch = await watched(model, turn())
    assert response.decision == AskClarification(text="Which one?", options=["a", "b"])
    assert "".join(watch.tokens()) == "Which one?"


async def test_decisions_that_say_nothing_emit_no_tokens(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    server.push(
        tool_call("start_cancel_order", {"order_id": "W1234567"}),
        tool_call("escalate", {"reason": "a text field that is not for the customer"}),
    )
    first, watch = await watched(model, turn())
    assert first.decision == StartIntent(intent="CancelOrder", slots={"order_id": "W1234567"})
    second, watch2 = await watched(model, turn())
    assert second.decision.kind == "escalate"
    assert watch.events == [] and watch2.events == []
    assert [b["stream"] for b in server.bodies] == [True, True]


async def test_without_an_observer_nothing_is_streamed(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    server.push(tool_call("reply", {"text": "hi"}))
    response = await model.request(turn())
    assert response.decision == Reply(text="hi")
    assert "stream" not in server.bodies[0] and "stream_options" not in server.bodies[0]


async def test_requests_with_no_text_for_the_customer_are_not_streamed(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    server.push(tool_call("start_cancel_order", {}))
    response, watch = await watched(model, turn(allowed=frozenset({"start_intent", "escalate"})))
    assert response.decision == StartIntent(intent="CancelOrder")
    assert "stream" not in server.bodies[0]
    assert watch.events == []


def json_answer(answer: str, **data: Any) -> dict[str, Any]:
    content = {"answerable": True, "answer": answer, "citations": [1], "confidence": 0.8, **data}
    tokens = logprob_tokens(('{"answerable": ', -0.01), ("true", -0.1), (", ...}", 0.0))
    return completion({"content": "```json\n" + json.dumps(content) + "\n```"}, logprobs=tokens)


async def test_grounded_answer_streams_its_answer_field(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    server.push(Scripted(body=json_answer(TRICKY), piece=2, ascii=True))
    response, watch = await watched(model, answer_request())
    assert isinstance(response.decision, Reply)
    assert response.decision.text == TRICKY.strip()
    assert "".join(watch.tokens()) == TRICKY


@pytest.mark.parametrize(
    "body",
    [
        tool_call(
            "start_cancel_order",
            {"order_id": "W1", "confidence": 0.4},
            logprobs=logprob_tokens(("start_cancel", -0.1), ("_order", -0.2)),
        ),
        tool_call("reply", {"text": TRICKY}, prompt_tokens=321, completion_tokens=45),
        "answer",
    ],
    ids=["logprobs", "usage", "json"],
)
async def test_a_streamed_answer_is_the_same_response_as_a_plain_one(
    server: FakeOpenAIServer, model: OpenAIModel, body: Any
) -> None:
    request = answer_request() if body == "answer" else turn()
    body = json_answer("Refunds take 5-7 business days [1].") if body == "answer" else body
    server.push(body, Scripted(body=body, piece=2))
    plain = await model.request(request)
    streamed, _ = await watched(model, request)
    assert streamed == plain
    assert streamed.usage.requests == 1
    assert streamed.usage.prompt_tokens == body["usage"]["prompt_tokens"]
    assert streamed.usage.completion_tokens == body["usage"]["completion_tokens"]
    assert [b.get("stream", False) for b in server.bodies] == [False, True]


async def test_a_stream_cut_off_is_retried_after_a_retract(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    first = tool_call("reply", {"text": "I will cancel the wrong order now"})
    server.push(
        Scripted(body=first, cut=len(sse_bytes(stream_chunks(first))) // 2),
        tool_call("reply", {"text": "Which order should I cancel?"}),
    )
    response, watch = await watched(model, turn())
    assert response.decision == Reply(text="Which order should I cancel?")
    assert "retract" in watch.kinds
    assert "".join(watch.tokens()).startswith("I will")  # shown, then retracted
    assert watch.shown() == "Which order should I cancel?"
    assert response.usage.requests == 1
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "broken",
    [
        "no_finish",  # the server ends the stream cleanly half-way
        "not_json",  # a data line that is not JSON
        "not_a_chunk",  # choices that are not a list
        "error_event",  # the server reports an error inside the stream
    ],
)
async def test_a_broken_stream_is_retried_and_the_retry_wins(
    server: FakeOpenAIServer, model: OpenAIModel, broken: str
) -> None:
    chunks = stream_chunks(tool_call("reply", {"text": "Partial words that go away"}))
    head = chunks[: len(chunks) // 2]
    tail: list[Any] = {
        "no_finish": [],
        "not_json": [b'data: {"choices": [\n\n'],
        "not_a_chunk": [{"choices": "nope"}],
        "error_event": [{"error": {"message": "overloaded", "type": "server_error"}}],
    }[broken]
    server.push(
        Scripted(stream=sse_bytes(head + tail, done=broken != "no_finish")),
        tool_call("reply", {"text": "Done."}),
    )
    response, watch = await watched(model, turn())
    assert response.decision == Reply(text="Done.")
    assert watch.kinds.index("retract") < len(watch.kinds) - 1
    assert watch.shown() == "Done."


async def test_a_broken_stream_every_time_is_a_typed_error_after_a_retract(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    chunks = stream_chunks(tool_call("reply", {"text": "Never finished"}))
    for _ in range(3):
        server.push(Scripted(stream=sse_bytes(chunks[:-2], done=False)))  # no finish_reason
    watch = Watch()
    with observe(watch), pytest.raises(UnexpectedModelBehavior, match="before the answer was"):
        await model.request(turn())
    assert len(server.requests) == 3
    assert watch.kinds.count("retract") == 3 and watch.kinds[-1] == "retract"
    assert watch.shown() == ""


async def test_a_stalled_stream_times_out_and_retracts(server: FakeOpenAIServer) -> None:
    settings = OpenAISettings(retry_initial=0.001, retry_max_wait=0.01, timeout=0.5, max_retries=0)
    model = OpenAIModel("m", base_url=server.url, api_key="k", settings=settings)
    body = tool_call("reply", {"text": "Hello, this answer stalls half way through"})
    server.push(Scripted(body=body, pause_at=len(sse_bytes(stream_chunks(body))) // 2, pause=5))
    watch = Watch()
    with observe(watch), pytest.raises(ModelTimeout):
        await model.request(turn())
    assert watch.tokens() and watch.kinds[-1] == "retract"


async def test_an_invalid_streamed_reply_is_retracted_before_the_correction(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    server.push(
        tool_call("reply", {"text": "Bye", "close": "not a boolean"}),
        tool_call("reply", {"text": "Goodbye!", "close": True}),
    )
    response, watch = await watched(model, turn())
    assert response.decision == Reply(text="Goodbye!", close=True)
    retract = watch.kinds.index("retract")
    assert "".join(watch.tokens()) == "ByeGoodbye!"
    assert watch.kinds[:retract] == ["token"] * retract
    assert watch.shown() == "Goodbye!"
    assert response.usage.requests == 2


async def test_a_server_rejecting_stream_options_steps_down_once(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    from _openai_server import error

    server.push(
        error(400, "Unrecognized request argument supplied: stream_options"),
        tool_call("reply", {"text": "hi"}),
    )
    response, watch = await watched(model, turn())
    assert response.decision == Reply(text="hi")
    assert "stream_options" in server.bodies[0] and "stream_options" not in server.bodies[1]
    assert server.bodies[1]["stream"] is True
    assert "".join(watch.tokens()) == "hi"


async def test_a_server_that_ignores_stream_answers_plainly(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    body = tool_call("reply", {"text": "hi there"})
    server.push(Scripted(raw=json.dumps(body).encode()))  # JSON, not events
    response, watch = await watched(model, turn())
    assert response.decision == Reply(text="hi there")
    assert server.bodies[0]["stream"] is True
    assert watch.events == []  # nothing streamed, and nothing to retract


async def test_chunks_with_a_null_delta_are_accepted(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    chunks = stream_chunks(tool_call("reply", {"text": "ok"}))
    chunks.insert(1, {"choices": [{"index": 0, "delta": None}]})
    server.push(Scripted(stream=sse_bytes(chunks)))
    response, watch = await watched(model, turn())
    assert response.decision == Reply(text="ok")
    assert "".join(watch.tokens()) == "ok"
