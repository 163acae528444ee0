"""The PostgreSQL server fixture of the store tests, for the durability tests."""

from __future__ import annotations

from ..sessions.conftest import postgres_url

__all__ = ["postgres_url"]
