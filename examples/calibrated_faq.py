"""An FAQ file as a knowledge base whose answerability threshold is calibrated on labelled
questions of one's own (docs/knowledge.md, "Answerability"), shared by the helpdesk and hotel
examples."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resolvekit.knowledge import KnowledgeBase

__all__ = ["calibrated_faq"]


@cache
def calibrated_faq(
    faq: Path, calibration: Path, *, test: bool = False, target_precision: float = 1.0
) -> KnowledgeBase:
    """``faq`` as a knowledge base calibrated on ``calibration`` (a JSON object whose
    ``questions`` are ``[question, FAQ entry id or null]`` pairs); ``test`` uses the hashing
    embedder (no model). Built once per arguments: the answers only read it."""
    from resolvekit.knowledge import KnowledgeBase
    from resolvekit.understanding.embedders import HashingEmbedder

    kb = KnowledgeBase(embedder=HashingEmbedder()) if test else KnowledgeBase()
    kb.add(faq)
    labelled = json.loads(calibration.read_text(encoding="utf-8"))["questions"]
    kb.calibrate([(question, doc) for question, doc in labelled], target_precision=target_precision)
    return kb
