"""The agent-level intent gap: does the *agent* start the intent its classifier ranks first?

BANKING77, few examples per intent drawn from ``train`` (seeds 0, 1, 2 by default). Per seed:

- 14 of the 77 intents are held out as **in-domain out of scope**: 7 "described" ones, of which
  the developer gives 5 training messages each as ``negative_examples``, and 7 "unseen" ones
  nobody described. Their test messages must not start any intent.
- **Out-of-domain** messages: CLINC150's ``oos_test`` (1,000 messages a bank agent does not do).
- The agent: ``Agent.handle`` on LocalModel with one playbook per remaining intent (63 intents,
  ``--examples`` each), a new customer per message, default escalation policy.
- ``validation``: 5 more ``train`` messages per in-scope intent, 5 more of each described
  out-of-scope intent and CLINC150's ``oos_val`` (out of domain). Thresholds are chosen on these
  only; test is read once per configuration.
- ``--data clinc150``: the same on CLINC150 (150 intents: 10 described and 10 unseen held out,
  130 kept; validation from its ``val`` split). Its ``oos_test`` is then CLINC's own in-domain
  out-of-scope set, not out of domain.

Figures per seed and their mean: (a) the classifier's top-1 on the in-scope test messages (the
label LocalModel's classifier ranks first, whatever the gate says), (b) the share on which the
agent started the right intent, (b) - (a), and the share of in-domain (described / unseen) and
out-of-domain out-of-scope test messages for which the agent started no intent.

``--curve`` instead prints the classifier's held-out top-1 (all 77 intents, the full test set)
for 5, 10, 20 and 40 examples per intent (an intent with fewer training messages gives all it
has: the smallest has 35), the guidance in docs/models.md.

Run from the repository root (embeddings come from the disk cache after the first run)::

    .venv/bin/python tools/bench/bench_agent_intents.py                 # 10 examples, seeds 0-2
    .venv/bin/python tools/bench/bench_agent_intents.py --messages 600  # fewer test messages
    .venv/bin/python tools/bench/bench_agent_intents.py --curve
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from _data import banking77, clinc150, require

import resolvekit as rk
from resolvekit.models.local import LocalModel
from resolvekit.understanding.masking import mask_data

HELD_OUT = 14
"""Intents held out as in-domain out of scope (half described by negative examples)."""
NEGATIVES_PER_INTENT = 5
VALIDATION_PER_INTENT = 5


def _by_intent(texts: list[str], labels: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for t, y in zip(texts, labels, strict=True):
        out[y].append(t)
    return out


def _intent_class(name: str, examples: list[str]) -> type[rk.Intent]:
    return type(name, (rk.Intent,), {"examples": examples, "__doc__": "", "__module__": __name__})


def _sources(data: str) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    """(train, validation pool, test) messages by intent. BANKING77 has no validation split, so
    its validation messages come from ``train`` (never the ones given as examples)."""
    if data == "banking77":
        train = _by_intent(*banking77("train"))
        return train, train, _by_intent(*banking77("test"))
    clinc = clinc150()
    return _by_intent(*clinc["train"]), _by_intent(*clinc["val"]), _by_intent(*clinc["test"])


def split(seed: int, examples: int, data: str = "banking77") -> dict[str, Any]:
    """Training intents, negatives, validation and test sets for one seed."""
    rng = random.Random(seed)
    train, val, test = _sources(data)
    names = sorted(train)
    rng.shuffle(names)
    held = HELD_OUT if data == "banking77" else 20
    described, unseen = names[: held // 2], names[held // 2 : held]
    inside = sorted(names[held:])
    shots: dict[str, list[str]] = {}
    validation: list[tuple[str, str | None]] = []
    for name in inside:
        pool = rng.sample(train[name], len(train[name]))
        shots[name] = pool[:examples]
        spare = pool[examples:] if data == "banking77" else rng.sample(val[name], len(val[name]))
        validation += [(t, name) for t in spare[:VALIDATION_PER_INTENT]]
    negatives: list[str] = []
    for name in described:
        pool = rng.sample(train[name], len(train[name]))
        negatives += pool[:NEGATIVES_PER_INTENT]
        spare = pool[NEGATIVES_PER_INTENT:] if data == "banking77" else val[name]
        validation += [(t, None) for t in spare[:NEGATIVES_PER_INTENT]]
    clinc = clinc150()
    validation += [(t, None) for t in clinc["oos_val"][0]]
    return {
        "shots": shots,
        "negatives": negatives,
        "validation": validation,
        "test_in": [(t, n) for n in inside for t in test[n]],
        "test_described": [t for n in described for t in test[n]],
        "test_unseen": [t for n in unseen for t in test[n]],
        "test_out": list(clinc["oos_test"][0]),
    }


def build_agent(data: dict[str, Any], model: LocalModel) -> rk.Agent[None]:
    agent: rk.Agent[None] = rk.Agent(model=model, store="memory://", handoff=[])
    for name, examples in data["shots"].items():

        async def done(ctx: rk.Context[None], intent: rk.Intent) -> rk.PlaybookOutcome:
            return ctx.resolve("done")

        agent.playbook(_intent_class(name, examples))(done)
    return agent


async def _started(agent: rk.Agent[None], texts: list[str], tag: str) -> list[str | None]:
    out: list[str | None] = []
    for i, text in enumerate(texts):
        result = await agent.handle(f"{tag}-{i}", text)
        out.append(result.intent if result.outcome == "resolved" else None)
    return out


def run_seed(
    seed: int, examples: int, messages: int, settings: dict[str, Any], source: str
) -> dict[str, float]:
    data = split(seed, examples, source)
    rng = random.Random(1000 + seed)
    test_in = rng.sample(data["test_in"], min(messages, len(data["test_in"])))
    described = rng.sample(data["test_described"], min(messages // 4, len(data["test_described"])))
    unseen = rng.sample(data["test_unseen"], min(messages // 4, len(data["test_unseen"])))
    out_of_domain = rng.sample(data["test_out"], min(messages // 4, len(data["test_out"])))
    model = LocalModel(
        negative_examples=data["negatives"], validation=data["validation"], **settings
    )
    agent = build_agent(data, model)
    specs = agent.intent_specs
    started = time.perf_counter()
    report = model.fit_report(specs)
    fit_s = time.perf_counter() - started
    classifier = model._classifier_for(specs)  # the bench reads the classifier's own top-1
    top1 = classifier.predict([mask_data(t) if model.settings.mask else t for t, _ in test_in])
    classifier_right = [p.label == y for p, (_, y) in zip(top1, test_in, strict=True)]

    async def agent_run() -> tuple[list[str | None], ...]:
        return (
            await _started(agent, [t for t, _ in test_in], "in"),
            await _started(agent, described, "described"),
            await _started(agent, unseen, "unseen"),
            await _started(agent, out_of_domain, "ood"),
        )

    started = time.perf_counter()
    got_in, got_described, got_unseen, got_out = asyncio.run(agent_run())
    agent_s = time.perf_counter() - started
    agent_right = [g == y for g, (_, y) in zip(got_in, test_in, strict=True)]
    lost = sum(c and not a for c, a in zip(classifier_right, agent_right, strict=True))
    why: dict[str, int] = defaultdict(int)
    for (text, _), c, a in zip(test_in, classifier_right, agent_right, strict=True):
        if c and not a:
            seen = model.classify(text, specs)
            floor = agent.escalation.confidence_floor
            why[
                "gate" if not seen.in_scope else "floor" if seen.confidence < floor else "other"
            ] += 1
    print(f"  seed {seed}: right by the classifier but not started: {dict(why)}")
    return {
        "classifier top-1": 100 * statistics.mean(classifier_right),
        "agent started right": 100 * statistics.mean(agent_right),
        "gap (agent - classifier)": 100
        * (statistics.mean(agent_right) - statistics.mean(classifier_right)),
        "right by classifier, not started": 100 * lost / len(test_in),
        "in-domain OOS caught, described": 100 * statistics.mean(g is None for g in got_described),
        "in-domain OOS caught, unseen": 100 * statistics.mean(g is None for g in got_unseen),
        "in-domain OOS caught, all": 100
        * statistics.mean(g is None for g in got_described + got_unseen),
        "CLINC150 oos_test caught": 100 * statistics.mean(g is None for g in got_out),
        "fit report: held-out top-1": 100 * report.accuracy,
        "fit report: in-scope rejected": 100 * report.in_scope_rejected,
        "fit report: OOS recall": 100 * report.oos_recall,
        "threshold": report.threshold,
        "fit s": fit_s,
        "agent ms/message": 1000
        * agent_s
        / (len(test_in) + len(described) + len(unseen) + len(out_of_domain)),
    }


def bench_gap(
    seeds: list[int], examples: int, messages: int, settings: dict[str, Any], source: str
) -> None:
    print(
        f"\nAgent vs classifier, {source} ({'63' if source == 'banking77' else '130'} intents) x "
        f"{examples} examples, "
        f"{messages} in-scope test messages per seed, settings {settings or 'default'}"
    )
    rows: dict[str, list[float]] = defaultdict(list)
    for seed in seeds:
        for key, value in run_seed(seed, examples, messages, settings, source).items():
            rows[key].append(value)
        print(f"  seed {seed} done (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"  {'':<36}" + "".join(f"{'seed ' + str(s):>11}" for s in seeds) + f"{'mean':>11}")
    for key, values in rows.items():
        print(
            f"  {key:<36}"
            + "".join(f"{v:>11.2f}" for v in values)
            + f"{statistics.mean(values):>11.2f}"
        )


def bench_curve(seeds: list[int]) -> None:
    from resolvekit.understanding.classifier import IntentClassifier
    from resolvekit.understanding.embedders import default_intent_embedder

    print(
        "\nClassifier top-1 on BANKING77 test (77 intents, 3,080 messages) by examples per intent"
    )
    train = _by_intent(*banking77("train"))
    test_x, test_y = banking77("test")
    embedder = default_intent_embedder()
    test_v = embedder.embed([mask_data(t) for t in test_x])
    print(
        f"  {'examples':<10}"
        + "".join(f"{'seed ' + str(s):>10}" for s in seeds)
        + f"{'mean':>10}{'fit s':>8}"
    )
    for k in (5, 10, 20, 40):
        accs, times = [], []
        for seed in seeds:
            rng = random.Random(seed)
            texts, labels = [], []
            for name in sorted(train):
                for t in rng.sample(train[name], min(k, len(train[name]))):
                    texts.append(mask_data(t))
                    labels.append(name)
            started = time.perf_counter()
            clf = IntentClassifier(embedder).fit(texts, labels)
            times.append(time.perf_counter() - started)
            preds = clf.predict_embeddings(test_v)
            accs.append(
                100 * statistics.mean(p.label == y for p, y in zip(preds, test_y, strict=True))
            )
        print(
            f"  {k:<10}"
            + "".join(f"{a:>10.2f}" for a in accs)
            + f"{statistics.mean(accs):>10.2f}{statistics.mean(times):>8.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--curve", action="store_true")
    parser.add_argument("--data", choices=["banking77", "clinc150"], default="banking77")
    parser.add_argument("--oos-threshold", type=float, default=None)
    parser.add_argument("--confident", type=float, default=None)
    parser.add_argument("--no-mask", action="store_true")
    args = parser.parse_args()
    require("banking77", "clinc150")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    if args.curve:
        bench_curve(args.seeds)
        return
    settings: dict[str, Any] = {}
    if args.oos_threshold is not None:
        settings["oos_threshold"] = args.oos_threshold
    if args.confident is not None:
        settings["confident_threshold"] = args.confident
    if args.no_mask:
        settings["mask"] = False
    bench_gap(args.seeds, args.examples, args.messages, settings, args.data)


if __name__ == "__main__":
    main()
