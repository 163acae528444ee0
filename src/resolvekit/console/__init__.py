"""The handoff inbox and agent assist console: a web page where human agents take over handed-off
conversations with the whole context, run the agent's tools through the same gates, answer the
customer and hand the conversation back to the bot.

Standalone: ``resolvekit console module:agent --api-key KEY`` (see ``docs/console.md``); in your
own ASGI server: :func:`create_app`; without the web: :class:`Console`.
"""

from __future__ import annotations

from .actions import ToolRun
from .app import create_app
from .errors import ConsoleRefusal
from .service import Console, ConversationView, HumanReply, InboxItem, ReplyTarget
from .signals import Frustration, frustration
from .suggest import Suggestion

__all__ = [
    "Console",
    "ConsoleRefusal",
    "ConversationView",
    "Frustration",
    "HumanReply",
    "InboxItem",
    "ReplyTarget",
    "Suggestion",
    "ToolRun",
    "create_app",
    "frustration",
]
