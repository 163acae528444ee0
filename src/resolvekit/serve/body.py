"""Request bodies: read within the size limit, parsed, validated (unknown fields refused)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic

from .errors import ApiError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["MessageIn", "ResumeIn", "read_body"]

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


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
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise _too_large(limit)
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
