"""What the agent itself says (handoffs, clarifications, re-asks...): override for tone or
language with ``Agent(phrases=Phrases(...))``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Phrases"]


@dataclass(kw_only=True)
class Phrases:
    """What the engine itself says. Override for tone or language."""

    handoff: str = (
        "I'm passing this to a colleague who can help. They'll see everything we discussed, "
        "so you won't need to repeat yourself."
    )
    with_human: str = "Thanks, I've added that for the colleague who is looking at your request."
    not_understood: str = "Sorry, I didn't quite get that. Could you say it another way?"
    which_intent: str = "I want to make sure I help with the right thing."
    did_you_mean: str = "Did you mean {options}?"
    no_answer: str = (
        "I couldn't find a reliable answer to that. "
        "Could you tell me a bit more about what you need?"
    )
    no_answer_waiting: str = "I couldn't find a reliable answer to that."
    """Said instead of ``no_answer`` when a question of ours is still open (``back_to``
    follows), or before ``can_help``."""
    can_help: str = "Here is what I can help with: {topics}. What would you like to do?"
    """Follows ``no_answer_waiting`` when nothing is open and the agent has intents."""
    back_to: str = "Now, back to your request: {question}"
    resume: str = "Shall we go back to your earlier request ({intent})?"
    next_request: str = "You also asked about something else ({intent}). Shall we do that now?"
    dropped: str = "OK, I've dropped that request."
    yes_or_no: str = "Just to be sure, please answer yes or no: {question}"
    still_open: str = (
        "I haven't done anything yet. When you're ready, just say yes or no: {question}"
    )
    """Said when an answer to a confirmation is still unclear after ``yes_or_no``: the
    question stays open, nothing runs."""
    stale_answer: str = "That answer was for an earlier question. {question}"
    """Said when a message answers a question that is no longer the open one
    (``handle(reply_to=...)``)."""
    confirm_tool: str = "To confirm: {action} ({args}). Shall I go ahead?"
    not_done: str = "OK, I haven't done that. Is there anything else I can help with?"
    approval_pending: str = (
        "This needs approval by a {role} ({reason}). I'll let you know here as soon as it's "
        "decided."
    )
    """Said when ``ctx.approve`` waits for a person (``{reason}``, ``{role}``)."""
    approval_waiting: str = (
        "Your request is still waiting for approval by a {role} ({reason}). I'll let you know "
        'here as soon as it\'s decided; say "cancel" to withdraw it.'
    )
    """Said to a customer who writes while their approval is pending."""
    approval_withdrawn: str = "OK, I've withdrawn that request; nothing was changed."
    """Said when the customer cancels a request waiting for approval."""
