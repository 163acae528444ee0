"""Typo-tolerant understanding (issue #15): the agent on clean and noisy messages, typo reading
off and on.

Data, built at run time from ../shared/data with fixed seeds (nothing is copied into the repo):

- an agent per data set: ``Agent.handle`` on the default :class:`LocalModel` (no validation set,
  no negative examples: what a developer starts with), one playbook per intent with
  ``--examples`` training messages each (10 by default) drawn from ``train``;
- in-scope test messages: ``--per-intent`` messages of each intent from ``test``; out of scope:
  CLINC150's ``oos_test`` (out of domain for the bank, in-domain out of scope for CLINC150);
- noisy copies made by a seeded noise model (:func:`noisy`): per word of three letters or more,
  with probability ``--rate``, one of a swap of two neighbours, a dropped letter, a doubled
  letter or a neighbouring key; and chat shorthand ("please" -> "pls", "you" -> "u", "for" ->
  "4"...) with probability 0.6 where it fits; every noisy message differs from its clean one.
  The shorthand list here was written apart from the corrector's and holds forms it does not
  read ("4", "2", "b4").

Split rule, fixed before any tuning: a message is in ``dev`` when the first byte of the SHA-256
of "<data set>:<clean text>" is even, else in ``holdout``. Tune on dev only; the holdout is
reported once, at the end (its messages are never printed).

Per data set and split it prints, for typo reading off and on (``LocalModel(typos=...)``, the
same fitted model): the agent's intent accuracy (started the right intent) on clean and noisy
in-scope messages, the share started as any intent (in scope), and out-of-scope recall (no
intent started) on clean and noisy ``oos_test``; and the classifier's own top-1 on clean and
noisy messages. ``--cost`` times what the mechanism adds (fresh embedding caches, so nothing
is served from disk): the correction alone on every message, and on the slow path (out of
scope or unsure) the correction plus the second classification, against a whole turn.

Run from the repository root::

    .venv/bin/python tools/bench/bench_typos.py                      # dev split, both data sets
    .venv/bin/python tools/bench/bench_typos.py --split holdout      # once, at the end
    .venv/bin/python tools/bench/bench_typos.py --cost --data banking77
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from _data import banking77, clinc150, require
from bench_agent_intents import _by_intent, _started, build_agent

from resolvekit.models import local_rules
from resolvekit.models.local import LocalModel
from resolvekit.understanding.masking import mask_data

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _i, _ch in enumerate(_row):
        near = {_row[j] for j in (_i - 1, _i + 1) if 0 <= j < len(_row)}
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_ROWS):
                near |= {
                    _ROWS[_other][j] for j in (_i - 1, _i, _i + 1) if 0 <= j < len(_ROWS[_other])
                }
        _NEAR[_ch] = "".join(sorted(near))

_SHORT = {
    "please": ("pls", "plz", "plse"),
    "you": ("u",),
    "your": ("ur", "yr"),
    "thanks": ("thx", "thnx"),
    "thank you": ("ty", "thx"),
    "what is": ("whats", "wats"),
    "what's": ("whats",),
    "want to": ("wanna",),
    "going to": ("gonna",),
    "because": ("cuz", "bc"),
    "tomorrow": ("tmrw", "2moro"),
    "people": ("ppl",),
    "account": ("acct", "acc"),
    "about": ("abt",),
    "i'm": ("im",),
    "don't": ("dont",),
    "can't": ("cant",),
    "are": ("r",),
    "for": ("4",),
    "to": ("2",),
    "before": ("b4",),
    "message": ("msg",),
    "someone": ("sum1",),
}
"""Shorthand the noise model writes (written apart from the corrector's own list)."""


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    kind = rng.choice(("swap", "drop", "double", "near"))
    if kind == "swap" and i < len(word) - 1 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop" and len(word) > 3:
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[: i + 1] + word[i] + word[i + 1 :]
    ch = word[i].lower()
    if ch in _NEAR:
        new = rng.choice(_NEAR[ch])
        return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]
    return word[:i] + word[i + 1 :] if len(word) > 3 else word + word[-1]


def noisy(text: str, seed: int, rate: float) -> str:
    """A noisy copy of ``text``: typos and shorthand, seeded by ``seed`` and the text."""
    import re

    rng = random.Random(f"{seed}:{text}")
    out = text
    for long, shorts in _SHORT.items():
        pattern = re.compile(rf"\b{re.escape(long)}\b", re.IGNORECASE)
        if pattern.search(out) and rng.random() < 0.6:
            out = pattern.sub(rng.choice(shorts), out)
    words = list(re.finditer(r"(?<![\w'])[A-Za-z]{3,}(?![\w'])", out))
    pieces, last, changed = [], 0, out != text
    for m in words:
        if rng.random() < rate:
            pieces += [out[last : m.start()], _typo(m.group(), rng)]
            last = m.end()
            changed = True
    out = "".join([*pieces, out[last:]])
    if not changed and words:
        m = rng.choice(words)
        out = out[: m.start()] + _typo(m.group(), rng) + out[m.end() :]
    return out


def in_dev(data: str, text: str) -> bool:
    """The fixed split rule: dev when the first byte of the text's hash is even."""
    return hashlib.sha256(f"{data}:{text}".encode()).digest()[0] % 2 == 0


def load(data: str, examples: int, per_intent: int, seed: int) -> dict[str, Any]:
    """Training shots, in-scope test pairs and out-of-scope messages of one data set."""
    clinc = clinc150()
    if data == "banking77":
        train, test = _by_intent(*banking77("train")), _by_intent(*banking77("test"))
    else:
        train, test = _by_intent(*clinc["train"]), _by_intent(*clinc["test"])
    rng = random.Random(seed)
    shots = {name: rng.sample(train[name], examples) for name in sorted(train)}
    pairs = [
        (t, name)
        for name in sorted(test)
        for t in rng.sample(test[name], min(per_intent, len(test[name])))
    ]
    return {"shots": shots, "test": pairs, "oos": list(clinc["oos_test"][0])}


def _pct(values: list[bool]) -> float:
    return 100 * statistics.mean(values) if values else float("nan")


def run(data: str, split: str, args: argparse.Namespace) -> None:
    loaded = load(data, args.examples, args.per_intent, args.seed)
    wanted = split == "dev"
    test = [(t, y) for t, y in loaded["test"] if in_dev(data, t) == wanted]
    oos = [t for t in loaded["oos"] if in_dev("oos", t) == wanted][: args.oos]
    noisy_test = [(noisy(t, args.seed, args.rate), y) for t, y in test]
    noisy_oos = [noisy(t, args.seed, args.rate) for t in oos]
    model = LocalModel()
    agent = build_agent(loaded, model)
    specs = agent.intent_specs
    started = time.perf_counter()
    classifier = model._classifier_for(specs)  # the bench reads the classifier's own top-1
    fit_s = time.perf_counter() - started
    print(
        f"\n{data}, {split}: {len(specs)} intents x {args.examples} examples (fit {fit_s:.0f} s), "
        f"{len(test)} in-scope and {len(oos)} out-of-scope test messages, noise rate {args.rate}, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if args.show:
        for (original, _), (typed, _) in list(zip(test, noisy_test, strict=True))[: args.show]:
            fixed = model.respelled(typed, specs)
            print(f"  {original!r}\n    -> {typed!r}\n    -> {fixed and fixed.text!r}")

    def top1(pairs: list[tuple[str, str]]) -> float:
        predicted = classifier.predict([mask_data(t) for t, _ in pairs])
        return _pct([p.label == y for p, (_, y) in zip(predicted, pairs, strict=True)])

    rows: dict[str, dict[str, float]] = {}
    timing: dict[str, float] = {}
    rows_off_dirty: list[str | None] = []
    oos_off_noisy: list[str | None] = []
    for typos in (False, True):
        model.typos = typos
        column = "typos on" if typos else "typos off"

        async def agent_run(column: str = column) -> tuple[list[str | None], ...]:
            return (
                await _started(agent, [t for t, _ in test], f"{column}-clean"),
                await _started(agent, [t for t, _ in noisy_test], f"{column}-noisy"),
                await _started(agent, oos, f"{column}-oos"),
                await _started(agent, noisy_oos, f"{column}-noisy-oos"),
            )

        started = time.perf_counter()
        clean, dirty, got_oos, got_noisy_oos = asyncio.run(agent_run())
        timing[column] = 1000 * (time.perf_counter() - started) / (2 * len(test) + 2 * len(oos))
        labels = [y for _, y in test]
        rows[column] = {
            "agent intent accuracy, clean": _pct(
                [g == y for g, y in zip(clean, labels, strict=True)]
            ),
            "agent intent accuracy, noisy": _pct(
                [g == y for g, y in zip(dirty, labels, strict=True)]
            ),
            "in scope (any intent), clean": _pct([g is not None for g in clean]),
            "in scope (any intent), noisy": _pct([g is not None for g in dirty]),
            "OOS recall, clean oos_test": _pct([g is None for g in got_oos]),
            "OOS recall, noisy oos_test": _pct([g is None for g in got_noisy_oos]),
        }
        if args.errors and typos:
            shown = 0
            for (message, label), got, before in zip(
                noisy_test, dirty, rows_off_dirty, strict=True
            ):
                if before == label and got != label and shown < args.errors:
                    fixed = model.respelled(message, specs)
                    print(f"  LOST {label}: {message!r} -> {fixed and fixed.text!r} -> {got}")
                    shown += 1
            for message, got, before in zip(noisy_oos, got_noisy_oos, oos_off_noisy, strict=True):
                if got is not None and before is None and shown < 2 * args.errors:
                    fixed = model.respelled(message, specs)
                    print(f"  OOS TAKEN: {message!r} -> {fixed and fixed.text!r} -> {got}")
                    shown += 1
        rows_off_dirty, oos_off_noisy = dirty, got_noisy_oos
    print(f"  {'':<34}{'typos off':>11}{'typos on':>11}{'change':>9}")
    for key in rows["typos off"]:
        off, on = rows["typos off"][key], rows["typos on"][key]
        print(f"  {key:<34}{off:>11.1f}{on:>11.1f}{on - off:>+9.1f}")
    print(f"  {'classifier top-1, clean':<34}{top1(test):>11.1f}")
    print(f"  {'classifier top-1, noisy':<34}{top1(noisy_test):>11.1f}")
    print(
        f"  agent ms/message (disk cache as found): off {timing['typos off']:.1f}, "
        f"on {timing['typos on']:.1f}"
    )


def cost(data: str, args: argparse.Namespace) -> None:
    """What the mechanism adds per message, with fresh embedding caches."""
    from resolvekit.understanding.embedders import default_intent_embedder

    loaded = load(data, args.examples, args.per_intent, args.seed)
    texts = [noisy(t, args.seed, args.rate) for t, _ in loaded["test"] if in_dev(data, t)]
    texts = texts[: args.cost_messages]
    with tempfile.TemporaryDirectory() as cache:
        model = LocalModel(embedder=default_intent_embedder(cache))
        agent = build_agent(loaded, model)
        specs = agent.intent_specs
        model._classifier_for(specs)
        model.respelled("warm up", specs)
        respell_us, second_ms, turn_ms, slow = [], [], [], 0
        for i, text in enumerate(texts):
            started = time.perf_counter()
            fixed = model.respelled(text, specs)
            respell_us.append(1e6 * (time.perf_counter() - started))
            first = model.classify(text, specs)
            if fixed is not None and (
                not first.in_scope or first.confidence < local_rules.SECOND_LOOK
            ):
                slow += 1
                started = time.perf_counter()
                model.classify(fixed.text, specs)
                second_ms.append(1000 * (time.perf_counter() - started) + respell_us[-1] / 1000)
            model.typos = False
            started = time.perf_counter()
            asyncio.run(agent.handle(f"cost-{i}", text + " ."))  # a text not yet embedded
            turn_ms.append(1000 * (time.perf_counter() - started))
            model.typos = True
    print(
        f"\ncost, {data}, {len(texts)} noisy dev messages, fresh embedding cache, "
        f"load {os.getloadavg()[0]:.1f}:\n"
        f"  correction alone (every message): median {statistics.median(respell_us):.0f} us, "
        f"p90 {statistics.quantiles(respell_us, n=10)[-1]:.0f} us\n"
        f"  slow path ({slow} of {len(texts)} messages): correction + second classification "
        f"median {statistics.median(second_ms):.1f} ms\n"
        f"  a whole turn with typo reading off: median {statistics.median(turn_ms):.1f} ms; "
        f"slow-path extra / turn = {statistics.median(second_ms) / statistics.median(turn_ms):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", default=["banking77", "clinc150"])
    parser.add_argument("--split", choices=["dev", "holdout"], default="dev")
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--per-intent", type=int, default=10)
    parser.add_argument("--oos", type=int, default=500)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=0, help="print N noisy dev examples")
    parser.add_argument("--errors", type=int, default=0, help="dev only: print N losses")
    parser.add_argument("--second-look", type=float, default=None, help="tune: SECOND_LOOK")
    parser.add_argument("--take", type=float, default=None, help="tune: TYPO_CONFIDENCE")
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--cost-messages", type=int, default=200)
    args = parser.parse_args()
    require("banking77", "clinc150")
    if (args.show or args.errors) and args.split == "holdout":
        parser.error("--show and --errors are for the dev split only")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    if args.second_look is not None:
        local_rules.SECOND_LOOK = args.second_look
    if args.take is not None:
        local_rules.TYPO_CONFIDENCE = args.take
    print(f"second look below {local_rules.SECOND_LOOK}, taken at {local_rules.TYPO_CONFIDENCE}")
    for data in args.data:
        if args.cost:
            cost(data, args)
        else:
            run(data, args.split, args)


if __name__ == "__main__":
    main()
