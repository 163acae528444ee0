"""Tools: schemas, validation, sync/async, timeouts, retries, confirmation and typed errors.

About internals: these tests also check private helpers directly
(``resolvekit.tools._parse_docstring``).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import resolvekit as rk
from resolvekit.tools import _parse_docstring

from .shop import Backend, build_agent


def test_schema_comes_from_signature_and_docstring() -> None:
    @rk.tool(effect="write")
    def refund(
        ctx: rk.Context[None],
        order_id: str,
        amount: float,
        method: Literal["card", "gift_card"] = "card",
        idempotency_key: str = "",
    ) -> bool:
        """Refund part of an order.

        Args:
            order_id: the order, e.g. W1234567.
            amount: how much to refund,
                in dollars.
            method: where the money goes.
        """
        return True

    assert refund.description == "Refund part of an order."
    assert refund.takes_ctx and refund.idempotent
    schema = refund.parameters
    assert schema["required"] == ["order_id", "amount"]
    assert set(schema["properties"]) == {"order_id", "amount", "method"}
    assert schema["properties"]["amount"]["description"] == "how much to refund, in dollars."
    assert schema["properties"]["method"]["enum"] == ["card", "gift_card"]
    assert schema["additionalProperties"] is False
    spec = refund.spec()
    assert (spec.name, spec.effect, spec.confirm) == ("refund", "write", False)


def _described(tool: rk.Tool[object]) -> dict[str, str | None]:
    """Each parameter's description in the tool's JSON Schema."""
    return {name: p.get("description") for name, p in tool.parameters["properties"].items()}


def test_docstring_types_in_parentheses_and_paragraphs_of_arguments() -> None:
    @rk.tool
    def find(order_id: str, email: str, limit: int = 5) -> list[str]:
        """Find orders.

        Matches the customer's orders; this paragraph is not in the description.

        Args:
            order_id (str): the order,
                e.g. W1234567.

                A second paragraph of the same argument.
            email (str, optional): the customer's email.
            limit: at most this many.

        Returns:
            list[str]: the order ids, which are not an argument.

        Raises:
            KeyError: never an argument either.
        """
        return []

    assert find.description == "Find orders."
    assert _described(find) == {
        "order_id": "the order, e.g. W1234567. A second paragraph of the same argument.",
        "email": "the customer's email.",
        "limit": "at most this many.",
    }


def test_a_summary_on_several_lines_and_no_blank_line_before_args() -> None:
    @rk.tool
    def track(order_id: str) -> str:
        """Track an order
        from the warehouse to the door.
        Args:
            order_id: the order.
        """
        return ""

    assert track.description == "Track an order from the warehouse to the door."
    assert _described(track) == {"order_id": "the order."}


def test_numpy_and_sphinx_docstrings_are_read_too() -> None:
    @rk.tool
    def numpy_style(order_id: str, amount: float) -> bool:
        """Refund part of an order.

        Parameters
        ----------
        order_id : str
            the order.
        amount : float
            how much, in dollars.

        Returns
        -------
        bool
            whether it worked.
        """
        return True

    @rk.tool
    def sphinx_style(order_id: str, amount: float) -> bool:
        """Refund part of an order.

        :param order_id: the order.
        :type order_id: str
        :param amount: how much, in dollars.
        :returns: whether it worked.
        """
        return True

    for tool in (numpy_style, sphinx_style):
        assert tool.description == "Refund part of an order."
        assert _described(tool) == {"order_id": "the order.", "amount": "how much, in dollars."}


def test_a_tool_without_docstring_or_with_odd_ones() -> None:
    @rk.tool
    def bare(x: int) -> int:
        return x

    @rk.tool
    def only_args(x: int) -> int:
        """
        Args:
            x: the x.
        """
        return x

    @rk.tool
    def only_text(x: int) -> int:
        """Args: not a section, just text."""
        return x

    assert (bare.description, _described(bare)) == ("", {"x": None})
    assert (only_args.description, _described(only_args)) == ("", {"x": "the x."})
    assert (only_text.description, _described(only_text)) == (
        "Args: not a section, just text.",
        {"x": None},
    )


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("Args:Returns()- \n\tx_y:`*")), max_size=120))
def test_no_docstring_makes_defining_a_tool_fail(doc: str) -> None:
    summary, params = _parse_docstring(doc)
    assert "\n" not in summary
    assert all(isinstance(v, str) for v in params.values())


def test_arguments_are_validated_before_the_call() -> None:
    @rk.tool
    def get(count: int) -> int:
        return count

    assert get.validate_args({"count": "3"}) == {"count": 3}
    with pytest.raises(rk.ToolError) as info:
        get.validate_args({"count": "three", "extra": 1})
    assert info.value.kind == "invalid_arguments"
    assert "count" in info.value.message and "extra" in info.value.message


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: rk.tool(lambda x: x), "has no type hint"),
        (
            lambda: rk.tool(effect="read", confirm=True)(_typed),
            "only makes sense for effect='write'",
        ),
        (lambda: rk.tool(effect="delete")(_typed), "effect must be 'read' or 'write'"),  # type: ignore[arg-type]
    ],
)
def test_tool_misuse_is_a_user_error(build: object, message: str) -> None:
    with pytest.raises(rk.UserError, match=message):
        build()  # type: ignore[operator]


def _typed(x: int) -> int:
    return x


def test_tool_without_return_annotation_is_rejected() -> None:
    def no_return(x: int):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(rk.UserError, match="no return type hint"):
        rk.tool(no_return)


async def test_sync_and_async_tools_run_and_results_are_json() -> None:
    class Out(BaseModel):
        value: int

    @rk.tool
    def sync_tool(x: int) -> Out:
        return Out(value=x + 1)

    @rk.tool
    async def async_tool(x: int) -> Out:
        await asyncio.sleep(0)
        return Out(value=x + 2)

    assert await sync_tool.invoke(None, {"x": 1}, None) == {"value": 2}
    assert await async_tool.invoke(None, {"x": 1}, None) == {"value": 3}


async def test_timeout_becomes_a_typed_error() -> None:
    @rk.tool(timeout=0.01, retry=rk.RetryPolicy(attempts=1))
    async def slow() -> str:
        await asyncio.sleep(1)
        return "late"

    with pytest.raises(rk.ToolError) as info:
        await slow.invoke(None, {}, None)
    assert info.value.kind == "timeout"
    assert "0.01s" in info.value.message


async def test_a_write_that_times_out_has_an_unknown_outcome_not_a_failure() -> None:
    """A sync tool's thread cannot be stopped: the write lands after the timeout. Reporting it
    as failed would invite a human (or the playbook) to do it twice."""
    ledger: list[str] = []
    released = threading.Event()

    @rk.tool(effect="write", timeout=0.05)
    def refund(charge_id: str) -> str:
        released.wait(5)
        ledger.append(charge_id)
        return "ok"

    with pytest.raises(rk.ToolError) as info:
        await refund.invoke(None, {"charge_id": "CH1"}, None)
    assert info.value.kind == "unknown_outcome"
    assert "may still take effect" in info.value.message
    released.set()
    for _ in range(100):
        if ledger:
            break
        await asyncio.sleep(0.01)
    assert ledger == ["CH1"]  # it did land: "unknown", not "failed", was the truth


async def test_reads_are_retried_with_backoff_on_transient_errors() -> None:
    calls = []

    @rk.tool(retry=rk.RetryPolicy(attempts=3, initial=0.001, max_wait=0.002))
    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise rk.RetryableToolError("busy")
        return "ok"

    assert await flaky.invoke(None, {}, None) == "ok"
    assert len(calls) == 3


async def test_business_errors_are_not_retried() -> None:
    calls = []

    @rk.tool(retry=rk.RetryPolicy(attempts=3, initial=0.001))
    def strict() -> str:
        calls.append(1)
        raise rk.ToolRefusal("order already shipped")

    with pytest.raises(rk.ToolError) as info:
        await strict.invoke(None, {}, None)
    assert (info.value.kind, info.value.message, len(calls)) == (
        "refused",
        "order already shipped",
        1,
    )


async def test_writes_retry_only_with_an_idempotency_key() -> None:
    plain_calls, keyed_calls = [], []
    policy = rk.RetryPolicy(attempts=3, initial=0.001)

    @rk.tool(effect="write", retry=policy)
    def plain() -> str:
        plain_calls.append(1)
        raise ConnectionError("reset")

    @rk.tool(effect="write", retry=policy)
    def keyed(idempotency_key: str) -> str:
        keyed_calls.append(idempotency_key)
        if len(keyed_calls) < 2:
            raise ConnectionError("reset")
        return "ok"

    with pytest.raises(rk.ToolError) as info:
        await plain.invoke(None, {}, "k")
    assert info.value.kind == "exception" and len(plain_calls) == 1
    assert await keyed.invoke(None, {}, "conv:run:3") == "ok"
    assert keyed_calls == ["conv:run:3", "conv:run:3"]


async def test_tool_exception_is_a_typed_result_the_playbook_can_branch_on() -> None:
    class Lookup(rk.Intent):
        """Look something up."""

    agent = build_agent(Backend(), rk.ScriptedModel([rk.StartIntent(intent="Lookup")]))

    @agent.tool
    def broken() -> str:
        raise KeyError("missing")

    @agent.playbook(Lookup)
    async def lookup(ctx: rk.Context[Backend], intent: Lookup) -> rk.PlaybookOutcome:
        result = await ctx.try_call(broken)
        if isinstance(result, rk.ToolError):
            return ctx.resolve(f"fallback after {result.kind}")
        return ctx.resolve(result)

    result = await agent.handle("c", "look it up")
    assert (result.outcome, result.reply) == ("resolved", "fallback after exception")


async def test_uncaught_tool_error_escalates_with_context_instead_of_crashing() -> None:
    model = rk.ScriptedModel([rk.StartIntent(intent="OrderStatus", slots={"order_id": "W0000000"})])
    agent = build_agent(Backend(), model)
    result = await agent.handle("c", "where is W0000000")
    assert result.outcome == "escalated"
    assert result.handoff is not None
    assert result.handoff.reason == "get_order failed (refused): no order W0000000"
    assert result.handoff.actions[0].error == {
        "tool": "get_order",
        "kind": "refused",
        "message": "no order W0000000",
    }


async def test_invalid_arguments_from_a_playbook_never_reach_the_tool() -> None:
    class Bad(rk.Intent):
        """Bad call."""

    agent = build_agent(Backend(), rk.ScriptedModel([rk.StartIntent(intent="Bad")]))
    called = []

    @agent.tool
    def typed(count: int) -> int:
        called.append(count)
        return count

    @agent.playbook(Bad)
    async def bad(ctx: rk.Context[Backend], intent: Bad) -> rk.PlaybookOutcome:
        outcome = await ctx.try_call(typed, count="many")
        assert isinstance(outcome, rk.ToolError)
        return ctx.resolve(outcome.kind)

    assert (await agent.handle("c", "go")).reply == "invalid_arguments"
    assert called == []


async def test_confirm_required_write_without_a_yes_is_refused_by_the_engine() -> None:
    class Sneaky(rk.Intent):
        """A playbook that forgets to ask."""

    backend = Backend()
    agent = build_agent(backend, rk.ScriptedModel([rk.StartIntent(intent="Sneaky")]))
    cancel_order = agent.tools["cancel_order"]

    @agent.playbook(Sneaky)
    async def sneaky(ctx: rk.Context[Backend], intent: Sneaky) -> rk.PlaybookOutcome:
        await ctx.call(cancel_order, order_id="W1234567", reason="no longer needed")
        return ctx.resolve("done")

    result = await agent.handle("c", "do it")
    assert result.outcome == "escalated"
    assert isinstance(result.error, rk.UnconfirmedWrite)
    assert backend.writes == []


async def test_one_yes_authorises_one_confirmed_write_only() -> None:
    class Double(rk.Intent):
        """Cancel two orders on one yes."""

    backend = Backend()
    agent = build_agent(
        backend, rk.ScriptedModel([rk.StartIntent(intent="Double"), rk.Confirm(answer="yes")])
    )
    cancel_order = agent.tools["cancel_order"]

    @agent.playbook(Double)
    async def double(ctx: rk.Context[Backend], intent: Double) -> rk.PlaybookOutcome:
        if await ctx.confirm("Cancel both?"):
            await ctx.call(cancel_order, order_id="W1234567", reason="no longer needed")
            await ctx.call(cancel_order, order_id="W7654321", reason="no longer needed")
        return ctx.resolve("done")

    await agent.handle("c", "cancel both")
    result = await agent.handle("c", "yes")
    assert isinstance(result.error, rk.UnconfirmedWrite)
    assert backend.writes == [("cancel", "W1234567")]


async def test_free_mode_confirm_write_is_asked_by_the_engine_whatever_the_model_says() -> None:
    backend = Backend()
    call = rk.CallTool(
        tool="cancel_order", args={"order_id": "W1234567", "reason": "no longer needed"}
    )
    model = rk.ScriptedModel(
        [
            call,  # the model wants to cancel straight away
            call,  # ... and insists instead of answering the confirmation
            rk.Confirm(answer="no"),
        ]
    )
    agent = build_agent(backend, model, free_mode=True)
    first = await agent.handle("c", "cancel W1234567 now!")
    assert first.pending == "tool_confirm"
    assert first.reply.startswith("To confirm: Cancel a pending order (order id: W1234567")
    insist = await agent.handle("c", "just do it")
    assert insist.pending == "tool_confirm"
    no = await agent.handle("c", "no")
    assert no.reply == "OK, I haven't done that. Is there anything else I can help with?"
    assert backend.writes == []


async def test_free_mode_runs_tools_in_a_bounded_loop_then_replies() -> None:
    backend = Backend()
    steps = [
        rk.CallTool(tool="get_order", args={"order_id": "W1234567"}),
        lambda request: rk.Reply(text=f"Your order is {request.messages[-1].text}"),
        rk.CallTool(
            tool="cancel_order", args={"order_id": "W1234567", "reason": "no longer needed"}
        ),
        rk.Confirm(answer="yes"),
        rk.Reply(text="Cancelled."),
    ]
    agent = build_agent(backend, rk.ScriptedModel(steps), free_mode=True)
    status = await agent.handle("c", "status of W1234567?")
    assert '"status": "pending"' in status.reply
    await agent.handle("c", "cancel it")
    done = await agent.handle("c", "yes")
    assert done.reply == "Cancelled."
    assert backend.writes == [("cancel", "W1234567")]


async def test_free_mode_step_budget_escalates() -> None:
    looping = [rk.CallTool(tool="get_order", args={"order_id": "W1234567"})] * 3
    agent = build_agent(Backend(), rk.ScriptedModel(looping), free_mode=True, max_steps=2)
    result = await agent.handle("c", "status?")
    assert result.outcome == "escalated"
    assert result.handoff is not None
    assert "step budget of 2" in result.handoff.reason
