"""Is a message a general information question (the knowledge base first) or about the
customer's own records? Split from ``_signals`` (module size)."""

from __future__ import annotations

import re
from collections.abc import Collection

from .._text import fold
from ._choices import stem
from ._common import check_text

__all__ = ["is_information_question"]

_OPENERS = (
    # a short lead-in set off by a colon or a dash: "before that: how long...?"
    r"^(?:[a-z' ]{1,30}(?::|\s[-\u2013\u2014])\s+)?"
    r"(?:(?:hi|hello|hey|ok|okay|so|and|also|but|oh|wait|sorry|hmm|um|btw|by the way|actually"
    r"|quick question|quick q|one more thing|hang on|hold on|one sec(?:ond)?|just a sec(?:ond)?"
    r"|real quick|before that|before i forget|out of interest|first)\W+)*"
)
_INFO_START = re.compile(
    _OPENERS + r"(?:how (?:long|much|many|often|soon|fast|far|late|does|do|is|are)\b"
    r"|what(?:'s|s)?\b|when\b|why\b|where\b|which\b|who\b"
    r"|is there\b|are there\b|is it true\b|do you\b|does\b|are you\b"
    r"|can i\b|may i\b|am i allowed\b|is it possible\b|are \w+ allowed\b"
    r"|(?:do|will) i (?:need|have) to\b|do i need\b|must i\b|(?:until|till|by) when\b)"
)
_REQUIRED = re.compile(r"\b(?:(?:do|will) i (?:need|have) to|do i need|must i)\b")
""""Do I need to show ID?": what the rules require, not what happened to this customer."""
_DEADLINE = re.compile(
    _OPENERS + r"(?:(?:until|till|by) when|how late|how long (?:do i have|have i got) to (?!wait)"
    r"|what(?:'s| is) the (?:deadline|cut-?off|latest time))\b"
)
""""Until when can I change my slot?": a deadline is a rule, even for the customer's record."""
_MY = re.compile(r"\b(?:my|our)\s+([a-z]+)(?:\s+([a-z]+))?")
_OWN = re.compile(
    # the customer's own things, requests, and ids
    r"\b(?:mine|ours|me|please|i want|i'd like|i would like|(?<!do )(?<!will )i need"
    r"|help me|i wanna)\b"
    r"|\b(?:can|could|would|will) you\b|\S*\d{3}"
    # "what's the tracking number?": one particular record, not a policy
    r"|\bthe (?:\w+ )?(?:number|status|total|balance|amount|address|id|code|date)\b"
)
_ABOUT_ME = re.compile(
    # "do I get back", "why was I charged": about what happened to this customer
    r"\b(?:do|did|was|were|am|will|have|had|should|would) i\b"
)
_ANY = re.compile(r"\b(?:with|at|on|for|under|using|via|by|from) (?:a|an|any)\b")
"""A hypothetical, general case ("...do I get *with a* standard fare?", "can I pay my bill *at
a* paypoint?"): a question about the rules, even when it says "I" or names a record."""
_IF_LEAD = re.compile(r"^(?:if|say|suppose) (?:i|we)\b[^,?]{1,80},\s*")
_IF_TAIL = re.compile(r"\bif (?:i|we) (?!(?:was|were|did|had|got|have|already)\b)[a-z]+")
"""A condition the customer has not met yet ("*if I downgrade*, do I get money back?", "do I
lose my data *if we cancel*?"): a question about the rules, like a general case."""
_ASKS = re.compile(r"^(?:do|does|will|would|can|could|is|are|should) (?:i|we|it|my|our|there)\b")
"""A yes/no question, asked under such a condition."""


def is_information_question(text: str, *, records: Collection[str] | None = None) -> bool:
    """True when the message asks for general information rather than for something to be done
    about the customer's own account: "How long do refunds take?", "What plans are there?",
    "What happens when I cancel?", "Do you ship to Canada?".

    A question about the customer's own records ("where is my order?", "what's the status of
    W1234567?"), a request ("can you refund it?", "I'd like to cancel, how?"), a question about
    what happened to them ("why was I charged twice?", "do I get the fee back?") and "how do I
    cancel?" (which wants the cancelling done) are not. A general case asked with "a"/"any"
    after a preposition is a question about the rules even with "I" or "my" in it: "How many
    bags do I get with a standard fare?", "Can I pay my bill at a paypoint?". So is a deadline
    ("Until when can I change my delivery slot?", "how late can I cancel my order?"), and "do I
    need to / do I have to ...?" asks what the rules require ("Do I need to show ID for
    wine?"), unless it names the customer's record ("do I need to cancel my order?").
    A condition not met yet ("If I downgrade, do I get money back?") is a question about the
    rules too.

    Args:
        records: the words that name the customer's records (``{"order", "booking"}``): then
            "my" counts as the customer's own only before one of them, so "can I bring my
            skis?" is a question. Without it, any "my" does.

    Raises:
        UserError: ``text`` is not a string.
    """
    check_text(text)
    folded = fold(text[:500]).strip()
    lead = _IF_LEAD.match(folded)
    body = folded[lead.end() :] if lead else folded
    hypothetical = lead is not None or _IF_TAIL.search(folded) is not None
    if not (_INFO_START.search(body) or (hypothetical and _ASKS.match(body))):
        return False
    if body.startswith(("how do i", "how can i", "how to")):
        return False
    if _OWN.search(folded):
        return False
    general = hypothetical or _ANY.search(folded) is not None or _DEADLINE.search(body) is not None
    about_me = _ABOUT_ME.search(_REQUIRED.sub(" ", folded))
    if about_me and not general:
        return False
    kinds = None if records is None else {stem(word.lower()) for word in records}
    for own in _MY.finditer(folded):
        if kinds is None and not general:
            return False
        # "my order" is a record of this customer; "my skis" is not.
        mine = kinds is not None and any(w is not None and stem(w) in kinds for w in own.groups())
        if mine and not general:
            return False
    return True
