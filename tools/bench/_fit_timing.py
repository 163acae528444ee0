"""``bench_intents.py --only fit``: how long the intent classifier takes to be ready, and how
accurate it is.

Intent sets drawn with seed 0: BANKING77's training split, 77 intents x 20 examples and 64 x 10;
CLINC150's, 150 intents x 10 (fit and accuracy only). LocalModel adds each intent's name and its
nine generic out-of-scope messages. Every figure is measured in fresh processes
(``_fit_worker.py``) for this checkout and, with ``--baseline REV``, for the ``src`` of commit
``REV`` exported with ``git archive``, in the same run:

- **fit alone**: ``IntentClassifier.fit`` on embeddings already in the disk cache (median and
  range of ``--repeats``; the baseline once, it is slow), persistence off; wall time and the
  process's CPU time (all threads), which a busy machine inflates much less;
- **accuracy** of that classifier (top intent by calibrated probability) on a dev split and a
  held-out split: for BANKING77, 1,000 other training examples of the same intents (seed 1) and
  the test split; for CLINC150, the val and test splits' in-scope messages;
- **cold start to the first reply, nothing on disk**: from process start, imports, the sentence
  model's load, ``LocalModel.warm_up`` (the classifier), and the first customer message;
- **the same, classifier on disk**: a second process, which loads the classifier the first one
  saved (this checkout only: the baseline has no persistence, its warm_up is its fit again);
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
from _data import banking77, clinc150, data_dir, require

from resolvekit.models.local import _GENERIC_OUT_OF_SCOPE, training_data
from resolvekit.specs import IntentSpec
from resolvekit.understanding._cache import text_key
from resolvekit.understanding.embedders import default_intent_embedder

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "_fit_worker.py"
PROBE = "I still have not received my new card, where is it?"


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


Intents = dict[str, list[str]]
Evals = dict[str, tuple[list[str], list[str]]]


def _draw(texts: list[str], labels: list[str], names: list[str], per_intent: int) -> Intents:
    """``per_intent`` examples of each intent in ``names`` (seed 0)."""
    by_label = np.array(labels)
    rng = np.random.default_rng(0)
    out = {}
    for label in names:
        rows = rng.choice(np.flatnonzero(by_label == label), per_intent, replace=False)
        out[label] = [texts[i] for i in rows]
    return out


def _among(texts: list[str], labels: list[str], names: Intents, limit: int | None = None) -> Any:
    """The (texts, labels) of intents in ``names`` not used for training (``limit``: a seeded
    sample of that many)."""
    used = {t for examples in names.values() for t in examples}
    rows = [i for i, (t, y) in enumerate(zip(texts, labels, strict=True)) if y in names]
    rows = [i for i in rows if texts[i] not in used]
    if limit is not None and len(rows) > limit:
        rows = sorted(np.random.default_rng(1).choice(rows, limit, replace=False).tolist())
    return [texts[i] for i in rows], [labels[i] for i in rows]


def _cases() -> list[tuple[str, Intents, Evals, bool]]:
    """(title, intents, {split: (texts, labels)}, whether warm_up/restart are timed too)."""
    train, test = banking77("train"), banking77("test")
    names = sorted(set(train[1]))
    cases: list[tuple[str, Intents, Evals, bool]] = []
    for n_intents, per_intent in ((77, 20), (64, 10)):
        intents = _draw(*train, names[:n_intents], per_intent)
        evals = {
            "dev: 1,000 other train examples": _among(*train, intents, 1000),
            "held-out: the test split": _among(*test, intents),
        }
        cases.append(
            (f"BANKING77, {n_intents} intents x {per_intent} examples", intents, evals, True)
        )
    if (data_dir() / "clinc150").is_dir():
        clinc = clinc150()
        intents = _draw(*clinc["train"], sorted(set(clinc["train"][1])), 10)
        evals = {
            "dev: the val split (in-scope)": _among(*clinc["val"], intents),
            "held-out: the test split (in-scope)": _among(*clinc["test"], intents),
        }
        cases.append(("CLINC150, 150 intents x 10 examples", intents, evals, False))
    return cases


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
    print("\nIntent classifier: fit, warm_up and restart times, accuracy (fresh processes)")
    source = default_intent_embedder()
    with tempfile.TemporaryDirectory(prefix="rk-fit-bench-") as tmp:
        root = Path(tmp)
        codes = [("this checkout", ROOT / "src")]
        if baseline:
            (root / "baseline").mkdir()
            codes.append((f"baseline {baseline}", _export(baseline, root / "baseline")))
        for case, (title, intents, evals, timed) in enumerate(_cases()):
            specs = [IntentSpec(name=n, examples=e) for n, e in intents.items()]
            texts, _ = training_data(specs)
            embeddings = root / f"embeddings-{case}"
            _fill_cache(embeddings, texts + list(_GENERIC_OUT_OF_SCOPE))
            vectors: dict[str, Any] = {}
            for i, (split, (eval_texts, eval_labels)) in enumerate(evals.items()):
                path = root / f"eval-{case}-{i}.npy"
                np.save(path, source.embed(eval_texts))
                vectors[split] = [str(path), eval_labels]
            print(
                f"\n  {title} ({len(texts)} training texts with the intent names, "
                f"+ {len(_GENERIC_OUT_OF_SCOPE)} out-of-scope)"
            )
            print(f"  {'':<48}" + "".join(f"{name:>30}" for name, _ in codes))
            rows: dict[str, list[str]] = {}
            for index, (_, src) in enumerate(codes):
                cache = root / f"cache-{index}-{case}"
                base = {"intents": intents, "embeddings": str(embeddings), "probe": PROBE}
                times = repeats if index == 0 else 1
                fit = _run(
                    src, cache, {**base, "mode": "fit", "repeats": times, "evals": vectors}, root
                )
                spread = f"{min(fit['fit']):.2f}-{max(fit['fit']):.2f}" if times > 1 else ""
                rows.setdefault(f"fit alone (median of {repeats}; baseline 1)", []).append(
                    _cell(statistics.median(fit["fit"]), fit)
                )
                rows.setdefault("  range over the repeats", []).append(spread or "-")
                cpu = fit["fit_cpu"]
                rows.setdefault("  CPU time (median, all threads)", []).append(
                    f"{statistics.median(cpu):.2f} s"
                )
                rows.setdefault("  first fit's scikit-learn import", []).append(
                    _cell(fit.get("sklearn_import"), fit)
                )
                rows.setdefault("  block weight chosen", []).append(str(fit["block_weight"]))
                for split, accuracy in fit["accuracy"].items():
                    rows.setdefault(f"accuracy, {split}", []).append(f"{accuracy:.2f}%")
                if not timed or index > 0:
                    continue
                for label in ("nothing on disk", "classifier on disk"):
                    warm = _run(src, cache, {**base, "mode": "warm_up"}, root)
                    rows.setdefault(f"cold start to 1st reply, {label}", []).append(
                        _cell(warm["total"], warm)
                    )
                    rows.setdefault(f"  of which imports + model load, {label}", []).append(
                        _cell(warm["imports"] + warm["model_load"], warm)
                    )
                    rows.setdefault(f"  of which warm_up's classifier, {label}", []).append(
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
