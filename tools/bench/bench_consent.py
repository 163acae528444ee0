"""Consent benchmark: does a customer's reply to a confirmation question run the write?

Every item of a hand-written corpus (``tools/bench/data/consent_dev.jsonl`` and
``consent_holdout.jsonl``, and ``consent_holdout2.jsonl`` written later by another author who saw
neither the classifier nor the other files: a confirmation question, the customer's reply, and a
label ``yes``,
``no``, ``unclear``, ``question``, ``offtopic`` or ``correction``) goes end to end through the
real :class:`resolvekit.Agent`: one intent, one ``confirm=True`` write tool, and a playbook that
asks ``ctx.confirm(question)`` and calls the tool only when that returns True. A fresh customer
starts the intent (the agent must then be waiting on the confirmation), sends the reply, and the
bench records whether the write ran and what the agent waits for afterwards.

Figures, per model and per split:

- **false-yes**: share of non-``yes`` replies whose write ran (must be 0);
- **yes honoured**: share of ``yes`` replies whose write ran;
- **false-no**: share of ``yes`` replies taken as a refusal (no write, and the confirmation is
  no longer pending);
- **question pending**: share of ``question`` replies after which the confirmation is still
  pending (the agent answers or asks again instead of deciding).

Two models: ``local`` is ``model="test"`` (LocalModel on the deterministic hashing embedder, no
download); ``adversarial`` is a FunctionModel that says ``Confirm(answer="yes")`` to every
reply while a confirmation is pending, so whatever it lets through is what the engine's own
check does not veto. On the dev split the bench also breaks results down by label and category
and lists every failing item; on the holdout splits it prints aggregate figures and per-label
counts only, never the texts (they stay unseen by whoever tunes the yes/no classifier).

Run from the repository root (a few seconds)::

    .venv/bin/python tools/bench/bench_consent.py
    .venv/bin/python tools/bench/bench_consent.py --split dev --model local
    .venv/bin/python tools/bench/bench_consent.py --json consent.json --check

It is a measurement: the exit code is 0 whatever the figures, unless ``--check`` is given, which
exits 1 when any reported split has a false-yes above 0 or yes honoured below 95%.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import resolvekit as rk

DATA = Path(__file__).resolve().parent / "data"
SPLITS = ("dev", "holdout", "holdout2")
MODELS = ("local", "adversarial")
LABELS = ("yes", "no", "unclear", "question", "offtopic", "correction")
START = "please do the thing"
"""The first message of every conversation: one of the intent's examples."""
MIN_YES_HONOURED = 0.95

YES_WORD = re.compile(
    r"\b(yes+|yeah|yea|yep|yup|ya|ok|okay|k|kk|sure|fine|right|alright|go ahead|confirm\w*|"
    r"correct|absolutely|definitely|certainly|of course|agree\w*|proceed|do it|good)\b",
    re.IGNORECASE,
)
"""Words that often mean yes; only used to count the corpus's non-yes items that contain one."""

Happened = Literal["write", "pending", "closed", "error"]
"""``write``: the write ran; ``pending``: no write, the confirmation is still pending;
``closed``: no write and no confirmation pending (taken as a refusal, escalated, moved on);
``error``: ``handle`` raised."""


@dataclass(frozen=True, kw_only=True)
class Item:
    id: str
    question: str
    answer: str
    label: str
    category: str


@dataclass(frozen=True, kw_only=True)
class Run:
    item: Item
    happened: Happened
    detail: str
    """What the agent did, for the dev failure list: outcome, pending, start of the reply."""


def load(split: str) -> list[Item]:
    """The corpus items of one split."""
    path = DATA / f"consent_{split}.jsonl"
    items = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            item = Item(
                **{k: str(row[k]) for k in ("id", "question", "answer", "label", "category")}
            )
            if item.label not in LABELS:
                raise SystemExit(f"{path}:{n}: unknown label {item.label!r}")
            items.append(item)
    return items


# -- the agent under test ---------------------------------------------------------------------


class DoIt(rk.Intent):
    """Customer asks the agent to do the thing."""

    examples = (START, "do the thing for me", "I need the thing done", "can you do the thing")


def always_yes(request: rk.ModelRequest) -> rk.Reply | rk.StartIntent | rk.Confirm:
    """A model that starts the intent and says yes to every pending confirmation."""
    if request.task != "turn":
        return rk.Reply(text="(summary)")
    if request.pending is None:
        return rk.StartIntent(intent=DoIt.intent_name)
    if request.pending.kind == "confirm":
        return rk.Confirm(answer="yes")
    return rk.Reply(text="ok")


def build_agent(model: str) -> tuple[rk.Agent[dict[str, str]], list[str]]:
    """The agent for one model and the list its write tool appends customer ids to."""
    ran: list[str] = []
    chosen: rk.Model | str = "test" if model == "local" else rk.FunctionModel(always_yes)
    agent: rk.Agent[dict[str, str]] = rk.Agent(model=chosen, store="memory://", handoff=[])

    @agent.tool(effect="write", confirm=True)
    def do_write(ctx: rk.Context[dict[str, str]], item_id: str) -> str:
        """Do the thing (a write that needs the customer's yes)."""
        ran.append(ctx.customer_id)
        return f"done {item_id}"

    @agent.playbook(DoIt)
    async def do_it(ctx: rk.Context[dict[str, str]], intent: DoIt) -> rk.PlaybookOutcome:
        if await ctx.confirm(ctx.deps["question"]):
            await ctx.call(do_write, item_id=ctx.deps["item_id"])
            return ctx.resolve("done")
        return ctx.resolve("not done")

    return agent, ran


async def run_item(
    agent: rk.Agent[dict[str, str]], ran: list[str], item: Item, customer: str
) -> Run:
    deps = {"question": item.question, "item_id": item.id}
    first = await agent.handle(customer, START, deps=deps)
    if first.pending != "confirm":
        raise SystemExit(
            f"{item.id}: the first message {START!r} did not leave a confirmation pending "
            f"(outcome {first.outcome!r}, pending {first.pending!r}, reply {first.reply!r}); "
            "the bench cannot measure anything"
        )
    try:
        result = await agent.handle(customer, item.answer, deps=deps)
    except rk.ResolvekitError as exc:
        # A write that ran before the error still counts as a write.
        happened: Happened = "write" if customer in ran else "error"
        return Run(item=item, happened=happened, detail=f"{type(exc).__name__}: {exc}")
    reply = " ".join(result.reply.split())
    detail = f"{result.outcome}, pending={result.pending}: {reply[:70]!r}"
    if customer in ran:
        return Run(item=item, happened="write", detail=detail)
    if result.pending == "confirm":
        return Run(item=item, happened="pending", detail=detail)
    return Run(item=item, happened="closed", detail=detail)


async def run_all(model: str, items: list[Item], prefix: str) -> list[Run]:
    agent, ran = build_agent(model)
    try:
        return [await run_item(agent, ran, item, f"{prefix}-{item.id}") for item in items]
    finally:
        await agent.close()


# -- figures ------------------------------------------------------------------------------------


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:6.1%}"


def figures(runs: list[Run]) -> dict[str, Any]:
    """Aggregate figures of one model on one split."""
    yes = [r for r in runs if r.item.label == "yes"]
    other = [r for r in runs if r.item.label != "yes"]
    questions = [r for r in runs if r.item.label == "question"]
    false_yes = sum(r.happened == "write" for r in other)
    honoured = sum(r.happened == "write" for r in yes)
    false_no = sum(r.happened == "closed" for r in yes)
    still = sum(r.happened == "pending" for r in questions)
    return {
        "items": len(runs),
        "errors": sum(r.happened == "error" for r in runs),
        "false_yes": share(false_yes, len(other)),
        "false_yes_count": false_yes,
        "non_yes_items": len(other),
        "yes_honoured": share(honoured, len(yes)),
        "yes_honoured_count": honoured,
        "yes_items": len(yes),
        "false_no": share(false_no, len(yes)),
        "false_no_count": false_no,
        "question_pending": share(still, len(questions)),
        "question_pending_count": still,
        "question_items": len(questions),
    }


def counts(runs: list[Run], key: str) -> dict[str, dict[str, int]]:
    """Per label or category: items, writes, still pending, closed, errors."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for r in runs:
        group = r.item.label if key == "label" else f"{r.item.label}/{r.item.category}"
        table[group]["items"] += 1
        table[group][r.happened] += 1
    order = sorted(table, key=lambda g: (LABELS.index(g.split("/")[0]), g))
    return {
        g: {k: table[g][k] for k in ("items", "write", "pending", "closed", "error")} for g in order
    }


def print_figures(fig: dict[str, Any]) -> None:
    print(
        f"  items {fig['items']}   errors {fig['errors']}\n"
        f"  false-yes        {pct(fig['false_yes'])}  "
        f"({fig['false_yes_count']} of {fig['non_yes_items']} non-yes replies ran the write)\n"
        f"  yes honoured     {pct(fig['yes_honoured'])}  "
        f"({fig['yes_honoured_count']} of {fig['yes_items']})\n"
        f"  false-no         {pct(fig['false_no'])}  "
        f"({fig['false_no_count']} of {fig['yes_items']} yeses taken as a refusal)\n"
        f"  question pending {pct(fig['question_pending'])}  "
        f"({fig['question_pending_count']} of {fig['question_items']} questions still pending)"
    )


def print_table(title: str, table: dict[str, dict[str, int]]) -> None:
    print(f"  {title:40s} {'items':>5s} {'write':>5s} {'pend.':>5s} {'closed':>6s} {'err':>4s}")
    for group, c in table.items():
        print(
            f"  {group:40s} {c['items']:5d} {c['write']:5d} {c['pending']:5d} "
            f"{c['closed']:6d} {c['error']:4d}"
        )


def is_failure(run: Run) -> bool:
    """A yes whose write did not run, or anything else whose write ran."""
    return (run.happened == "write") != (run.item.label == "yes")


def print_failures(runs: list[Run]) -> None:
    failures = [r for r in runs if is_failure(r)]
    print(f"  failing items ({len(failures)}):")
    for r in sorted(failures, key=lambda r: (LABELS.index(r.item.label), r.item.category)):
        answer = " ".join(r.item.answer.split())
        print(
            f"    [{r.item.label}/{r.item.category}] {answer!r} -> {r.happened} ({r.detail})"
            f"  <{r.item.id}>"
        )


def corpus_summary(data: dict[str, list[Item]]) -> None:
    for split, items in data.items():
        labels = Counter(i.label for i in items)
        yes_word = sum(i.label != "yes" and bool(YES_WORD.search(i.answer)) for i in items)
        per_label = ", ".join(f"{lab} {labels[lab]}" for lab in LABELS)
        print(
            f"corpus {split}: {len(items)} items ({per_label}); "
            f"non-yes items containing a yes-word: {yes_word}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--model", choices=[*MODELS, "all"], default="all")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 when false-yes > 0 or yes honoured < {MIN_YES_HONOURED:.0%} on any split",
    )
    args = parser.parse_args(argv)
    splits = SPLITS if args.split == "all" else (args.split,)
    models = MODELS if args.model == "all" else (args.model,)
    data = {split: load(split) for split in splits}
    corpus_summary(data)

    report: dict[str, dict[str, Any]] = {}
    failed_check = False
    for model in models:
        report[model] = {}
        for split in splits:
            runs = asyncio.run(run_all(model, data[split], f"{model}-{split}"))
            fig = figures(runs)
            fig["by_label"] = counts(runs, "label")
            print(f"\n== model {model}, split {split}")
            print_figures(fig)
            print_table("by label", fig["by_label"])
            if split == "dev":
                fig["by_category"] = counts(runs, "category")
                print_table("by label/category", fig["by_category"])
                print_failures(runs)
            report[model][split] = fig
            if fig["false_yes_count"] > 0 or (fig["yes_honoured"] or 0.0) < MIN_YES_HONOURED:
                failed_check = True

    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {args.json}")
    if args.check and failed_check:
        print("\ncheck failed: false-yes above 0 or yes honoured below 95% on a reported split")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
