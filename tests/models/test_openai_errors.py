"""Every failure of OpenAIModel.request is a typed ModelError; garbage 200 bodies are retried.

Bodies are served by the scripted local server through the real openai client; transport
failures the client does not wrap (an OSError inside the transport...) are injected with a custom
transport. Retry waits are zero.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _openai_server import FakeOpenAIServer, Scripted, completion, logprob_tokens, tool_call
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import resolvekit.models as models
from resolvekit.exceptions import (
    ModelConnectionError,
    ModelRequestsBlocked,
    ModelTimeout,
    UnexpectedModelBehavior,
)
from resolvekit.messages import Message, Reply
from resolvekit.models import IntentSpec, ModelRequest, ModelResponse, Passage
from resolvekit.models.openai import OpenAIModel, OpenAISettings

pytestmark = pytest.mark.usefixtures("allow_openai_requests")

GOOD = tool_call("reply", {"text": "Hello!"})


def turn(text: str = "hi") -> ModelRequest:
    return ModelRequest(
        messages=[Message(role="customer", text=text)],
        allowed=frozenset({"start_intent", "escalate", "reply"}),
        intents=[IntentSpec(name="CancelOrder", description="Cancel an order.")],
    )


def answer() -> ModelRequest:
    return ModelRequest(
        task="answer",
        query="how long do refunds take?",
        passages=[Passage(text="Refunds take 5-7 business days.")],
        messages=[Message(role="customer", text="How long do refunds take?")],
        allowed=frozenset({"reply", "ask_clarification"}),
    )


def no_wait(**kw: Any) -> OpenAISettings:
    kw.setdefault("max_retries", 2)
    return OpenAISettings(retry_initial=0, retry_max_wait=0, retry_jitter=0, timeout=5, **kw)


@pytest.fixture
def model(server: FakeOpenAIServer) -> OpenAIModel:
    return OpenAIModel("gpt-4.1-mini", base_url=server.url, api_key="k", settings=no_wait())


def with_choice(**choice: Any) -> dict[str, Any]:
    """GOOD with its first choice's members replaced."""
    body = json.loads(json.dumps(GOOD))
    body["choices"][0].update(choice)
    return body


def with_message(**message: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(GOOD))
    body["choices"][0]["message"].update(message)
    return body


def with_function(**function: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(GOOD))
    body["choices"][0]["message"]["tool_calls"][0]["function"].update(function)
    return body


def raw(data: bytes, content_type: str = "application/json") -> Scripted:
    return Scripted(raw=data, content_type=content_type)


GOOD_BYTES = json.dumps(GOOD).encode()

# Bodies of HTTP 200 responses that are not a usable chat completion.
BAD_BODIES: dict[str, Scripted] = {
    "empty": raw(b""),
    "whitespace": raw(b" \r\n "),
    "truncated": raw(GOOD_BYTES[: len(GOOD_BYTES) // 2]),
    "not-json": raw(b"upstream connect error or disconnect/reset before headers"),
    "not-utf8": raw(b'{"id": "\xff\xfe\xfd", "choices": []}'),
    "html": raw(b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    "no-content-type": raw(b"OK", ""),
    "json-null": raw(b"null"),
    "json-list": raw(b"[1, 2, 3]"),
    "json-string": raw(b'"chat.completion"'),
    "json-number": raw(b"42"),
    "object-not-a-completion": Scripted(body={"status": "ok"}),
    "error-object-with-200": Scripted(body={"error": {"message": "overloaded"}}),
    "choices-missing": Scripted(body={k: v for k, v in GOOD.items() if k != "choices"}),
    "choices-empty": Scripted(body={**GOOD, "choices": []}),
    "choices-null": Scripted(body={**GOOD, "choices": None}),
    "choices-not-a-list": Scripted(body={**GOOD, "choices": "reply"}),
    "choice-not-an-object": Scripted(body={**GOOD, "choices": [7]}),
    "message-null": Scripted(body=with_choice(message=None)),
    "message-missing": Scripted(body={**GOOD, "choices": [{"index": 0}]}),
    "message-not-an-object": Scripted(body=with_choice(message="Hello!")),
    "content-not-a-string": Scripted(body=with_message(content={"text": "hi"})),
    "tool-calls-not-a-list": Scripted(body=with_message(tool_calls="reply")),
    "tool-call-not-an-object": Scripted(body=with_message(tool_calls=[5])),
    "function-not-an-object": Scripted(
        body=with_message(tool_calls=[{"id": "c", "type": "function", "function": "reply"}])
    ),
    "function-name-missing": Scripted(
        body=with_message(tool_calls=[{"id": "c", "function": {"arguments": "{}"}}])
    ),
    "arguments-a-number": Scripted(body=with_function(arguments=5)),
}


@pytest.mark.parametrize("bad", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_body_is_retried_then_unexpected_model_behavior(
    server: FakeOpenAIServer, model: OpenAIModel, bad: Scripted
) -> None:
    server.push(bad, bad, bad, GOOD)  # GOOD would be a 4th attempt: there is none
    with pytest.raises(UnexpectedModelBehavior, match=r"unusable response .*\(3 attempt") as info:
        await model.request(turn())
    assert len(server.requests) == 3
    assert len(server.queue) == 1
    # The excerpt of what came back, as text, for logs and the handoff.
    sent = bad.raw if bad.raw is not None else json.dumps(bad.body).encode()
    assert isinstance(info.value.body, str)
    assert info.value.body == sent.decode("utf-8", errors="replace")
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, Exception)


@pytest.mark.parametrize("bad", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_body_then_a_good_one_succeeds(
    server: FakeOpenAIServer, model: OpenAIModel, bad: Scripted
) -> None:
    server.push(bad, GOOD)
    response = await model.request(turn())
    assert response.decision == Reply(text="Hello!")
    assert len(server.requests) == 2
    assert response.usage.requests == 1  # only the usable response is counted
    assert server.requests[0].body == server.requests[1].body  # the same request, resent


async def test_bad_body_in_an_answer_request_is_retried_too(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    good = completion(
        {
            "content": json.dumps(
                {"answerable": True, "answer": "5-7 days [1].", "citations": [1], "confidence": 0.8}
            )
        }
    )
    server.push(raw(b""), raw(b'{"choices": [{"message": null}]}'), good)
    response = await model.request(answer())
    assert response.decision == Reply(text="5-7 days [1].")
    assert len(server.requests) == 3


async def test_the_body_excerpt_is_capped(server: FakeOpenAIServer) -> None:
    model = OpenAIModel("m", base_url=server.url, settings=no_wait(max_retries=0))
    server.push(raw(b"<html>" + b"x" * 200_000, "text/html"))
    with pytest.raises(UnexpectedModelBehavior) as info:
        await model.request(turn())
    body = info.value.body
    assert isinstance(body, str)
    assert body.startswith("<html>xxx")
    assert body.endswith("... [200006 bytes in all]")
    assert len(body) <= 600  # 500 bytes of the body and a note of its size
    assert len(str(info.value)) < 600
    assert "text/html" in str(info.value)


async def test_a_connection_cut_mid_body_is_retried_then_a_connection_error(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    cut = Scripted(body=GOOD, cut=25)  # announces the full length, sends 25 bytes, hangs up
    server.push(cut, cut, cut)
    with pytest.raises(ModelConnectionError, match=r"\(3 attempt"):
        await model.request(turn())
    assert len(server.requests) == 3


async def test_a_connection_cut_then_a_good_body_succeeds(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    server.push(Scripted(body=GOOD, cut=25), GOOD)
    assert (await model.request(turn())).decision == Reply(text="Hello!")
    assert len(server.requests) == 2


async def test_html_content_type_with_a_completion_body_is_accepted(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    # The openai client reads JSON whatever the content type; so do we.
    server.push(Scripted(body=GOOD, content_type="text/html"))
    assert (await model.request(turn())).decision == Reply(text="Hello!")
    assert len(server.requests) == 1


# --- a well-formed completion with an invalid decision: one correction, as before ----------


async def test_non_json_arguments_are_corrected_once_not_retried(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    bad = tool_call("reply", '{"text": "Hel')
    server.push(bad, bad, GOOD)
    with pytest.raises(UnexpectedModelBehavior, match="after one correction") as info:
        await model.request(turn())
    assert len(server.requests) == 2  # the original and the correction: no transport retry
    assert "not valid JSON" in server.requests[1].body["messages"][-1]["content"]
    assert info.value.body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == (
        '{"text": "Hel'
    )


async def test_arguments_sent_as_an_object_are_accepted(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    server.push(with_function(arguments={"text": "As an object"}))
    assert (await model.request(turn())).decision == Reply(text="As an object")


async def test_a_non_function_tool_call_is_corrected_not_retried(
    server: FakeOpenAIServer, model: OpenAIModel
) -> None:
    custom = with_message(tool_calls=[{"id": "c", "type": "custom", "custom": {"input": "x"}}])
    server.push(custom, GOOD)
    assert (await model.request(turn())).decision == Reply(text="Hello!")
    assert len(server.requests) == 2
    assert "Only function tool calls" in server.requests[1].body["messages"][-1]["content"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({**GOOD, "usage": "lots"}, id="usage-a-string"),
        pytest.param(
            {**GOOD, "usage": {"prompt_tokens": "x", "completion_tokens": -3}},
            id="usage-counts-garbage",
        ),
        pytest.param({**GOOD, "model": 7}, id="model-not-a-string"),
        pytest.param(with_choice(logprobs="high"), id="logprobs-a-string"),
        pytest.param(
            with_choice(logprobs={"content": [{"token": 1, "logprob": "x"}]}), id="logprobs-garbage"
        ),
        pytest.param(
            with_choice(logprobs=logprob_tokens(("reply", 1000.0))), id="logprob-positive"
        ),
        pytest.param(
            with_choice(logprobs=logprob_tokens(("re", float("-inf")), ("ply", -0.1))),
            id="logprob-minus-infinity",
        ),
    ],
)
async def test_malformed_optional_members_do_not_fail_a_usable_decision(
    server: FakeOpenAIServer, model: OpenAIModel, body: dict[str, Any]
) -> None:
    server.push(Scripted(raw=json.dumps(body).encode()))  # json.dumps writes -Infinity as is
    response = await model.request(turn())
    assert response.decision == Reply(text="Hello!")
    assert response.confidence is None or 0.0 <= response.confidence <= 1.0
    assert response.usage.prompt_tokens >= 0
    assert response.usage.completion_tokens >= 0
    assert len(server.requests) == 1


# --- failures inside the transport, which the openai client lets through ------------------


class ScriptedTransport:
    """An httpx transport that raises the scripted exceptions, then answers with GOOD."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def handle_async_request(self, request: Any) -> Any:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        # The Response class of whichever httpx the openai client uses (httpx or httpx2).
        httpx = importlib.import_module(type(request).__module__.split(".")[0])
        return httpx.Response(200, json=GOOD, request=request)

    async def aclose(self) -> None:
        pass


def transport_model(transport: ScriptedTransport, **kw: Any) -> OpenAIModel:
    import openai

    client = openai.AsyncOpenAI(
        api_key="k",
        base_url="http://model.invalid/v1",
        http_client=openai.DefaultAsyncHttpxClient(transport=transport),  # type: ignore[arg-type]
    )
    return OpenAIModel("m", client=client, settings=no_wait(**kw))


async def test_transport_scripting_reaches_a_decision() -> None:
    transport = ScriptedTransport()
    assert (await transport_model(transport).request(turn())).decision == Reply(text="Hello!")
    assert transport.calls == 1


async def test_an_oserror_in_the_transport_is_retried_then_a_connection_error() -> None:
    transport = ScriptedTransport(*(OSError(f"disk on fire {i}") for i in range(3)))
    with pytest.raises(ModelConnectionError, match=r"\(3 attempt.*OSError: disk on fire 2") as info:
        await transport_model(transport).request(turn())
    assert transport.calls == 3
    assert isinstance(info.value.__cause__, OSError)


async def test_an_oserror_in_the_transport_then_success() -> None:
    transport = ScriptedTransport(ConnectionResetError("reset by peer"))
    assert (await transport_model(transport).request(turn())).decision == Reply(text="Hello!")
    assert transport.calls == 2


async def test_a_timeout_error_in_the_transport_is_a_model_timeout() -> None:
    transport = ScriptedTransport(TimeoutError("slow"), TimeoutError("slower"))
    with pytest.raises(ModelTimeout, match=r"\(2 attempt"):
        await transport_model(transport, max_retries=1).request(turn())
    assert transport.calls == 2


async def test_an_unexpected_client_exception_is_typed_and_not_retried() -> None:
    transport = ScriptedTransport(RuntimeError("a bug in some middleware"))
    with pytest.raises(
        UnexpectedModelBehavior, match="did not classify: RuntimeError: a bug in some middleware"
    ) as info:
        await transport_model(transport).request(turn())
    assert transport.calls == 1
    assert isinstance(info.value.__cause__, RuntimeError)  # the original, for debugging


async def test_blocked_requests_still_raise_model_requests_blocked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(models, "ALLOW_MODEL_REQUESTS", False)
    transport = ScriptedTransport()
    with pytest.raises(ModelRequestsBlocked):
        await transport_model(transport).request(turn())
    assert transport.calls == 0


async def test_cancellation_is_not_turned_into_a_model_error(server: FakeOpenAIServer) -> None:
    model = OpenAIModel("m", base_url=server.url, settings=no_wait())
    server.push(Scripted(body=GOOD, delay=5))
    task = asyncio.ensure_future(model.request(turn()))
    assert await asyncio.to_thread(server.received.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# --- property: whatever a 200 body holds, a ModelResponse or a ModelError ------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

BASES = [
    GOOD,
    tool_call("start_cancel_order", {"confidence": 0.9}),
    tool_call("escalate", {"reason": "asked for a person"}),
    completion({"content": "plain text, no call"}),
    completion(
        {
            "content": json.dumps(
                {"answerable": True, "answer": "A week [1].", "citations": [1], "confidence": 0.7}
            )
        },
        logprobs=logprob_tokens(('{"answerable": ', -0.1), ("true", -0.2)),
    ),
]
PATHS: list[tuple[Any, ...]] = [
    (),
    ("choices",),
    ("choices", 0),
    ("choices", 0, "message"),
    ("choices", 0, "message", "content"),
    ("choices", 0, "message", "tool_calls"),
    ("choices", 0, "message", "tool_calls", 0),
    ("choices", 0, "message", "tool_calls", 0, "id"),
    ("choices", 0, "message", "tool_calls", 0, "function"),
    ("choices", 0, "message", "tool_calls", 0, "function", "name"),
    ("choices", 0, "message", "tool_calls", 0, "function", "arguments"),
    ("choices", 0, "logprobs"),
    ("choices", 0, "logprobs", "content"),
    ("choices", 0, "logprobs", "content", 0, "logprob"),
    ("model",),
    ("usage",),
    ("usage", "prompt_tokens"),
]


def mutate(base: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    """``base`` with the member at ``path`` replaced by ``value`` (missing parents: unchanged)."""
    if not path:
        return value
    body = json.loads(json.dumps(base))
    parent = body
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return body
    if isinstance(parent, dict) or (isinstance(parent, list) and path[-1] < len(parent)):
        parent[path[-1]] = value
    return body


def as_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


# Members a usable decision does not depend on: garbage there must not fail the request.
OPTIONAL_PATHS = [p for p in PATHS if p[:1] in {("model",), ("usage",)} or "logprobs" in p]
OPTIONAL_PATHS += [("choices", 0, "message", "tool_calls", 0, "id"), ("id",), ("created",)]

BODIES = st.one_of(
    st.sampled_from(BASES).map(as_bytes),
    st.builds(mutate, st.sampled_from(BASES), st.sampled_from(OPTIONAL_PATHS), JSON).map(as_bytes),
    st.binary(max_size=300),
    JSON.map(as_bytes),
    st.builds(mutate, st.sampled_from(BASES), st.sampled_from(PATHS), JSON).map(as_bytes),
    st.sampled_from(BASES)
    .map(as_bytes)
    .flatmap(lambda good: st.integers(0, len(good)).map(lambda n: good[:n])),
)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


# Derandomized and without an example database: the same 100 bodies on every run, no files.
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(body=BODIES, task=st.sampled_from([turn, answer]))
async def test_any_200_body_gives_a_response_or_a_model_error(
    shared_server: FakeOpenAIServer, body: bytes, task: Callable[[], ModelRequest]
) -> None:
    server = shared_server
    server.queue.clear()
    server.requests.clear()
    # Two attempts, and a correction's two: the same body every time.
    server.push(*(Scripted(raw=body) for _ in range(4)))
    model = OpenAIModel("m", base_url=server.url, settings=no_wait(max_retries=1))
    outcome: ModelResponse | Exception
    try:
        outcome = await model.request(task())
    except Exception as exc:  # anything: the assertion below names it
        outcome = exc
    finally:
        await model.aclose()
    # Status 200 every time, so of the ModelErrors only UnexpectedModelBehavior can happen.
    event(type(outcome).__name__)
    assert isinstance(outcome, ModelResponse | UnexpectedModelBehavior), repr(outcome)
    if isinstance(outcome, ModelResponse):
        assert outcome.usage.requests >= 1
        assert outcome.confidence is None or 0.0 <= outcome.confidence <= 1.0
    assert 1 <= len(server.requests) <= 4
