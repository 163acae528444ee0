"""The service leader's scorecard from the conversations in a store (``resolvekit report``).

:func:`load_conversations` reads every conversation of a store (with its archived runs and
messages) into :class:`ConversationFacts`; :func:`compute_scorecard` turns them into a
:class:`Scorecard`; :mod:`resolvekit.report.render` prints it as tables, CSV, JSON or an HTML
page. The outcome of a conversation is decided as the eval scorer decides it, so a report over
a store filled by ``resolvekit eval --store`` shows the eval's figures. See docs/report.md.
"""

from __future__ import annotations

from .scorecard import (
    ConversationFacts,
    Scorecard,
    compute_scorecard,
    facts_of,
    load_conversations,
)

__all__ = [
    "ConversationFacts",
    "Scorecard",
    "compute_scorecard",
    "facts_of",
    "load_conversations",
]
