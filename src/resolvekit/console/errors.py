"""The console's one error: a request it refuses, with a code the web app maps to a status."""

from __future__ import annotations

from typing import Literal

from ..exceptions import UserError

__all__ = ["ConsoleRefusal", "RefusalCode"]

RefusalCode = Literal["not_found", "not_handed_off", "unknown_tool", "invalid", "no_listing"]


class ConsoleRefusal(UserError):
    """A console request that cannot be done; nothing was changed.

    Attributes:
        code: ``not_found`` (no such conversation), ``not_handed_off`` (the conversation is not
            with a human now), ``unknown_tool``, ``invalid`` (bad arguments or form fields) or
            ``no_listing`` (the store cannot list handed-off conversations).
    """

    def __init__(self, code: RefusalCode, message: str) -> None:
        self.code: RefusalCode = code
        super().__init__(message)
