"""Knowledge retrieval at scale, for ``bench_knowledge.py --only scoring|recall|pgvector``.

**Synthetic corpora with a planted structure** (no model, no download): chunk vectors are unit
384-d vectors in topics of 50 around random centres (cosine to the centre about 0.7, to a topic
sibling about 0.5, to anything else about 0), all shifted by one common direction as sentence
embeddings are (the corpus mean has norm ~0.3, like MiniLM's); each chunk's text is 40-120
Zipf-distributed words (s = 1.2) over 50,000 synthetic words. A query is a noisy copy of a random
chunk's vector (cosine ~0.8 to it) with 2-6 words of its text; queries are not in the index.
Pure random vectors (the old scale mode) have no neighbours worth finding: every chunk is at
cosine 0 +- 0.05 from a query, so "recall" there measures noise.

**Recall@10** of a scoring (or of PostgreSQL) is the share of the exact top 10 it returns, the
exact top 10 being ``HybridIndex.rank(scoring="exact")`` with the same fusion (the library
default: centred dense + 0.05 BM25) on the same chunks: fused scores, not dense alone.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import resolvekit.knowledge.index as index_module
from resolvekit.knowledge import DEFAULT_FUSION, KnowledgeBase
from resolvekit.knowledge._pgwrite import publish_rows
from resolvekit.knowledge.chunking import Chunk, content_hash
from resolvekit.knowledge.index import HybridIndex, Ranking

DIM = 384


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1e3, p99 * 1e3


def planted_rows(n: int, *, seed: int, per_topic: int = 50) -> npt.NDArray[np.float32]:
    """``n`` unit vectors with the planted structure of the module docstring (block by block)."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(DIM).astype(np.float32) / np.sqrt(DIM)
    centres = rng.standard_normal((max(1, n // per_topic), DIM)).astype(np.float32)
    centres /= np.sqrt(DIM)
    rows = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        end = min(n, start + 100_000)
        block = rng.standard_normal((end - start, DIM)).astype(np.float32) / np.sqrt(DIM)
        block += centres[np.arange(start, end) % len(centres)]
        block += 0.5 * common
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        rows[start:end] = block
    return rows


def planted_queries(
    rows: npt.NDArray[np.float32], count: int, *, seed: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed + 1)
    targets = rng.choice(len(rows), size=count, replace=False).astype(np.int64)
    queries = rows[targets] + 0.75 * rng.standard_normal((count, DIM)).astype(np.float32) / np.sqrt(
        DIM
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return queries.astype(np.float32), targets


def synthetic_chunks(n: int, *, seed: int, vocabulary: int = 50_000) -> Iterator[Chunk]:
    """One chunk per document, as ``bench_knowledge.synthetic_corpus`` makes documents."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocabulary)])
    for start in range(0, n, 100_000):
        count = min(n, start + 100_000) - start
        lengths = rng.integers(40, 120, size=count)
        ids = (rng.zipf(1.2, size=int(lengths.sum())) - 1) % vocabulary
        offset = 0
        for i, length in enumerate(lengths, start=start):
            text = " ".join(words[ids[offset : offset + length]])
            offset += length
            yield Chunk(id=f"doc-{i}#c0", doc_id=f"doc-{i}", text=text, title=f"t{i}")


def query_texts(chunks: Sequence[Chunk], targets: npt.NDArray[np.int64], *, seed: int) -> list[str]:
    rng = np.random.default_rng(seed + 2)
    texts = []
    for target in targets:
        words = chunks[int(target)].text.split()
        picked = rng.choice(len(words), size=int(rng.integers(2, 7)), replace=False)
        texts.append(" ".join(words[i] for i in picked))
    return texts


def build(n: int, *, seed: int) -> tuple[HybridIndex, list[Chunk]]:
    chunks = list(synthetic_chunks(n, seed=seed))
    rows = planted_rows(n, seed=seed)
    return HybridIndex.build(chunks, rows, np.zeros((0, DIM), dtype=np.float32)), chunks


@contextlib.contextmanager
def unbounded_blas() -> Iterator[None]:
    """The code before this change: the exact product with BLAS's default thread count."""
    saved = vars(index_module)["single_blas_thread"]
    vars(index_module)["single_blas_thread"] = contextlib.nullcontext
    try:
        yield
    finally:
        vars(index_module)["single_blas_thread"] = saved


Search = Callable[[npt.NDArray[np.float32], str], Ranking]

CPU: dict[str, list[float]] = {}
"""CPU time of this thread per query, by search name (what a query costs without waiting for a
core: on a loaded machine wall time is mostly waiting; PostgreSQL's own work is not in it)."""


def race(
    searches: dict[str, Search],
    queries: npt.NDArray[np.float32],
    texts: Sequence[str],
    *,
    reference: str,
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Time every search on every query, rotating which runs first; recall@10 against
    ``reference``'s rows."""
    names = list(searches)
    for vector, text in zip(queries[:10], texts, strict=False):  # warm up (lazy copies)
        for name in names:
            searches[name](vector, text)
    timings: dict[str, list[float]] = {name: [] for name in names}
    found: dict[str, int] = dict.fromkeys(names, 0)
    total = 0
    for number, (vector, text) in enumerate(zip(queries, texts, strict=True)):
        order = names[number % len(names) :] + names[: number % len(names)]
        results = {}
        for name in order:
            started, cpu = time.perf_counter(), time.thread_time()
            results[name] = searches[name](vector, text)
            timings[name].append(time.perf_counter() - started)
            CPU.setdefault(name, []).append(time.thread_time() - cpu)
        exact = _ids(results[reference])
        total += len(exact)
        for name, ranking in results.items():
            found[name] += len(_ids(ranking) & exact)
    return timings, {name: found[name] / max(1, total) for name in names}


def _ids(ranking: Ranking) -> set[object]:
    """Row numbers of an in-memory ranking, chunk ids of a PostgreSQL one."""
    if ranking.chunks is None:
        return set(ranking.rows.tolist())
    return {int(c.id.removeprefix("doc-").split("#")[0]) for c in ranking.chunks}


def print_table(
    timings: dict[str, list[float]], recall: dict[str, float], *, baseline: str
) -> None:
    base50, base99 = percentiles(timings[baseline])
    print(
        f"{'':<58} {'p50 ms':>8} {'p99 ms':>8} {'recall@10':>10} {'p50/p99 vs baseline':>20} "
        f"{'CPU p50/p99 ms':>16}"
    )
    for name, samples in timings.items():
        p50, p99 = percentiles(samples)
        cpu50, cpu99 = percentiles(CPU.get(name) or [math.nan])
        print(
            f"{name:<58} {p50:8.2f} {p99:8.2f} {recall.get(name, float('nan')):10.4f} "
            f"{base50 / p50:9.2f}x {base99 / p99:8.2f}x {cpu50:8.2f} {cpu99:7.2f}"
        )


def scoring(args: Any) -> None:
    """The scoring modes at ``--chunks`` (default 100k), old and new code alternating."""
    n = args.chunks
    print(f"\nScoring modes: {n:,} synthetic chunks with a planted structure (load {load()})")
    started = time.perf_counter()
    index, chunks = build(n, seed=args.seed)
    print(f"built in {time.perf_counter() - started:.1f}s")
    queries, targets = planted_queries(index.vectors, args.queries, seed=args.seed)
    texts = query_texts(chunks, targets, seed=args.seed)
    fusion = DEFAULT_FUSION

    def mode(scoring: str, **options: Any) -> Search:
        def search(vector: npt.NDArray[np.float32], text: str) -> Ranking:
            return index.rank(vector, text, k=10, fusion=fusion, scoring=scoring, **options)  # type: ignore[arg-type]

        return search

    exact = mode("exact")

    def old(vector: npt.NDArray[np.float32], text: str) -> Ranking:
        with unbounded_blas():
            return exact(vector, text)

    searches = {
        "baseline: exact float32, default BLAS threads (old code)": old,
        "exact float32, 1 BLAS thread": exact,
        "int8 pass + exact re-scoring (exact by its error bound)": mode("int8"),
        "sign-bit pass + re-scoring of 1% (auto, the default)": mode("auto"),
        "sign-bit pass + re-scoring of 512": mode("binary", depth=512),
    }
    before = load()
    timings, recall = race(searches, queries, texts, reference="exact float32, 1 BLAS thread")
    print(
        f"{len(queries)} queries, k=10, default fusion, query embedding excluded; load average "
        f"{before} before, {load()} after; memory: float32 {index.vectors.nbytes / 1e6:.0f} MB, "
        f"int8 {index.int8_rows()[0].nbytes / 1e6:.0f} MB, sign bits "
        f"{index.sign_codes(True)[0].nbytes / 1e6:.1f} MB"
    )
    print_table(
        timings, recall, baseline="baseline: exact float32, default BLAS threads (old code)"
    )
    # The worst case for sign bits: pure random vectors, where a query's top 10 are noise.
    rng = np.random.default_rng(args.seed + 3)
    noise = rng.standard_normal((n, DIM)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    random_index = HybridIndex.build(chunks, noise, np.zeros((0, DIM), dtype=np.float32))
    random_queries = noise[rng.choice(n, size=100)] + rng.standard_normal((100, DIM)).astype(
        np.float32
    ) / np.sqrt(DIM)
    random_queries /= np.linalg.norm(random_queries, axis=1, keepdims=True)

    def on_noise(scoring: str) -> Search:
        def search(vector: npt.NDArray[np.float32], text: str) -> Ranking:
            return random_index.rank(vector, text, k=10, fusion=fusion, scoring=scoring)  # type: ignore[arg-type]

        return search

    _, noise_recall = race(
        {"exact": on_noise("exact"), "int8": on_noise("int8"), "auto": on_noise("auto")},
        random_queries,
        texts[:100],
        reference="exact",
    )
    print(
        "worst case, pure random vectors (a query at cosine ~0.7 to one chunk, the other 9 of "
        f"its top 10 noise): recall@10 int8 {noise_recall['int8']:.4f}, "
        f"sign bits (auto) {noise_recall['auto']:.4f}"
    )


def real_vectors(limit: int) -> tuple[list[str], npt.NDArray[np.float32]] | None:
    """CLINC150 + BANKING77 utterances embedded with MiniLM (disk-cached after the first run)."""
    import csv

    from resolvekit.understanding.embedders import default_embedder

    root = Path(
        os.environ.get(
            "RESOLVEKIT_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
        )
    )
    if not (root / "clinc150").is_dir() or not (root / "banking77").is_dir():
        print(f"SKIP recall: clinc150/banking77 not found under {root}")
        return None
    texts: list[str] = []
    for rows in json.loads((root / "clinc150" / "data_full.json").read_text()).values():
        texts += [r[0] for r in rows]
    for name in ("train.csv", "test.csv"):
        with (root / "banking77" / name).open(encoding="utf-8") as stream:
            texts += [r["text"] for r in csv.DictReader(stream)]
    texts = list(dict.fromkeys(t.strip() for t in texts if t.strip()))[:limit]
    return texts, np.asarray(default_embedder().embed(texts), dtype=np.float32)


def recall_real(args: Any) -> None:
    """Recall@10 of the compact passes on real MiniLM vectors, held-out queries."""
    found = real_vectors(args.real_texts)
    if found is None:
        return
    texts, vectors = found
    order = np.random.default_rng(args.seed).permutation(len(texts))
    held_out = order[: len(texts) // 10]
    indexed = order[len(texts) // 10 :]
    chunks = [Chunk(id=f"u{i}#c0", doc_id=f"u{i}", text=texts[int(i)]) for i in indexed]
    index = HybridIndex.build(chunks, vectors[indexed], np.zeros((0, DIM), dtype=np.float32))
    n = len(chunks)
    print(
        f"\nRecall on real MiniLM vectors: {n:,} CLINC150/BANKING77 utterances indexed, "
        f"{len(held_out):,} held-out utterances as queries (load {load()})"
    )
    fusion = DEFAULT_FUSION

    def mode(scoring: str, **options: Any) -> Search:
        def search(vector: npt.NDArray[np.float32], text: str) -> Ranking:
            return index.rank(vector, text, k=10, fusion=fusion, scoring=scoring, **options)  # type: ignore[arg-type]

        return search

    searches: dict[str, Search] = {"exact": mode("exact"), "int8": mode("int8")}
    for share in (0.002, 0.005, 0.01, 0.02):
        depth = max(10, int(share * n))
        # index.rank raises depth to 1% of the chunks; call the two-pass ranking directly.
        searches[f"sign bits, re-scoring {share:.1%} of chunks ({depth})"] = _binary_at(
            index, fusion, depth
        )
    _, recall = race(
        searches, vectors[held_out], [texts[int(i)] for i in held_out], reference="exact"
    )
    for name, value in recall.items():
        print(f"  {name:<50} recall@10 {value:.4f}")


def _binary_at(index: HybridIndex, fusion: Any, depth: int) -> Search:
    def search(vector: npt.NDArray[np.float32], text: str) -> Ranking:
        return index._rank_two_pass(  # the bench reads the internals to pin the depth
            vector,
            text,
            k=10,
            fusion=fusion,
            allowed=index.mask(None),
            stale=None,
            stale_factor=1.0,
            distinct=True,
            binary=True,
            depth=depth,
        )

    return search


@contextlib.contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """``url``, or a throwaway pgserver (which ships pgvector) for the run."""
    if url:
        yield url
        return
    from pgserver import postgres_server

    folder = Path(tempfile.mkdtemp(prefix="resolvekit-bench-pg-"))
    server = postgres_server.get_server(folder, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def pgvector(args: Any) -> None:
    """``--pg-chunks`` (default 1M) in PostgreSQL + pgvector against the in-memory index at that
    size and at ``--chunks`` (100k)."""
    big, small = args.pg_chunks, args.chunks
    table = f"bench_knowledge_{big}"
    print(f"\nPostgreSQL + pgvector: {big:,} chunks vs in memory at {small:,} (load {load()})")
    started = time.perf_counter()
    index, chunks = build(big, seed=args.seed)
    print(f"in-memory reference index of {big:,} built in {time.perf_counter() - started:.1f}s")
    settings = {
        "format": "resolvekit-knowledge-pg",
        "version": 1,
        "embedder": "planted-384",
        "dim": DIM,
        "fusion": DEFAULT_FUSION.to_json(),
        "threshold": 0.0,
        "max_chars": 1200,
        "overlap": 150,
        "stale_factor": 0.8,
        "bm25": {"k1": 1.2, "b": 0.75},
        "synthetic": {"chunks": big, "seed": args.seed},
    }
    with postgres(args.pg_url) as url:
        kb = None
        with contextlib.suppress(Exception):
            kb = KnowledgeBase.load(url, table=table)
            if kb._index.manifest().get("synthetic") != settings["synthetic"]:  # type: ignore[union-attr]
                kb = None
        if kb is None:
            rows = (
                (chunk, content_hash(chunk.body), index.vectors[i], None)
                for i, chunk in enumerate(chunks)
            )
            started = time.perf_counter()
            publish_rows(
                url,
                settings=settings,
                documents=[],
                rows=rows,
                table=table,
                maintenance_work_mem=args.pg_memory,
                progress=lambda line: print("  " + line, flush=True),
            )
            print(f"published in {time.perf_counter() - started:.0f}s (load {load()})")
            kb = KnowledgeBase.load(url, table=table)
        else:
            print(f"reusing the published table {table}")
        remote = kb._index
        small_index = HybridIndex.build(
            chunks[:small], index.vectors[:small], np.zeros((0, DIM), dtype=np.float32)
        )
        queries, targets = planted_queries(index.vectors, args.queries, seed=args.seed)
        texts = query_texts(chunks, targets, seed=args.seed)
        small_queries, small_targets = planted_queries(
            small_index.vectors, args.queries, seed=args.seed
        )
        small_texts = query_texts(chunks, small_targets, seed=args.seed)
        fusion = DEFAULT_FUSION

        def ranker(target: Any, **options: Any) -> Search:
            def search(vector: npt.NDArray[np.float32], text: str) -> Ranking:
                return target.rank(vector, text, k=10, fusion=fusion, **options)  # type: ignore[no-any-return]

            return search

        for depth in args.pg_depths:
            remote_search = ranker(remote, depth=depth)
            timings, recall = race(
                {
                    f"PostgreSQL + pgvector, {big:,} chunks (ef_search {depth})": remote_search,
                    f"in memory, {big:,} chunks, exact float32": ranker(index, scoring="exact"),
                    f"in memory, {big:,} chunks, auto (sign bits)": ranker(index, scoring="auto"),
                },
                queries,
                texts,
                reference=f"in memory, {big:,} chunks, exact float32",
            )
            small_timings, small_recall = race(
                {
                    f"baseline: in memory, {small:,} chunks, auto": ranker(
                        small_index, scoring="auto"
                    ),
                    f"in memory, {small:,} chunks, exact float32": ranker(
                        small_index, scoring="exact"
                    ),
                },
                small_queries,
                small_texts,
                reference=f"in memory, {small:,} chunks, exact float32",
            )
            print(f"\n{len(queries)} queries each, k=10, default fusion (load {load()}):")
            print_table(
                {**small_timings, **timings},
                {**small_recall, **recall},
                baseline=f"baseline: in memory, {small:,} chunks, auto",
            )
        kb.close()


def quality_pg(
    kb: KnowledgeBase,
    texts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    score: Callable[[KnowledgeBase], tuple[float, ...]],
    url: str | None,
) -> None:
    """The held-out StackFAQ queries through a PostgreSQL copy of ``kb``: the same metrics, and
    whether every answer (answerable, text, citations) is the same."""
    try:
        context = postgres(url)
        url = context.__enter__()
    except ImportError:
        print("SKIP PostgreSQL quality: pgserver not installed and no --pg-url")
        return
    try:
        kb.save(url, table="bench_stackfaq")
        remote = KnowledgeBase.load(url, embedder=kb.embedder, table="bench_stackfaq")
        same = 0
        for text in texts[:200]:
            a, b = kb.ask(text), remote.ask(text)
            if (a.answerable, a.text, a.citations) == (b.answerable, b.text, b.citations):
                same += 1
            else:
                print(
                    f"  differs: {text!r}: answerability {a.answerability:.7f} in memory, "
                    f"{b.answerability:.7f} in PostgreSQL (threshold {kb.threshold}); "
                    f"cited {[c.chunk_id for c in a.citations]} / "
                    f"{[c.chunk_id for c in b.citations]}"
                )
        label = "(same, through PostgreSQL + pgvector)"
        print(f"{label:<66} " + " ".join(f"{v:6.3f}" for v in score(remote)))
        print(f"  answers identical to in-memory ones (answerable, text, citations): {same} of 200")
        remote.close()
    finally:
        context.__exit__(None, None, None)
