"""Deprecated location of :func:`resolvekit.knowledge.cli.add_index_commands`.

Kept only until ``resolvekit.cli`` imports it from :mod:`resolvekit.knowledge.cli`; then delete.
"""

from __future__ import annotations

from .cli import add_index_commands

__all__ = ["add_index_commands"]
