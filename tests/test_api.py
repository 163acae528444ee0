"""The public API: exports, import cost, test doubles and misuse errors."""

from __future__ import annotations

import subprocess
import sys
from typing import Literal

import pytest

import resolvekit as rk
from resolvekit.models import ModelRequest

from .engine.shop import Backend, build_agent

EXPECTED_EXPORTS = {
    "Agent", "AnswerFromKnowledge", "AskClarification", "CallTool", "CallbackTarget", "Citation",
    "ConcurrentUpdate", "Confirm", "ConsentPolicy", "Context", "Conversation",
    "CorrectionAfterWrite", "CorruptStore", "EncryptedStore", "Escalate", "EscalationPolicy",
    "FillSlots", "FunctionModel", "Handoff", "HandoffTarget", "Intent", "InternalError",
    "InvalidMessage", "JSONLQueue", "KnowledgeAnswer", "KnowledgeBase",
    "MemoryStore",
    "Message", "Model", "ModelConnectionError", "ModelError", "ModelHTTPError", "ModelRequest",
    "ModelResponse", "ModelTimeout", "Outcome", "Phrases", "PlaybookOutcome", "PostgresStore",
    "RedactingFilter", "Redactor", "DEFAULT_REDACTOR", "Repairs", "ReplayDivergence", "Reply",
    "ResolvekitError", "RetryPolicy", "RetryableToolError", "SQLiteStore", "ScriptedModel",
    "Slot", "StartIntent", "Store", "StoreError", "StoreUnavailable", "Tool", "ToolError",
    "ToolRefusal", "KnowledgeError", "ModelRequestsBlocked", "ModelFilesError", "PlaybookError",
    "ToolErrorKind", "ToolSignal",
    "TraceEvent",
    "TurnResult", "UnconfirmedWrite", "UnexpectedModelBehavior", "Usage", "UserError",
    "VerifyStepMissing", "WriteInCheck",
    "infer_model", "tool", "ToolChanged", "Toolset", "FunctionToolset", "ToolOverride",
    "Approval", "ApprovalPolicy", "ApprovalTier", "ApprovalRequest", "Notification",
    "PendingApproval", "Decided", "ApprovalError", "ApprovalNotFound", "ApprovalAlreadyDecided",
    "ApprovalRoleNotAllowed", "ApprovalStale",
    "WebhookTarget", "ZendeskTarget", "FreshdeskTarget",
}  # fmt: skip


def test_exported_members_are_pinned_and_resolve() -> None:
    assert set(rk.__all__) == EXPECTED_EXPORTS
    for name in rk.__all__:
        assert getattr(rk, name) is not None
    with pytest.raises(AttributeError, match="'resolvekit' has no attribute 'DoesNotExist'"):
        rk.DoesNotExist  # noqa: B018
    assert {*rk.__all__, "__version__"} <= set(dir(rk))


def test_every_error_of_the_tree_is_importable_from_the_top() -> None:
    import resolvekit.exceptions as errors

    assert set(errors.__all__) <= set(rk.__all__)


def test_every_name_in_every_public_modules_all_resolves() -> None:
    """Each module's ``__all__`` is its documented surface: every name must be there."""
    import importlib
    import pkgutil

    checked = 0
    for info in pkgutil.walk_packages(rk.__path__, "resolvekit."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"{info.name}.__all__ names {name!r}, which is missing"
            checked += 1
    assert checked > 200


def test_evals_package_exports_resolve_lazily() -> None:
    import resolvekit.evals as evals

    for name in evals.__all__:
        assert getattr(evals, name) is not None
    assert set(evals.__all__) <= set(dir(evals))
    with pytest.raises(AttributeError, match=r"'resolvekit\.evals' has no attribute 'Nope'"):
        evals.Nope  # noqa: B018


def test_every_error_derives_from_one_root() -> None:
    errors = [getattr(rk, n) for n in rk.__all__ if n.endswith(("Error", "Divergence"))]
    errors += [rk.CorruptStore, rk.ConcurrentUpdate, rk.ModelTimeout, rk.UnconfirmedWrite]
    assert all(issubclass(e, rk.ResolvekitError) for e in errors)


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, resolvekit as rk; rk.Agent; rk.tool; rk.Intent; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'openai', 'sklearn', 'psycopg', "
        "'onnxruntime', 'onnx') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_model_name_suggests_the_closest() -> None:
    with pytest.raises(rk.UserError, match="did you mean 'local'"):
        rk.infer_model("locla")
    with pytest.raises(rk.UserError, match="did you mean 'openai'"):
        rk.infer_model("opneai:gpt-4.1")


@pytest.mark.parametrize(
    ("text", "reason"), [("", "empty"), ("   ", "empty"), ("x" * 5000, "too_long")]
)
async def test_empty_or_oversized_messages_are_rejected_and_nothing_is_stored(
    text: str, reason: str
) -> None:
    agent = build_agent(Backend(), rk.ScriptedModel([]))
    with pytest.raises(rk.InvalidMessage) as info:
        await agent.handle("c", text)
    assert info.value.reason == reason
    assert await agent.conversation("c") is None


def test_registration_misuse_is_a_user_error() -> None:
    agent = build_agent(Backend(), rk.ScriptedModel([]))

    class NotAnIntent:
        pass

    with pytest.raises(rk.UserError, match="takes an Intent subclass"):
        agent.playbook(NotAnIntent)  # type: ignore[type-var]

    from .engine.shop import CancelOrder

    with pytest.raises(rk.UserError, match="already has a playbook"):

        @agent.playbook(CancelOrder)
        async def again(ctx: rk.Context[None], intent: CancelOrder) -> None:
            return None

    class Other(rk.Intent):
        """x"""

    with pytest.raises(rk.UserError, match="must be an async function"):
        agent.playbook(Other)(lambda ctx, intent: None)  # type: ignore[arg-type,return-value]

    @rk.tool(name="get_order")
    def impostor(order_id: str) -> str:
        return order_id

    with pytest.raises(rk.UserError, match="already has a tool named 'get_order'"):
        agent.add_tool(impostor)


def test_slot_pattern_that_does_not_compile_is_a_user_error() -> None:
    with pytest.raises(rk.UserError, match="does not compile"):
        rk.Slot(pattern=r"W(\d{7}")


async def test_agent_without_playbooks_is_a_user_error() -> None:
    agent = rk.Agent(model=rk.ScriptedModel([]), store="memory://")
    with pytest.raises(rk.UserError, match="no playbooks"):
        await agent.handle("c", "hi")


def test_intent_spec_describes_slots_for_models() -> None:
    class Book(rk.Intent):
        """Book a table."""

        examples = ["book a table"]
        party: int = rk.Slot(ask="For how many people?")
        size: Literal["small", "large"] = rk.Slot(synonyms={"large": ["big"]})
        email: str
        note: str = ""

    spec = Book.spec()
    assert (spec.name, spec.description, spec.examples) == (
        "Book",
        "Book a table.",
        ["book a table"],
    )
    slots = {s.name: s for s in spec.slots}
    assert (slots["party"].kind, slots["party"].ask, slots["party"].required) == (
        "integer",
        "For how many people?",
        True,
    )
    assert (slots["size"].kind, slots["size"].choices, slots["size"].synonyms) == (
        "choice",
        ["small", "large"],
        {"large": ["big"]},
    )
    assert (slots["email"].kind, slots["email"].ask) == ("email", "What is your email?")
    assert slots["note"].required is False


def test_intent_spec_is_computed_once_per_class_and_never_shared() -> None:
    class Nested(rk.Intent):
        """Nested."""

        size: Literal["small", "large"]

    calls = 0
    real = Nested.model_json_schema

    def counted(*args: object, **kwargs: object) -> dict[str, object]:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    Nested.model_json_schema = counted  # type: ignore[method-assign,assignment]
    first = Nested.spec()
    first.slots[0].json_schema["enum"].append("huge")  # a caller scribbling on its copy
    first.slots[0].json_schema["injected"] = True
    second = Nested.spec()
    assert calls == 1
    assert second.slots[0].json_schema == {
        "enum": ["small", "large"],
        "title": "Size",
        "type": "string",
    }
    assert second.slots[0].choices == ["small", "large"]


async def test_scripted_model_errors_on_unexpected_and_unused_steps() -> None:
    model = rk.ScriptedModel([rk.Reply(text="one")])
    request = ModelRequest(allowed=frozenset({"reply"}))
    assert (await model.request(request)).decision == rk.Reply(text="one")
    with pytest.raises(rk.UnexpectedModelBehavior, match="no step left for request #2"):
        await model.request(request)
    with (
        pytest.raises(rk.UnexpectedModelBehavior, match="1 unused step"),
        rk.ScriptedModel([rk.Reply(text="never asked")]),
    ):
        pass


async def test_function_model_accepts_dicts_and_records_requests() -> None:
    model = rk.FunctionModel(lambda request: {"kind": "reply", "text": "hi"})
    response = await model.request(ModelRequest(allowed=frozenset({"reply"})))
    assert response.decision == rk.Reply(text="hi") and response.confidence == 1.0
    assert len(model.requests) == 1


def test_handle_sync_runs_a_turn() -> None:
    model = rk.ScriptedModel([rk.StartIntent(intent="OrderStatus", slots={"order_id": "W1234567"})])
    result = build_agent(Backend(), model).handle_sync("c", "where is W1234567")
    assert result.reply == "Order W1234567 is pending"
