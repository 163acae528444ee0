"""``bench_intents.py --only fit``: how long the intent classifier takes to be ready.

For two intent sets drawn from BANKING77's training split (77 intents x 20 examples and 64 x 10,
seed 0; LocalModel adds each intent's name and its nine generic out-of-scope messages), each
figure measured in fresh processes (``_fit_worker.py``) for this checkout and, with
``--baseline REV``, for the ``src`` of commit ``REV`` exported with ``git archive``, in the same
run:

- **fit alone**: ``IntentClassifier.fit`` on embeddings already in the disk cache (median of
  ``--repeats``; the baseline once, it is slow), persistence off;
- **cold warm_up, nothing on disk**: from process start, imports + ``LocalModel.warm_up`` (model
  load + fit) + the first customer message;
- **cold warm_up, classifier on disk**: the same in a second process (this checkout loads the
  classifier the first one saved; the baseline fits again);
- **restart, load**: a fresh process reading the examples' embeddings from the disk cache, then
  the ``fit`` call that loads the saved classifier (any fitting raises).

Each process gets an embedding cache holding only these texts (as an agent's would) and its own
classifier folder. The load average is printed with every figure.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _data import banking77, require

from resolvekit.models.local import _GENERIC_OUT_OF_SCOPE, training_data
from resolvekit.specs import IntentSpec
from resolvekit.understanding._cache import text_key
from resolvekit.understanding.embedders import default_intent_embedder

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "_fit_worker.py"
PROBE = "I still have not received my new card, where is it?"


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _intents(n_intents: int, per_intent: int) -> dict[str, list[str]]:
    texts, labels = banking77("train")
    by_label = np.array(labels)
    rng = np.random.default_rng(0)
    out = {}
    for label in sorted(set(labels))[:n_intents]:
        rows = rng.choice(np.flatnonzero(by_label == label), per_intent, replace=False)
        out[label] = [texts[i] for i in rows]
    return out


def _fill_cache(folder: Path, texts: list[str]) -> None:
    """An embedding cache in ``folder`` holding exactly ``texts`` (from the bench's own cache)."""
    source = default_intent_embedder()
    vectors = source.embed(texts)
    target = default_intent_embedder(folder)
    unique = dict(zip(texts, vectors, strict=True))
    target.store.add([text_key(t) for t in unique], np.stack(list(unique.values())))


def _export(rev: str, folder: Path) -> Path:
    """``src`` of commit ``rev`` (``git archive``) under ``folder``."""
    archive = subprocess.run(
        ["git", "archive", rev, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder / "src"


def _run(src: Path, cache: Path, spec: dict[str, Any], folder: Path) -> dict[str, Any]:
    spec_file = folder / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(Path.home()),
        "PYTHONPATH": str(src),
        "RESOLVEKIT_CACHE_DIR": str(cache),
        "HF_HUB_OFFLINE": "1",
    }
    done = subprocess.run(
        [sys.executable, str(WORKER), str(spec_file)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{spec['mode']} worker failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_avg"] = _load()
    return result


def _cell(value: float | None, result: dict[str, Any]) -> str:
    return "-" if value is None else f"{value:.2f} s ({result['load_avg']})"


def bench_fit(baseline: str | None, repeats: int) -> None:
    require("banking77")
    print("\nIntent classifier: fit, warm_up and restart times (fresh processes)")
    with tempfile.TemporaryDirectory(prefix="rk-fit-bench-") as tmp:
        root = Path(tmp)
        codes = [("this checkout", ROOT / "src")]
        if baseline:
            (root / "baseline").mkdir()
            codes.append((f"baseline {baseline}", _export(baseline, root / "baseline")))
        for n_intents, per_intent in ((77, 20), (64, 10)):
            intents = _intents(n_intents, per_intent)
            specs = [IntentSpec(name=n, examples=e) for n, e in intents.items()]
            texts, _ = training_data(specs)
            embeddings = root / f"embeddings-{n_intents}x{per_intent}"
            _fill_cache(embeddings, texts + list(_GENERIC_OUT_OF_SCOPE))
            print(
                f"\n  {n_intents} intents x {per_intent} examples ({len(texts)} training texts "
                f"with the intent names, + {len(_GENERIC_OUT_OF_SCOPE)} out-of-scope)"
            )
            print(f"  {'':<48}" + "".join(f"{name:>30}" for name, _ in codes))
            rows: dict[str, list[str]] = {}
            for index, (_, src) in enumerate(codes):
                cache = root / f"cache-{index}-{n_intents}x{per_intent}"
                base = {"intents": intents, "embeddings": str(embeddings), "probe": PROBE}
                times = repeats if index == 0 else 1
                fit = _run(src, cache, {**base, "mode": "fit", "repeats": times}, root)
                rows.setdefault(f"fit alone (median of {repeats}; baseline 1)", []).append(
                    _cell(statistics.median(fit["fit"]), fit)
                )
                rows.setdefault("  first fit's scikit-learn import", []).append(
                    _cell(fit.get("sklearn_import"), fit)
                )
                for label in ("nothing on disk", "classifier on disk"):
                    warm = _run(src, cache, {**base, "mode": "warm_up"}, root)
                    rows.setdefault(f"cold warm_up + 1st message, {label}", []).append(
                        _cell(warm["total"], warm)
                    )
                    rows.setdefault(f"  of which warm_up, {label}", []).append(
                        _cell(warm["warm_up"], warm)
                    )
                try:
                    load = _run(src, cache, {**base, "mode": "load"}, root)
                except RuntimeError:
                    load = None
                rows.setdefault("restart: embeddings from disk cache", []).append(
                    "-" if load is None else _cell(load["embeddings_from_disk"], load)
                )
                rows.setdefault("restart: fit() loading the saved classifier", []).append(
                    "-" if load is None else _cell(load["load"], load)
                )
            for name, cells in rows.items():
                print(f"  {name:<48}" + "".join(f"{c:>30}" for c in cells))
