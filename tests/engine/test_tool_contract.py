"""The tool contract in detail: how long a call may take, what the function receives, which
failures are retried, and the typed error each failure becomes (kind and message)."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Annotated, Any

import pytest
from pydantic import Field

import resolvekit as rk
from resolvekit.playbooks import Context
from resolvekit.tools import Tool

FAST = rk.RetryPolicy(attempts=3, initial=0.0, max_wait=0.0)


@pytest.mark.parametrize(
    ("options", "seconds"),
    [
        ({}, 3 * 30 + 2 * 2.0 + 5),  # a read: three attempts, two waits, a margin
        ({"effect": "write"}, 30 + 5),  # a plain write is never retried
        ({"timeout": None}, 3 * 300 + 2 * 2.0 + 5),  # no timeout: 300 s per attempt
        ({"timeout": 10, "retry": rk.RetryPolicy(attempts=2, max_wait=1.5)}, 2 * 10 + 1.5 + 5),
    ],
)
def test_max_duration_bounds_every_attempt_and_wait(
    options: dict[str, Any], seconds: float
) -> None:
    def lookup(order_id: str) -> str:
        return order_id

    assert rk.tool(**options)(lookup).max_duration() == pytest.approx(seconds)


def test_an_idempotent_write_has_the_time_of_its_retries() -> None:
    @rk.tool(effect="write", timeout=4, retry=rk.RetryPolicy(attempts=3, max_wait=1.0))
    def charge(amount: int, idempotency_key: str) -> str:
        return idempotency_key

    assert charge.max_duration() == pytest.approx(3 * 4 + 2 * 1.0 + 5)


async def test_a_started_write_is_journaled_with_its_deadline_and_owner() -> None:
    agent: rk.Agent[None] = rk.Agent(
        name="t",
        model=rk.ScriptedModel([rk.CallTool(tool="charge", args={"amount": 3})]),
        store="memory://",
        free_mode=True,
        handoff=[],
    )
    seen: list[rk.Step] = []

    @agent.tool(effect="write", timeout=7)
    async def charge(ctx: rk.Context[None], amount: int) -> str:
        """Charge."""
        conversation = await agent.store.open_conversation("c")  # checkpointed ahead
        assert conversation is not None
        seen.extend(s for r in conversation.runs for s in r.journal if s.kind == "call")
        return "ok"

    before = time.time()
    await agent.handle("c", "charge 3")
    (step,) = seen
    from resolvekit.sessions import PROCESS_ID

    assert (step.status, step.effect, step.owner) == ("started", "write", PROCESS_ID)
    assert step.deadline is not None
    assert before + 12 <= step.deadline <= time.time() + 12


def test_the_spec_a_model_sees() -> None:
    @rk.tool(effect="write", confirm=True, name="refund_order", description="Refund it.")
    def refund(order_id: str, idempotency_key: str) -> bool:
        """Ignored summary."""
        return True

    spec = refund.spec()
    assert (spec.name, spec.description, spec.effect, spec.confirm) == (
        "refund_order",
        "Refund it.",
        "write",
        True,
    )
    assert spec.parameters == refund.parameters
    assert spec.parameters["title"] == "RefundOrderArgs"
    assert list(spec.parameters["properties"]) == ["order_id"]


def test_invalid_arguments_list_every_problem_by_field() -> None:
    @rk.tool
    def get(count: int, name: str) -> int:
        return count

    with pytest.raises(rk.ToolError) as info:
        get.validate_args({"count": "three", "extra": 1})
    error = info.value
    assert (error.tool, error.kind) == ("get", "invalid_arguments")
    problems = error.message.split("; ")
    assert problems[0].startswith("count: Input should be a valid integer")
    assert "name: Field required" in problems
    assert "extra: Extra inputs are not permitted" in problems


async def test_the_function_receives_its_context_arguments_and_key() -> None:
    received: list[tuple[Any, ...]] = []

    @rk.tool(effect="write")
    def charge(ctx: rk.Context[None], amount: int, idempotency_key: str) -> str:
        received.append((ctx, amount, idempotency_key))
        return "ok"

    @rk.tool
    def plain(amount: int) -> int:
        received.append((amount,))
        return amount

    context: Any = object()
    assert await charge.invoke(context, {"amount": "5"}, "k-1") == "ok"
    assert await plain.invoke(context, {"amount": 2}, "ignored") == 2
    assert received == [(context, 5, "k-1"), (2,)]
    assert "idempotency_key" not in charge.parameters["properties"]


def test_a_first_parameter_named_ctx_without_a_hint_is_the_context() -> None:
    def lookup(ctx, order_id: str) -> str:  # type: ignore[no-untyped-def]
        return order_id

    tool = rk.tool(lookup)
    assert tool.takes_ctx
    assert list(tool.parameters["properties"]) == ["order_id"]


def test_a_context_parameter_that_is_not_first_is_an_argument() -> None:
    def lookup(order_id: str, ctx: int) -> str:
        return order_id

    tool = rk.tool(lookup)
    assert not tool.takes_ctx
    assert list(tool.parameters["properties"]) == ["order_id", "ctx"]


def flaky(failures: list[BaseException]) -> tuple[Any, list[int]]:
    calls: list[int] = []

    def call(amount: int) -> int:
        calls.append(amount)
        if failures:
            raise failures.pop(0)
        return amount

    return call, calls


@pytest.mark.parametrize(
    "error", [ConnectionError("reset"), TimeoutError(), rk.RetryableToolError("busy")]
)
async def test_a_read_is_retried_on_transient_failures(error: Exception) -> None:
    call, calls = flaky([error, error])
    assert await rk.tool(retry=FAST)(call).invoke(None, {"amount": 1}, None) == 1
    assert calls == [1, 1, 1]


async def test_a_read_gives_up_after_its_attempts_with_the_last_error() -> None:
    call, calls = flaky([ConnectionError("one"), ConnectionError("two"), ConnectionError("three")])
    with pytest.raises(rk.ToolError) as info:
        await rk.tool(retry=FAST)(call).invoke(None, {"amount": 1}, None)
    assert (info.value.kind, info.value.message) == ("exception", "ConnectionError: three")
    assert calls == [1, 1, 1]


async def test_a_plain_write_is_tried_once() -> None:
    call, calls = flaky([ConnectionError("reset")])
    with pytest.raises(rk.ToolError) as info:
        await rk.tool(effect="write", retry=FAST)(call).invoke(None, {"amount": 1}, None)
    assert (info.value.tool, info.value.kind) == ("call", "exception")
    assert calls == [1]


async def test_a_refusal_is_not_retried_and_keeps_its_words() -> None:
    call, calls = flaky([rk.ToolRefusal("order already shipped")])
    with pytest.raises(rk.ToolError) as info:
        await rk.tool(retry=FAST)(call).invoke(None, {"amount": 1}, None)
    assert (info.value.kind, info.value.message) == ("refused", "order already shipped")
    assert calls == [1]


async def test_a_tool_error_raised_by_the_function_passes_through() -> None:
    call, calls = flaky([rk.ToolError("bank", "refused", "card blocked")])
    with pytest.raises(rk.ToolError) as info:
        await rk.tool(retry=FAST)(call).invoke(None, {"amount": 1}, None)
    assert (info.value.tool, info.value.kind, info.value.message) == (
        "bank",
        "refused",
        "card blocked",
    )
    assert calls == [1]


async def test_timeouts_say_how_long_was_waited() -> None:
    @rk.tool(timeout=0.02, retry=rk.RetryPolicy(attempts=1))
    async def slow_read() -> str:
        await asyncio.sleep(1)
        return "late"

    @rk.tool(effect="write", timeout=0.02)
    async def slow_write() -> str:
        await asyncio.sleep(1)
        return "late"

    with pytest.raises(rk.ToolError) as read:
        await slow_read.invoke(None, {}, None)
    assert (read.value.tool, read.value.kind, read.value.message) == (
        "slow_read",
        "timeout",
        "no answer after 0.02s",
    )
    with pytest.raises(rk.ToolError) as write:
        await slow_write.invoke(None, {}, None)
    assert (write.value.tool, write.value.kind, write.value.message) == (
        "slow_write",
        "unknown_outcome",
        "no answer after 0.02s; the write may still take effect, so it is not repeated; a "
        "human must check whether it did",
    )


async def test_a_tool_without_a_timeout_is_waited_for() -> None:
    @rk.tool(timeout=None)
    async def patient() -> str:
        await asyncio.sleep(0.01)
        return "done"

    assert await patient.invoke(None, {}, None) == "done"


async def test_a_result_of_the_wrong_type_is_a_typed_error() -> None:
    @rk.tool
    def count() -> int:
        return "many"  # type: ignore[return-value]

    with pytest.raises(rk.ToolError) as info:
        await count.invoke(None, {}, None)
    assert (info.value.tool, info.value.kind) == ("count", "exception")
    assert info.value.message.startswith("result does not match the declared return type: ")


def test_calling_a_tool_directly_runs_the_function() -> None:
    @rk.tool
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, b=3) == 5


@pytest.mark.parametrize(
    ("define", "message"),
    [
        ("effect", "Tool 'lookup': effect must be 'read' or 'write', not 'delete'"),
        ("confirm", "Tool 'lookup': confirm=True only makes sense for effect='write'"),
        ("varargs", "Tool 'lookup': *args/**kwargs are not supported"),
        ("kwargs", "Tool 'lookup': *args/**kwargs are not supported"),
        ("untyped", "Tool 'lookup': parameter 'order_id' has no type hint; annotate it"),
        ("no_return", "Tool 'lookup' has no return type hint; annotate it (use -> None"),
        ("unknown_hint", "Tool 'lookup': cannot resolve its type hints: "),
    ],
)
def test_misdeclared_tools_are_rejected_with_the_reason(define: str, message: str) -> None:
    def lookup(order_id: str) -> str:
        return order_id

    def varargs(*order_ids: str) -> str:
        return ""

    def kwargs(**order_ids: str) -> str:
        return ""

    def untyped(order_id) -> str:  # type: ignore[no-untyped-def]
        return ""

    def no_return(order_id: str):  # type: ignore[no-untyped-def]
        return ""

    def unknown_hint(order_id: NoSuchType) -> str:  # type: ignore[name-defined]  # noqa: F821
        return ""

    build: dict[str, Any] = {
        "effect": lambda: rk.tool(effect="delete")(lookup),
        "confirm": lambda: rk.tool(confirm=True)(lookup),
        "varargs": lambda: rk.tool(name="lookup")(varargs),
        "kwargs": lambda: rk.tool(name="lookup")(kwargs),
        "untyped": lambda: rk.tool(name="lookup")(untyped),
        "no_return": lambda: rk.tool(name="lookup")(no_return),
        "unknown_hint": lambda: rk.tool(name="lookup")(unknown_hint),
    }
    with pytest.raises(rk.UserError) as info:
        build[define]()
    assert str(info.value).startswith(message)


def test_hints_naming_a_class_local_to_the_defining_function_resolve() -> None:
    from pydantic import BaseModel

    class Parcel(BaseModel):
        weight: int

    def ship(parcel: Parcel) -> Parcel:
        return parcel

    tool = rk.tool(ship)
    assert tool.load_result({"weight": 2}) == Parcel(weight=2)


def test_a_docstring_gives_the_summary_and_each_arguments_description() -> None:
    def refund(order_id: str, amount: float, note: str = "") -> bool:
        """Refund part
        of an order.

        Longer explanation that is not the summary.

        Args:
            order_id (str): the order,
                e.g. W1234567.
            amount: how much.
        Returns:
            True when done.
        Raises:
            note: not an argument.
        """
        return True

    tool: Tool[Any] = rk.tool(refund)
    assert tool.description == "Refund part of an order."
    properties = tool.parameters["properties"]
    assert properties["order_id"]["description"] == "the order, e.g. W1234567."
    assert properties["amount"]["description"] == "how much."
    assert "description" not in properties["note"]
    assert properties["note"]["default"] == ""


def test_a_tab_indented_docstring_is_read_too() -> None:
    def lookup(order_id: str, region: str) -> str:
        return order_id

    lookup.__doc__ = "Look up.\n\nArgs:\n\torder_id: the order.\n\tregion: where.\n"
    properties = rk.tool(lookup).parameters["properties"]
    assert properties["order_id"]["description"] == "the order."
    assert properties["region"]["description"] == "where."


def test_an_argument_description_that_looks_like_a_name_continues_it() -> None:
    def lookup(order_id: str, region: str) -> str:
        return order_id

    lookup.__doc__ = (
        "Look up.\n\nArgs:\n    order_id: the order,\n        note: with a colon.\n"
        "    region: where.\n"
    )
    properties = rk.tool(lookup).parameters["properties"]
    assert properties["order_id"]["description"] == "the order, note: with a colon."
    assert properties["region"]["description"] == "where."


@pytest.mark.parametrize("header", ["Args", "Arguments", "Parameters"])
def test_every_argument_section_name_is_read(header: str) -> None:
    def lookup(order_id: str) -> str:
        return order_id

    lookup.__doc__ = f"Look up.\n\n{header}:\n    order_id: the order.\n"
    assert rk.tool(lookup).parameters["properties"]["order_id"]["description"] == "the order."


def test_the_first_argument_of_a_deeply_indented_section_is_read() -> None:
    def lookup(order_id: str) -> str:
        return order_id

    lookup.__doc__ = "Look up.\n\nArgs:\n        order_id: the order.\n"
    assert rk.tool(lookup).parameters["properties"]["order_id"]["description"] == "the order."


def test_nested_argument_errors_name_the_path() -> None:
    @rk.tool
    def ship(items: list[int]) -> int:
        return len(items)

    with pytest.raises(rk.ToolError) as info:
        ship.validate_args({"items": [1, "two"]})
    assert info.value.message.startswith("items.1: Input should be a valid integer")


async def test_dates_travel_as_json_in_arguments_and_results() -> None:
    @rk.tool
    def next_day(day: datetime.date) -> datetime.date:
        return day + datetime.timedelta(days=1)

    assert next_day.validate_args({"day": datetime.date(2026, 12, 24)}) == {"day": "2026-12-24"}
    assert await next_day.invoke(None, {"day": "2026-12-24"}, None) == "2026-12-25"
    assert next_day.dump_result(datetime.date(2026, 12, 31)) == "2026-12-31"


def test_annotated_constraints_are_kept() -> None:
    def pick(count: Annotated[int, Field(ge=1)]) -> int:
        return count

    tool = rk.tool(pick)
    assert tool.parameters["properties"]["count"]["minimum"] == 1
    with pytest.raises(rk.ToolError):
        tool.validate_args({"count": 0})


def test_a_tool_without_a_docstring_has_no_description() -> None:
    def ping() -> str:
        return "pong"

    assert rk.tool(ping).description == ""


def test_the_context_is_found_by_its_type_whatever_its_name() -> None:
    def by_type(context: rk.Context[None], order_id: str) -> str:
        return order_id

    def bare(c: Context, order_id: str) -> str:  # type: ignore[type-arg]
        return order_id

    for function in (by_type, bare):
        tool = rk.tool(function)
        assert tool.takes_ctx
        assert list(tool.parameters["properties"]) == ["order_id"]


def test_arguments_after_the_idempotency_key_are_arguments_too() -> None:
    def charge(idempotency_key: str, amount: int, currency: str = "EUR") -> str:
        return idempotency_key

    tool = rk.tool(effect="write")(charge)
    assert tool.idempotent
    assert list(tool.parameters["properties"]) == ["amount", "currency"]


def test_the_argument_model_is_named_after_the_tool() -> None:
    def lookup(order_id: str) -> str:
        return order_id

    assert rk.tool(name="getOrder")(lookup).parameters["title"] == "GetorderArgs"
    assert rk.tool(name="get-order v2")(lookup).parameters["title"] == "GetOrderV2Args"
