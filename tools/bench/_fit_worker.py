"""One timing of the intent classifier in a fresh process (``bench_intents.py --only fit``).

Usage: ``python _fit_worker.py SPEC.json`` with ``PYTHONPATH`` pointing at the ``src`` folder to
measure (this checkout's, or a baseline commit's exported by the bench) and
``RESOLVEKIT_CACHE_DIR`` at the folder fitted classifiers are kept in. The spec says::

    {"mode": "fit" | "load" | "warm_up", "intents": {name: [example, ...]},
     "embeddings": folder of the embedding cache, "repeats": n, "probe": a customer message,
     "evals": {name: [vectors.npy, [label, ...]]}}

- ``fit``: what LocalModel fits for these intents, on embeddings already in the disk cache,
  ``repeats`` times (persistence off when the code has it), wall and CPU time (all threads);
  scikit-learn is imported first.
  Then the accuracy (top intent by calibrated probability) on each of ``evals``.
- ``load``: the same ``fit`` call once; any actual fitting raises (the file must be loaded).
  Times reading the examples' embeddings from the disk cache and the ``fit`` call apart.
- ``warm_up``: from process start: imports, the sentence model's load
  (``embedders.warm_up``), ``LocalModel.warm_up(intents)`` (the classifier, model already
  loaded), then the first customer message through ``LocalModel.request``.

Prints one JSON object of timings (seconds). Uses only resolvekit's public or long-standing
names, so a baseline commit runs it unchanged.
"""

from __future__ import annotations

import time

START = time.perf_counter()

import asyncio  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    from resolvekit.messages import Message
    from resolvekit.models import IntentSpec, ModelRequest
    from resolvekit.models.local import _GENERIC_OUT_OF_SCOPE, LocalModel, training_data
    from resolvekit.understanding.embedders import default_intent_embedder

    intents = [IntentSpec(name=n, examples=list(e)) for n, e in spec["intents"].items()]
    embedder = default_intent_embedder(spec["embeddings"])
    out: dict[str, Any] = {}
    if spec["mode"] == "warm_up":
        from resolvekit.understanding.embedders import warm_up

        model = LocalModel(embedder=embedder)
        out["imports"] = time.perf_counter() - START
        started = time.perf_counter()
        warm_up(embedder)
        out["model_load"] = time.perf_counter() - started
        started = time.perf_counter()
        asyncio.run(model.warm_up(intents))
        out["warm_up"] = time.perf_counter() - started
        started = time.perf_counter()
        request = ModelRequest(
            messages=[Message(role="customer", text=spec["probe"])],
            intents=intents,
            allowed=frozenset(
                {"start_intent", "answer_from_knowledge", "ask_clarification", "reply"}
            ),
        )
        asyncio.run(model.request(request))
        out["first_message"] = time.perf_counter() - started
        out["total"] = time.perf_counter() - START
        print(json.dumps(out))
        return

    import resolvekit.understanding.classifier as module
    from resolvekit.understanding.classifier import IntentClassifier

    texts, labels = training_data(intents)
    oos = list(_GENERIC_OUT_OF_SCOPE)
    started = time.perf_counter()
    embedder.embed(texts + oos)  # from the disk cache: reads its shards
    out["embeddings_from_disk"] = time.perf_counter() - started
    no_disk: dict[str, Any] = (
        {"persist": False} if "persist" in inspect.signature(IntentClassifier).parameters else {}
    )
    if spec["mode"] == "fit":
        linear = sys.modules.get("resolvekit.understanding._linear")
        if linear is not None and hasattr(linear, "have_sklearn") and linear.have_sklearn():
            started = time.perf_counter()
            import sklearn.linear_model  # noqa: F401

            out["sklearn_import"] = time.perf_counter() - started
        out["fit"], out["fit_cpu"] = [], []
        for _ in range(int(spec["repeats"])):
            started, cpu = time.perf_counter(), time.process_time()
            clf = IntentClassifier(embedder, **no_disk)
            clf.fit(texts, labels, oos_texts=oos)
            out["fit"].append(time.perf_counter() - started)
            out["fit_cpu"].append(time.process_time() - cpu)
        out["block_weight"] = clf.report.block_weight if clf.report else None
        out["accuracy"] = {}
        for name, (vectors, truth) in spec.get("evals", {}).items():
            probs, _ = clf.scores(np.load(vectors))
            guess = [clf.classes[i] for i in probs.argmax(axis=1)]
            hits = sum(g == t for g, t in zip(guess, truth, strict=True))
            out["accuracy"][name] = 100.0 * hits / len(truth)
    else:

        def refuse(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the classifier was fitted instead of loaded")

        for name in ("held_out", "fit_model", "cross_validate"):
            if hasattr(module, name):
                setattr(module, name, refuse)
        started = time.perf_counter()
        IntentClassifier(embedder).fit(texts, labels, oos_texts=oos)
        out["load"] = time.perf_counter() - started
    print(json.dumps(out))


if __name__ == "__main__":
    main()
