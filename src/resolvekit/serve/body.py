"""Request bodies: read within the size limit, parsed, validated (unknown fields refused)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic

from .errors import ApiError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = [
    "MAX_ID_CHARS",
    "MessageIn",
    "ResumeIn",
    "customer_id_of",
    "parse_body",
    "read_body",
    "read_raw",
]

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)

MAX_ID_CHARS = 200
"""The longest customer id a path may hold."""


def customer_id_of(request: Request) -> str:
    """The ``{customer_id}`` of the request's path.

    Raises:
        ApiError: 422 when it is blank or longer than :data:`MAX_ID_CHARS`.
    """
    customer_id: str = request.path_params["customer_id"]
    if len(customer_id) > MAX_ID_CHARS or not customer_id.strip():
        raise ApiError(422, "invalid_request", f"customer ids have 1 to {MAX_ID_CHARS} characters")
    return customer_id


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


class MessageIn(_Strict):
    """``POST /v1/customers/{customer_id}/messages``."""

    text: str
    """What the customer wrote."""
    channel: str = pydantic.Field(default="chat", max_length=40)
    """Where it arrived: ``chat``, ``email``, ``sms``, ``voice``..."""
    message_id: str | None = pydantic.Field(default=None, max_length=200)
    """Your id for this delivery: a retry with the same id gets the stored reply."""
    reply_to: str | None = pydantic.Field(default=None, max_length=200)
    """The ``question_id`` this message answers (a quick-reply button)."""
    metadata: dict[str, Any] | None = None
    """Anything of yours; given to the ``deps`` callable of the service, not stored."""


class ResumeIn(_Strict):
    """``POST /v1/handoffs/resume``."""

    token: str
    """The handoff's ``resume_token``."""
    note: str | None = None
    """What the human did or decided (kept in the transcript)."""
    continue_request: bool = True
    """Offer the request interrupted by the handoff again."""


async def read_body(request: Request, model: type[ModelT], limit: int) -> ModelT:
    """The request's JSON body as ``model``.

    Raises:
        ApiError: 413 (over ``limit`` bytes), 400 (not JSON), 422 (fields or types wrong).
    """
    return parse_body(await read_raw(request, limit), model)


async def read_raw(request: Request, limit: int) -> bytes:
    """The request's body as bytes (what a signature covers).

    Raises:
        ApiError: 413, over ``limit`` bytes (refused before it is read whole).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise _too_large(limit)
    return bytes(raw)


def parse_body(raw: bytes, model: type[ModelT]) -> ModelT:
    """``raw`` JSON as ``model``.

    Raises:
        ApiError: 400 (not JSON), 422 (not an object, or fields or types wrong).
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise ApiError(422, "invalid_request", problems) from None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body is over {limit} bytes")
