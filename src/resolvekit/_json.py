"""Plain JSON data for any value (what journals, slots and facts store)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dates, decimals and other objects become their ``str``."""
    return json.loads(json.dumps(value, default=str))
