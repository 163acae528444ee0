"""One error body everywhere: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import (
    ConcurrentUpdate,
    CorruptStore,
    InvalidMessage,
    ResolvekitError,
    StoreUnavailable,
    UserError,
)

if TYPE_CHECKING:
    from starlette.responses import JSONResponse

__all__ = ["ApiError", "error_for", "error_response"]

RETRY_AFTER_STORE = 2
"""Seconds a client is told to wait when the store is unavailable."""


class ApiError(Exception):
    """An HTTP error with a stable ``code`` a client can branch on."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: int | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        super().__init__(f"{status} {code}: {message}")

    def body(self) -> dict[str, dict[str, str]]:
        """The JSON body."""
        return {"error": {"code": self.code, "message": self.message}}


def error_for(exc: ResolvekitError) -> ApiError:
    """The HTTP error a resolvekit error becomes."""
    if isinstance(exc, InvalidMessage):
        return ApiError(422, f"message_{exc.reason}", str(exc))
    if isinstance(exc, StoreUnavailable):
        return ApiError(
            503, "store_unavailable", f"{exc} (retry with the same message_id)",
            retry_after=RETRY_AFTER_STORE,
        )  # fmt: skip
    if isinstance(exc, ConcurrentUpdate):
        return ApiError(
            409, "concurrent_update", f"{exc} (retry with the same message_id)", retry_after=1
        )
    if isinstance(exc, CorruptStore):
        return ApiError(500, "corrupt_store", "the stored conversation could not be read")
    if isinstance(exc, UserError):
        return ApiError(400, "bad_request", str(exc))
    return ApiError(500, "internal", f"{type(exc).__name__}: the turn failed")


def error_response(error: ApiError) -> JSONResponse:
    """``error`` as a JSON response (with ``Retry-After`` when it has one)."""
    from starlette.responses import JSONResponse

    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    if error.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(error.body(), status_code=error.status, headers=headers)
