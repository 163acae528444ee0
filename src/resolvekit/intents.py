"""Intents and their slots.

An :class:`Intent` is a pydantic model: its fields are the slots the playbook needs, declared with
:func:`Slot` to say how to ask for them and how customers phrase them::

    class CancelOrder(rk.Intent):
        \"\"\"Customer wants to cancel an order that has not shipped.\"\"\"

        examples = ["cancel my order", "I don't want order W1234567 anymore"]
        order_id: str = rk.Slot(pattern=r"#?W\\d{7}", ask="What is the order number?")
        reason: Literal["no longer needed", "ordered by mistake"] = rk.Slot(ask="Why?")
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import re
import types
import typing
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .exceptions import UserError
from .specs import IntentSpec, SlotKind, SlotSpec

__all__ = [
    "Intent",
    "Slot",
    "SlotInfo",
    "answer_type",
    "humanize",
    "slot_error_message",
    "spec_from_schema",
]


@dataclass(kw_only=True, frozen=True)
class SlotInfo:
    """How to collect one slot; attached to the field by :func:`Slot`."""

    ask: str | None = None
    """The question asked when the slot is missing."""
    pattern: str | None = None
    """A regular expression the whole value must match (after stripping spaces)."""
    synonyms: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """For choice slots: other phrases customers use for each choice."""
    examples: Sequence[str] = ()
    kind: SlotKind | None = None
    """Extraction hint; inferred from the type and name when not given."""
    remember: bool = True
    """Whether a value given earlier in the conversation may be reused for this slot."""


def Slot(
    default: Any = PydanticUndefined,
    *,
    ask: str | None = None,
    pattern: str | None = None,
    description: str | None = None,
    synonyms: Mapping[str, Sequence[str]] | None = None,
    examples: Sequence[str] = (),
    kind: SlotKind | None = None,
    remember: bool = True,
) -> Any:
    """Declare a slot of an :class:`Intent`.

    Args:
        default: the value when the customer gives none; without one the slot is required.
        ask: the question the agent asks for it ("What is the order number?").
        pattern: a regular expression the whole value must match, e.g. ``r"#?W\\d{7}"``.
        description: what the slot means, shown to models.
        synonyms: for Literal/Enum slots, phrases customers use for each value.
        examples: example values, shown to models.
        kind: extraction hint (``"money"``, ``"date"``, ``"email"``...), inferred when omitted.
        remember: reuse a value the customer already gave earlier in the conversation.

    Raises:
        UserError: the pattern does not compile, or ``kind`` is not a known kind.
    """
    kinds = get_args(SlotKind)
    if kind is not None and kind not in kinds:
        raise UserError(
            f"Unknown slot kind {kind!r}; choose one of {', '.join(kinds)}. Person names need "
            "no kind: a slot named name, full_name, first_name, last_name (or similar) is read "
            "as a person's name."
        )
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UserError(f"Slot pattern {pattern!r} does not compile: {exc}") from exc
    info = SlotInfo(
        ask=ask,
        pattern=pattern,
        synonyms=dict(synonyms or {}),
        examples=tuple(examples),
        kind=kind,
        remember=remember,
    )
    extra: dict[str, Any] = {"x-ask": ask} if ask else {}
    return _field_with_info(default, info, description, pattern, examples, extra)


def _field_with_info(
    default: Any,
    info: SlotInfo,
    description: str | None,
    pattern: str | None,
    examples: Sequence[str],
    extra: dict[str, Any],
) -> Any:
    field_info: FieldInfo = Field(
        default,
        description=description,
        pattern=f"^(?:{pattern})$" if pattern is not None else None,
        examples=list(examples) or None,
        json_schema_extra=extra or None,
    )
    field_info.metadata.append(info)
    return field_info


class Intent(BaseModel):
    """Base class of intents. Subclass it; each field is a slot.

    Class attributes:
        examples: phrases customers use for this intent (trains LocalModel).
        intent_name: the name models and traces use; the class name by default.
        intent_title: how the agent names the intent to customers ("talk to a person" in "I can
            help you with ..." and "Shall we go back to ...?"); the name in words by default.
        verify_first: run the agent's verify step (``@agent.verify``) before any slot is asked;
            a refusal from it ends the request. Once per conversation (see docs/playbooks.md).
    """

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    examples: ClassVar[Sequence[str]] = ()
    intent_name: ClassVar[str] = ""
    intent_title: ClassVar[str] = ""
    verify_first: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("intent_name"):
            cls.intent_name = cls.__name__
        if not cls.__dict__.get("intent_title"):
            cls.intent_title = humanize(cls.intent_name)

    @classmethod
    def slot_info(cls, name: str) -> SlotInfo:
        """The :class:`SlotInfo` of slot ``name`` (defaults if declared without :func:`Slot`)."""
        field_info = cls.model_fields[name]
        for meta in field_info.metadata:
            if isinstance(meta, SlotInfo):
                return meta
        return SlotInfo()

    @classmethod
    def slot_names(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def required_slots(cls) -> list[str]:
        return [n for n, f in cls.model_fields.items() if f.is_required()]

    @classmethod
    def validate_slot(cls, name: str, value: Any) -> Any:
        """Validate one slot value on its own.

        Returns:
            The value converted to the slot's type.

        Raises:
            ValueError: with a message fit to show the customer.
        """
        field_info = cls.model_fields[name]
        annotated = typing.Annotated[field_info.annotation, field_info]  # type: ignore[name-defined]
        adapter = _adapter(cls, name, annotated)
        info = cls.slot_info(name)
        if isinstance(value, str):
            value = _normalise_for_pattern(value.strip(), info.pattern)
            if _is_email_slot(name, info) and not _EMAIL.fullmatch(value):
                # "ann at example dot com" is not an address to send invoices to.
                label = name.replace("_", " ")
                raise ValueError(
                    f"That doesn't look like a valid {label}; it should look like name@example.com."
                )
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            raise ValueError(slot_error_message(name, exc)) from exc

    @classmethod
    def spec(cls) -> IntentSpec:
        """The provider-neutral description of this intent that models see."""
        schema = _json_schema(cls)
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        slots = []
        for name, field_info in cls.model_fields.items():
            info = cls.slot_info(name)
            choices = _choices(field_info.annotation)
            slots.append(
                SlotSpec(
                    name=name,
                    description=field_info.description or "",
                    json_schema=_inline_refs(properties.get(name, {}), schema.get("$defs", {})),
                    kind=info.kind or _infer_kind(name, field_info.annotation, info, choices),
                    required=name in required,
                    ask=info.ask or f"What is your {name.replace('_', ' ')}?",
                    pattern=info.pattern,
                    choices=choices,
                    synonyms={k: list(v) for k, v in info.synonyms.items()},
                    examples=list(info.examples),
                )
            )
        return IntentSpec(
            name=cls.intent_name,
            description=(cls.__doc__ or "").strip(),
            examples=list(cls.examples),
            slots=slots,
            title=cls.intent_title,
        )


_SCHEMAS: weakref.WeakKeyDictionary[type[BaseModel], dict[str, Any]] = weakref.WeakKeyDictionary()
"""Each intent class's JSON schema, computed once: every new :class:`Agent` describes its
intents again, and pydantic's schema generation was about a sixth of an eval's CPU when each
conversation builds its own agent. Only read (``spec`` copies what it keeps)."""


def _json_schema(cls: type[BaseModel]) -> dict[str, Any]:
    schema = _SCHEMAS.get(cls)
    if schema is None:
        schema = _SCHEMAS[cls] = cls.model_json_schema()
    return schema


def _normalise_for_pattern(value: str, pattern: str | None) -> str:
    """Forgive inner spaces and letter case ("w 123 4567") when that makes the value match."""
    if pattern is None or re.fullmatch(pattern, value):
        return value
    squeezed = re.sub(r"\s+", "", value)
    for candidate in (squeezed, squeezed.upper(), squeezed.lower()):
        if re.fullmatch(pattern, candidate):
            return candidate
    return value


_ADAPTERS: dict[tuple[type, str], TypeAdapter[Any]] = {}


def _adapter(cls: type, name: str, annotated: Any) -> TypeAdapter[Any]:
    key = (cls, name)
    adapter = _ADAPTERS.get(key)
    if adapter is None:
        adapter = TypeAdapter(annotated, config=ConfigDict(regex_engine="python-re"))
        _ADAPTERS[key] = adapter
    return adapter


def slot_error_message(name: str, exc: ValidationError) -> str:
    """A short, customer-facing explanation of why a slot value was rejected."""
    label = name.replace("_", " ")
    error = exc.errors()[0]
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "literal_error":
        return (
            f"That doesn't look like a valid {label}; it should be one of: {ctx.get('expected')}."
        )
    if kind == "enum":
        return (
            f"That doesn't look like a valid {label}; it should be one of: {ctx.get('expected')}."
        )
    if kind == "string_pattern_mismatch":
        return f"That doesn't look like a valid {label}."
    if kind.startswith(("int_", "float_", "decimal_")):
        return f"The {label} should be a number."
    if kind.startswith(("date_", "datetime_")):
        return f"The {label} should be a date."
    return f"That doesn't look like a valid {label}: {error.get('msg', 'invalid value')}."


def _choices(annotation: Any) -> list[str]:
    origin = get_origin(annotation)
    if origin is Literal:
        return [str(a) for a in get_args(annotation)]
    if origin in (typing.Union, types.UnionType):
        out: list[str] = []
        for arg in get_args(annotation):
            out.extend(_choices(arg))
        return out
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(m.value) for m in annotation]
    return []


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]{2,}")
_EMAIL_NAME = re.compile(r"(?:^|_)email(?:_address)?$", re.IGNORECASE)


def _is_email_slot(name: str, info: SlotInfo) -> bool:
    """Declared ``kind="email"``, or named like one (``email``, ``billing_email``), without a
    pattern of its own: the value must be an address."""
    if info.pattern is not None:
        return False
    return info.kind == "email" if info.kind is not None else bool(_EMAIL_NAME.search(name))


def _base_type(annotation: Any) -> Any:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _infer_kind(name: str, annotation: Any, info: SlotInfo, choices: list[str]) -> SlotKind:
    if choices:
        return "choice"
    base = _base_type(annotation)
    lowered = name.lower()
    if base is bool:
        return "boolean"
    if base is int:
        return "integer"
    if base is decimal.Decimal:
        return (
            "money"
            if any(w in lowered for w in ("amount", "price", "cost", "refund"))
            else "number"
        )
    if base is float:
        return "number"
    if base in (dt.date, dt.datetime):
        return "date"
    if "email" in lowered:
        return "email"
    if "phone" in lowered:
        return "phone"
    if info.pattern is not None or lowered.endswith("_id") or lowered == "id":
        return "id"
    return "text"


def _inline_refs(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Replace ``$ref``s to ``$defs`` so each slot schema stands alone."""
    if "$ref" in schema:
        target = schema["$ref"].rsplit("/", 1)[-1]
        merged = {**defs.get(target, {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        return _inline_refs(merged, defs)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if isinstance(value, dict):
            out[key] = _inline_refs(value, defs)
        elif isinstance(value, list):
            out[key] = [_inline_refs(v, defs) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _choices_from_schema(schema: dict[str, Any]) -> list[str]:
    if "enum" in schema:
        return [str(v) for v in schema["enum"]]
    if "const" in schema:
        return [str(schema["const"])]
    out: list[str] = []
    for option in schema.get("anyOf", []):
        out.extend(_choices_from_schema(option))
    return out


def _kind_from_schema(name: str, schema: dict[str, Any]) -> SlotKind:
    """The extraction hint for an ad-hoc ``ctx.ask`` answer, from its JSON Schema."""
    if _choices_from_schema(schema):
        return "choice"
    kind = schema.get("type")
    if kind == "boolean":
        return "boolean"
    if kind == "integer":
        return "integer"
    if kind == "number" or (kind == "string" and schema.get("format") == "decimal"):
        return "number"
    if schema.get("format") in ("date", "date-time"):
        return "date"
    return _infer_kind(name, str, SlotInfo(pattern=schema.get("pattern")), [])


def spec_from_schema(name: str, schema: dict[str, Any], question: str) -> SlotSpec:
    """The model-facing spec of an ad-hoc value a playbook asks for (``ctx.ask``), from the
    JSON Schema of its type: the extraction kind and the choices follow from the schema."""
    return SlotSpec(
        name=name,
        json_schema=schema,
        kind=_kind_from_schema(name, schema),
        ask=question,
        choices=_choices_from_schema(schema),
    )


def intent_title(intents: Mapping[str, type[Intent]], name: str) -> str:
    """What customers are told an intent is called: its ``Intent.intent_title``, or its name
    in words when it is not one of ``intents``."""
    intent = intents.get(name)
    return intent.intent_title if intent is not None else humanize(name)


def humanize(name: str) -> str:
    """``"CancelOrder"`` -> ``"cancel order"``; ``"order_id"`` -> ``"order id"``."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append(" ")
        out.append(ch.lower() if ch.isupper() else ch)
    return "".join(out).replace("_", " ").strip()


_ANSWER_TYPES: dict[Any, tuple[TypeAdapter[Any], dict[str, Any]]] = {}


def answer_type(kind: Any) -> tuple[TypeAdapter[Any], dict[str, Any]]:
    """The adapter and JSON Schema of an answer type (``ctx.ask``'s), built once per type: a
    replayed ``ctx.ask`` costs a dictionary lookup, not a new schema."""
    try:
        cached = _ANSWER_TYPES.get(kind)
    except TypeError:  # an unhashable type annotation: build it every time
        adapter: TypeAdapter[Any] = TypeAdapter(kind)
        return adapter, adapter.json_schema()
    if cached is None:
        adapter = TypeAdapter(kind)
        cached = _ANSWER_TYPES[kind] = (adapter, adapter.json_schema())
    return cached
