"""Generated answers: ask an LLM to answer from numbered passages, then ground its reply."""

from __future__ import annotations

from dataclasses import replace

from ..exceptions import UnexpectedModelBehavior
from ..messages import Citation, Reply
from ..models import Model, ModelRequest
from ..specs import Passage
from .answers import ANSWER_INSTRUCTIONS, Answer, ground


def _same_passage(citation: Citation, passage: Citation) -> bool:
    if citation.chunk_id:
        return citation.chunk_id == passage.chunk_id
    return citation.doc_id == passage.doc_id


async def generate_answer(model: Model, query: str, extractive: Answer) -> Answer:
    """Turn an answerable extractive :class:`Answer` into a grounded generated one.

    The model receives ``extractive.hits`` as passages 1..n. Its reply is grounded with
    :func:`~resolvekit.knowledge.answers.ground`; if no sentence survives (the model found the
    passages insufficient, or cited nothing retrieved) the answer is not answerable: no text,
    the dropped sentences recorded.

    Raises:
        UnexpectedModelBehavior: the model answered with a decision other than ``reply``.
    """
    hits = extractive.hits
    passages = [Passage(text=h.text, score=h.score, citation=h.citation) for h in hits]
    request = ModelRequest(
        task="answer",
        allowed=frozenset({"reply"}),
        query=query,
        passages=passages,
        instructions=ANSWER_INSTRUCTIONS,
    )
    response = await model.request(request)
    decision = response.decision
    if not isinstance(decision, Reply):
        raise UnexpectedModelBehavior(
            f"Asked to answer from knowledge, the model returned {decision.kind!r} "
            "instead of 'reply'",
            body=decision,
        )
    retrieved = [h.citation for h in hits]
    rejected = [c for c in decision.citations if not any(_same_passage(c, p) for p in retrieved)]
    grounded = ground(decision.text, len(hits))
    if not grounded.cited:
        return replace(
            extractive,
            text="",
            citations=[],
            answerable=False,
            mode="none",
            dropped=grounded.dropped,
            rejected_citations=rejected,
        )
    return replace(
        extractive,
        text=grounded.text,
        citations=[retrieved[i] for i in grounded.cited],
        mode="generated",
        dropped=grounded.dropped,
        rejected_citations=rejected,
    )
