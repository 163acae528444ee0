"""Cold start: process start -> first reply of an agent on LocalModel, in fresh processes.

Each run is a new interpreter that imports resolvekit, builds an agent on ``model="local"`` and
handles one customer message; the parent times it from ``subprocess`` start to exit (the child
exits right after the reply) and the child reports its phases. Variants, interleaved run by run
so a shared machine's noise spreads evenly:

- ``numpy``: the bundled MiniLM on the numpy encoder (``RESOLVEKIT_ENCODER=numpy``, no torch);
- ``onnx``: on onnxruntime (the default when it is installed): a cold cache also means the
  ONNX graph is built from the weights and written to the cache folder first;
- ``torch``: the same agent with ``RESOLVEKIT_ENCODER=torch`` (sentence-transformers): the
  baseline, what every process paid before;

each with a *warm* cache (the agent's examples already embedded by an earlier run, as after the
first start of a deployment: no encoder is loaded at all) and a *cold* one (an empty
``RESOLVEKIT_CACHE_DIR``: onnx then embeds with numpy while a child process builds the graph);
onnx also with *graph*: no embeddings cached, the graph built. ``--backends`` picks the
variants (default: all three).

The child's CPU time (``time.process_time()``, every thread) is printed too: unlike the wall
time it hardly depends on how busy the machine is.

``--retail`` adds the retail agent (examples/retail): the first ``handle`` after
``agent.warm_up()`` (the wrapped model's classifier included) against the second one.

Run from the repository root::

    .venv/bin/python tools/bench/bench_coldstart.py --runs 5
    .venv/bin/python tools/bench/bench_coldstart.py --runs 3 --retail
    .venv/bin/python tools/bench/bench_coldstart.py --runs 5 --backends numpy onnx
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SMALL = """
import asyncio, json, sys, time
t0 = time.perf_counter()
import resolvekit as rk
t_import = time.perf_counter()
sys.path.insert(0, {root!r})
from examples.order_support import agent, Shop
t_build = time.perf_counter()

async def main():
    result = await agent.handle(customer_id="c-1", text="where is my order W1000001?", deps=Shop())
    t_reply = time.perf_counter()
    heavy = [m for m in ("torch", "sentence_transformers", "sklearn") if m in sys.modules]
    print(json.dumps({{"import": t_import - t0, "build": t_build - t_import,
                      "reply": t_reply - t_build, "heavy": heavy, "text": result.reply[:50],
                      "cpu": time.process_time()}}))

asyncio.run(main())
"""

_RETAIL = """
import asyncio, json, sys, time
sys.path.insert(0, {root!r})
from examples.retail import build_agent

async def main():
    agent = build_agent(model="local")
    t = time.perf_counter(); await agent.warm_up(); warm = time.perf_counter() - t
    times = []
    texts = ["I want to return an item from my order", "I'd like to exchange a lamp"]
    for i, text in enumerate(texts):
        t = time.perf_counter()
        await agent.handle(customer_id=f"c-{{i}}", text=text)
        times.append(time.perf_counter() - t)
    print(json.dumps({{"warm_up": warm, "first": times[0], "second": times[1]}}))

asyncio.run(main())
"""


_BUILD_GRAPH = """
from resolvekit.understanding._onnx_encoder import OnnxBertEncoder
from resolvekit.understanding.embedders import _bundled_minilm
OnnxBertEncoder(_bundled_minilm())
"""


def wait_for_builds(timeout: float = 600) -> None:
    """Wait until no background ONNX graph build (a child an "onnx, empty cache" run left
    behind) is running, so it does not take a core from the next run (Linux: /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        building = False
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                building = building or b"_build_main" in cmdline.read_bytes()
            except OSError:
                continue
        if not building:
            return
        time.sleep(0.2)


def load() -> str:
    return os.popen("uptime").read().strip().split("load average:")[-1].strip()


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def run(code: str, env: dict[str, str]) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return took, json.loads(out.stdout.strip().splitlines()[-1])


def bench_small(runs: int, backends: list[str]) -> None:
    print(f"\nSmall agent (examples/order_support.py), first reply, {runs} runs (load {load()})")
    base = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    code = _SMALL.format(root=str(ROOT))
    results: dict[str, list[tuple[float, dict[str, object]]]] = {}
    with tempfile.TemporaryDirectory() as warm_dir:
        for backend in backends:  # fill the warm caches once
            run(code, {**base, "RESOLVEKIT_CACHE_DIR": warm_dir, "RESOLVEKIT_ENCODER": backend})
        if "onnx" in backends:  # the graph, as the first process of a deployment leaves it
            env = {**base, "RESOLVEKIT_CACHE_DIR": warm_dir}
            subprocess.run([sys.executable, "-c", _BUILD_GRAPH], env=env, check=True)
        for _ in range(runs):
            for backend in backends:
                for cache in ("warm", "cold") + (("graph",) if backend == "onnx" else ()):
                    with tempfile.TemporaryDirectory() as cold_dir:
                        if cache == "graph":  # empty embedding cache, the graph built
                            os.symlink(Path(warm_dir, "onnx"), Path(cold_dir, "onnx"))
                        env = {
                            **base,
                            "RESOLVEKIT_ENCODER": backend,
                            "RESOLVEKIT_CACHE_DIR": warm_dir if cache == "warm" else cold_dir,
                        }
                        results.setdefault(f"{backend} {cache}", []).append(run(code, env))
                    wait_for_builds()
    print(
        "  variant       total (process start -> first reply), s    import   build    reply"
        "   CPU s (all threads, after interpreter start)"
    )
    for name, rows in results.items():
        phases = {k: [float(r[k]) for _, r in rows] for k in ("import", "build", "reply")}  # type: ignore[arg-type]
        print(
            f"  {name:12}  {spread([t for t, _ in rows]):28}  "
            f"{statistics.median(phases['import']):.2f}    {statistics.median(phases['build']):.2f}"
            f"    {statistics.median(phases['reply']):.2f}   "
            f"{spread([float(r['cpu']) for _, r in rows])}"  # type: ignore[arg-type]
            f"   heavy: {rows[-1][1]['heavy'] or '-'}"
        )
    for cache in ("warm", "cold"):
        if "numpy" not in backends:
            break
        numpy = statistics.median(t for t, _ in results[f"numpy {cache}"])
        for other in backends:
            if other != "numpy":
                took = statistics.median(t for t, _ in results[f"{other} {cache}"])
                print(f"  {cache} cache: {other} / numpy {took / numpy:.2f}x")
    if "onnx graph" in results and "numpy cold" in results:
        cpu = {k: statistics.median(float(r["cpu"]) for _, r in results[k]) for k in results}  # type: ignore[arg-type]
        wall = {k: statistics.median(t for t, _ in results[k]) for k in results}
        print(
            f"  empty embedding cache, graph built: onnx / numpy cold "
            f"{wall['onnx graph'] / wall['numpy cold']:.2f}x wall, "
            f"{cpu['onnx graph'] / cpu['numpy cold']:.2f}x CPU"
        )
    print(f"  (load after: {load()})")


def bench_retail(runs: int) -> None:
    print(f"\nRetail agent: handle after warm_up, {runs} fresh processes (load {load()})")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1"}
    rows = [run(_RETAIL.format(root=str(ROOT)), env)[1] for _ in range(runs)]
    for key in ("warm_up", "first", "second"):
        values = [float(r[key]) for r in rows]  # type: ignore[arg-type]
        print(f"  {key:8} {spread(values)} s")
    print(f"  (load after: {load()})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--retail", action="store_true")
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=("numpy", "onnx", "torch"),
        default=["numpy", "onnx", "torch"],
    )
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPU cores; load {load()}")
    bench_small(args.runs, args.backends)
    if args.retail:
        bench_retail(args.runs)


if __name__ == "__main__":
    main()
