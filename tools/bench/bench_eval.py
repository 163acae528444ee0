"""Where the time of an eval goes: the agent's own work vs the harness, at several concurrencies.

Runs the τ²-bench retail suite (``evals/tau2_retail``, all 74 tasks by default, with the
do_nothing and gold baselines as ``resolvekit eval`` does) once per (code version, concurrency),
each in a fresh child process, one after the other, and prints for each run:

- the machine load (1-minute load average at the start, and its mean and max during the run,
  sampled every 2 s; the machine's core count is printed once);
- wall time of ``run_suite``, and of the ``asyncio.run`` teardown after it;
- CPU time of the process during ``run_suite`` (all threads), split into the **agent's own
  CPU** (every ``Agent.handle`` call: each step of its coroutine on the event loop, each step
  of the tasks it spawns (a playbook runs, and stays parked between turns, in a task of its
  own: its steps count for the turn of its conversation running at the time), plus the
  jobs it hands to any thread pool, the loop's default executor (``asyncio.to_thread``) or one
  of its own (a LocalModel's turns), timed inside the worker thread) and the **harness**
  (everything else: state copies, snapshots, scoring, the simulated customer, building the
  agents, records, the runner and the event loop);
- the overhead ratio: harness CPU / agent CPU. The agent's CPU also counts the threads Python
  did not start (``native``: torch's or a BLAS library's own thread pool, read from /proc) and
  the batching embedder's thread: only the agent's model uses them, and its per-turn probe
  cannot see them;
- per-turn agent latency p50/p95/p99: the agent's own CPU per ``Agent.handle`` call, and the
  wall time of the call (which includes waiting for the event loop and other conversations);
- the score (agent pass^1), the conversations that timed out or crashed, and whether every
  per-task verdict equals the first run's.

The probes are the same for every code version: they patch ``Agent.handle``, the suite's agent
factory, ``Scenario.fresh_state`` (copy), the suite's snapshot and the runner's ``to_data``
(snapshot), ``_Runner._score`` (scoring), the customer sessions (customer), the gold replay and
``redact_record``/``append_record`` (records), and time the thread-pool jobs submitted during
each probed call (``ThreadPoolExecutor.submit``).

``--baseline REV`` also measures the code of git revision REV (``src``, ``evals`` and
``examples`` exported with ``git archive`` into a temporary folder) in the same invocation,
interleaved with this checkout's runs (for each concurrency: baseline, then current), so both
see the same machine load.

    .venv/bin/python tools/bench/bench_eval.py                        # this checkout, 1/4/16
    .venv/bin/python tools/bench/bench_eval.py --baseline main        # and main's code
    .venv/bin/python tools/bench/bench_eval.py --ids 0,1,2,3 --concurrency 1,4 --breakdown
    .venv/bin/python tools/bench/bench_eval.py --warm 3   # one-time costs paid before measuring
    .venv/bin/python tools/bench/bench_eval.py --profile /tmp/prof    # cProfile of each run
    .venv/bin/python tools/bench/bench_eval.py --show runs.json --breakdown  # a --json file again

Figures are printed, never asserted; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("copy", "snapshot", "scoring", "customer", "agent_build", "gold", "records")
_T = TypeVar("_T")


# -- probes (in the child process) -----------------------------------------------------------


@dataclass
class _Clock:
    """CPU seconds of one probed call: its steps on the event loop thread, its worker jobs.

    The same idea as ``resolvekit.evals._clock`` (``TurnClock``, ``timed``, the metered
    executor), kept here on purpose: ``--baseline`` times code from before that module
    existed, and both versions must be measured by one clock."""

    cpu: float = 0.0
    jobs: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, *, job: bool = False) -> None:
        with self.lock:
            self.cpu += seconds
            if job:
                self.jobs += seconds


class _Conversation:
    """The clock of the turn a conversation is playing now, for the tasks its agent spawned (a
    playbook runs, and stays parked between turns, in a task of its own) and their jobs."""

    def __init__(self) -> None:
        self.clock: _Clock | None = None

    def add(self, seconds: float, *, job: bool = False) -> None:
        clock = self.clock
        if clock is not None:
            clock.add(seconds, job=job)


_CURRENT: contextvars.ContextVar[_Clock | _Conversation | None] = contextvars.ContextVar(
    "bench", default=None
)
_TURNS: contextvars.ContextVar[_Conversation | None] = contextvars.ContextVar(
    "bench_turns", default=None
)


def _count_spawned_tasks() -> None:
    """Every task created during a probed agent turn has its steps added to the clock of the
    turn its conversation is playing at the time (chained before any other task factory)."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    async def spawned(coro: Coroutine[Any, Any, Any], conversation: _Conversation) -> Any:
        return await _Stepped(coro, conversation)

    def create(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        context = kwargs.get("context")
        conversation = context.get(_TURNS) if context is not None else _TURNS.get()
        if conversation is not None and conversation.clock is not None:
            coro = spawned(coro, conversation)
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(create)


class _Stepped:
    """Await a coroutine, adding the thread CPU time of each of its steps to a clock."""

    def __init__(self, coro: Coroutine[Any, Any, Any], clock: _Clock | _Conversation) -> None:
        self.coro = coro
        self.clock = clock

    def __await__(self) -> Generator[Any, Any, Any]:
        value: Any = None
        error: BaseException | None = None
        while True:
            start = time.thread_time()
            try:
                signal = self.coro.send(value) if error is None else self.coro.throw(error)
            except StopIteration as stop:
                return stop.value
            finally:
                self.clock.add(time.thread_time() - start)
            try:
                value, error = (yield signal), None
            except GeneratorExit:
                self.coro.close()
                raise
            except BaseException as exc:  # cancellation and the like: for the coroutine
                value, error = None, exc


def _time_executor_jobs() -> None:
    """Every thread-pool job submitted during a probed call is timed in its worker thread and
    added to that call's clock: the loop's default executor (``asyncio.to_thread``) and any
    executor of the agent's own (a LocalModel runs its turns on its own threads)."""
    submit = concurrent.futures.ThreadPoolExecutor.submit

    def timed_submit(self: Any, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Any:
        clock = _CURRENT.get()
        if clock is None or getattr(fn, "_bench_timed", False):
            return submit(self, fn, *args, **kwargs)

        def timed() -> _T:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                clock.add(time.thread_time() - start, job=True)

        timed._bench_timed = True  # type: ignore[attr-defined]
        return submit(self, timed)

    concurrent.futures.ThreadPoolExecutor.submit = timed_submit  # type: ignore[method-assign]


@dataclass
class _Probes:
    cpu: dict[str, float] = field(default_factory=dict)
    wall: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    turns_cpu_ms: list[float] = field(default_factory=list)
    turns_wall_ms: list[float] = field(default_factory=list)

    def add(self, name: str, cpu: float, wall: float) -> None:
        self.cpu[name] = self.cpu.get(name, 0.0) + cpu
        self.wall[name] = self.wall.get(name, 0.0) + wall
        self.calls[name] = self.calls.get(name, 0) + 1


PROBES = _Probes()


def _sync_probe(name: str, fn: Callable[..., _T]) -> Callable[..., _T]:
    @functools.wraps(fn)
    def probed(*args: Any, **kwargs: Any) -> _T:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PROBES.add(name, time.thread_time() - cpu, time.perf_counter() - wall)

    return probed


def _async_probe(
    name: str, fn: Callable[..., Coroutine[Any, Any, _T]], *, turn: bool = False
) -> Callable[..., Awaitable[_T]]:
    @functools.wraps(fn)
    async def probed(*args: Any, **kwargs: Any) -> _T:
        clock = _Clock()
        conversation = _TURNS.get() if turn else None
        if turn and conversation is None:  # kept in the conversation's task for its next turns
            conversation = _Conversation()
            _TURNS.set(conversation)
        if conversation is not None:
            conversation.clock = clock
        token = _CURRENT.set(conversation or clock)
        wall = time.perf_counter()
        try:
            result: _T = await _Stepped(fn(*args, **kwargs), clock)
            return result
        finally:
            _CURRENT.reset(token)
            if conversation is not None:
                conversation.clock = None
            elapsed = time.perf_counter() - wall
            PROBES.add(name, clock.cpu, elapsed)
            PROBES.add(f"{name}_jobs", clock.jobs, 0.0)
            if turn:
                PROBES.turns_cpu_ms.append(clock.cpu * 1000)
                PROBES.turns_wall_ms.append(elapsed * 1000)

    return probed


def _install_probes(suite: Any, *, breakdown: bool) -> None:
    import importlib

    agent: Any = importlib.import_module("resolvekit.agent").Agent
    runner: Any = importlib.import_module("resolvekit.evals.runner")
    scenario_type: Any = importlib.import_module("resolvekit.evals.scenario").Scenario
    _time_executor_jobs()
    agent.handle = _async_probe("agent", agent.handle, turn=True)
    suite.agent = _sync_probe("agent_build", suite.agent)
    if not breakdown:  # only what the overhead ratio needs: fewer probes, less probe overhead
        return
    runner.do_nothing_agent = _sync_probe("agent_build", runner.do_nothing_agent)
    scenario_type.fresh_state = _sync_probe("copy", scenario_type.fresh_state)
    suite.snapshot = _sync_probe("snapshot", suite.snapshot)
    runner.to_data = _sync_probe("snapshot", runner.to_data)
    runner._Runner._score = _sync_probe("scoring", runner._Runner._score)
    runner._Runner._play = _async_probe("play", runner._Runner._play)
    runner.replay_reference = _async_probe("gold", runner.replay_reference)
    runner.redact_record = _sync_probe("records", runner.redact_record)
    runner.append_record = _sync_probe("records", runner.append_record)
    probed: set[type] = set()
    for scenario in suite.scenarios:
        user_type = type(scenario.user)
        if user_type in probed:
            continue
        probed.add(user_type)
        start = user_type.start

        def probed_start(self: Any, *args: Any, _start: Any = start, **kwargs: Any) -> Any:
            session = _start(self, *args, **kwargs)
            session.opening = _async_probe("customer", session.opening)
            session.respond = _async_probe("customer", session.respond)
            return session

        user_type.start = probed_start


class _LoadSampler:
    def __init__(self) -> None:
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> _LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])


def _thread_cpu() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by Python thread name (``native``:
    threads Python did not start, e.g. a torch or BLAS pool), from /proc (Linux only)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(tid), "native")
        # The batching embedder's thread serves only the agent's model: like a torch pool.
        name = "native" if name.startswith("resolvekit-embedder") else name
        name = "worker" if name.startswith(("asyncio_", "ThreadPool", "resolvekit")) else name
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def _child(args: argparse.Namespace) -> None:
    root = Path(args.child)
    sys.path[:0] = [str(root / "src"), str(root)]
    from resolvekit.evals import RunOptions, load_suite, run_suite

    options: dict[str, str] = {"ids": args.ids} if args.ids else {}
    setup = time.perf_counter()
    suite = load_suite(str(root / "evals" / "tau2_retail"), options)
    setup_s = time.perf_counter() - setup
    if args.warm:  # the process's one-time costs (imports, model, knowledge index) first
        import dataclasses

        warm = dataclasses.replace(suite, scenarios=suite.scenarios[: args.warm])
        asyncio.run(run_suite(warm, RunOptions(trials=1, concurrency=1, progress=False)))
        setup_s = time.perf_counter() - setup
    if args.bare:
        _bare_child(args, suite, setup_s)
        return
    _install_probes(suite, breakdown=args.breakdown)
    run_options = RunOptions(
        trials=1, concurrency=args.concurrency, baselines=not args.no_baselines, progress=False
    )
    measured: dict[str, float] = {}

    async def play() -> Any:
        asyncio.get_running_loop().set_default_executor(concurrent.futures.ThreadPoolExecutor())
        _count_spawned_tasks()
        wall, cpu = time.perf_counter(), time.process_time()
        threads = _thread_cpu()
        try:
            return await run_suite(suite, run_options)
        finally:
            measured["wall"] = time.perf_counter() - wall
            measured["cpu"] = time.process_time() - cpu
            for name, seconds in _thread_cpu().items():
                measured[f"thread:{name}"] = seconds - threads.get(name, 0.0)

    profile = None
    if args.profile:
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    with _LoadSampler() as load:
        started = time.perf_counter()
        run = asyncio.run(play())
        total = time.perf_counter() - started
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    records = run.records["agent"]
    verdicts = {r.scenario: r.verdict for r in records}
    report = {
        "setup_s": setup_s,
        "wall_s": measured["wall"],
        "teardown_s": total - measured["wall"],
        "cpu_s": measured["cpu"],
        "probes_cpu": PROBES.cpu,
        "probes_wall": PROBES.wall,
        "calls": PROBES.calls,
        "turns_cpu_ms": PROBES.turns_cpu_ms,
        "turns_wall_ms": PROBES.turns_wall_ms,
        "load": load.samples,
        "passed": sum(1 for r in records if r.success),
        "tasks": len(records),
        "verdicts": verdicts,
        "errors": {r.scenario: r.error for r in records if r.error},
        "conversations": sum(len(v) for v in run.records.values()),
        "threads": {k[7:]: v for k, v in measured.items() if k.startswith("thread:")},
    }
    Path(args.out).write_text(json.dumps(report), encoding="utf-8")


def _bare_child(args: argparse.Namespace, suite: Any, setup_s: float) -> None:
    """``--bare``: the eval with no probe at all, against the agent alone on the same messages.

    Rounds alternate (eval, bare) so both see the same load. The eval is ``run_suite`` as
    ``resolvekit eval`` runs it; the bare pass gives each task's recorded customer messages, in
    order, to a fresh agent of the suite on a fresh copy of its state (copies made before the
    clock starts), with the same concurrency, and nothing else: no simulated customer, no
    scoring, no records, no baselines. Its CPU time is what handling those turns costs; the
    eval's CPU beyond it is what the harness costs."""
    from resolvekit.evals import RunOptions, run_suite

    run_options = RunOptions(
        trials=1, concurrency=args.concurrency, baselines=not args.no_baselines, progress=False
    )
    scenarios = {s.id: s for s in suite.scenarios}
    rounds: list[dict[str, float]] = []
    passed = tasks = 0
    turns = 0
    verdicts: dict[str, str] = {}

    async def bare(messages: dict[str, list[str]]) -> tuple[float, float]:
        gate = asyncio.Semaphore(args.concurrency)
        ready = {
            sid: suite.deps(scenarios[sid].fresh_state()) for sid in messages
        }  # the copies: not the agent's work, made before the clock starts

        async def one(sid: str) -> None:
            async with gate:
                agent = suite.agent(None)
                agent._warn_no_target = False
                scenario = scenarios[sid]
                for text in messages[sid]:
                    await agent.handle(
                        f"bare:{sid}", text, channel=scenario.channel, deps=ready[sid]
                    )
                await agent.close()

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(sid) for sid in messages))
        return time.perf_counter() - wall, time.process_time() - cpu

    with _LoadSampler() as load:
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            run = asyncio.run(run_suite(suite, run_options))
            eval_wall, eval_cpu = time.perf_counter() - wall, time.process_time() - cpu
            records = run.records["agent"]
            messages = {
                r.scenario: [t.text for t in r.turns if t.role == "customer"] for r in records
            }
            turns = sum(len(v) for v in messages.values())
            passed = sum(1 for r in records if r.success)
            tasks = len(records)
            verdicts = {r.scenario: r.verdict for r in records}
            bare_wall, bare_cpu = asyncio.run(bare(messages))
            rounds.append(
                {
                    "eval_wall": eval_wall,
                    "eval_cpu": eval_cpu,
                    "bare_wall": bare_wall,
                    "bare_cpu": bare_cpu,
                }
            )
    report = {
        "bare": True,
        "setup_s": setup_s,
        "rounds": rounds,
        "turns": turns,
        "passed": passed,
        "tasks": tasks,
        "verdicts": verdicts,
        "load": load.samples,
        "baselines": not args.no_baselines,
    }
    Path(args.out).write_text(json.dumps(report), encoding="utf-8")


def _print_bare(rows: list[_Row]) -> None:
    print(f"machine: {os.cpu_count()} cores; load = 1-min load average (start / mean / max)")
    print(
        f"{'code':<9}{'conc':>5}  {'load':>16}  {'round':>5}  {'eval CPU s':>10} "
        f"{'bare CPU s':>10} {'harness s':>10} {'harness/agent':>14}  {'eval wall s':>11} "
        f"{'bare wall s':>11}  score"
    )
    for row in rows:
        r = row.result
        load = r["load"]
        for i, one in enumerate(r["rounds"]):
            extra = one["eval_cpu"] - one["bare_cpu"]
            print(
                f"{row.tag:<9}{row.concurrency:>5}  "
                f"{load[0]:>4.1f} /{statistics.mean(load):>5.1f} /{max(load):>4.1f}  "
                f"{i + 1:>5}  {one['eval_cpu']:>10.2f} {one['bare_cpu']:>10.2f} "
                f"{extra:>10.2f} {extra / one['bare_cpu'] * 100:>13.1f}%  "
                f"{one['eval_wall']:>11.2f} {one['bare_wall']:>11.2f}  "
                f"{r['passed']}/{r['tasks']} ({r['turns']} customer turns"
                f"{', with baselines' if r['baselines'] else ', no baselines'})"
            )


# -- the parent ------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@contextlib.contextmanager
def _exported(rev: str) -> Iterator[Path]:
    """The ``src``, ``evals`` and ``examples`` folders of git revision ``rev``, in a temporary
    folder."""
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as folder:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "src", "evals", "examples"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


def _run_child(root: Path, concurrency: int, args: argparse.Namespace, tag: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(root),
        "--concurrency-one",
        str(concurrency),
        "--out",
        str(out),
    ]
    if args.ids:
        command += ["--ids", args.ids]
    if args.no_baselines:
        command.append("--no-baselines")
    if args.warm:
        command += ["--warm", str(args.warm)]
    if args.breakdown:
        command.append("--breakdown")
    if args.bare:
        command += ["--bare", "--rounds", str(args.rounds)]
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        command += ["--profile-file", str(Path(args.profile) / f"{tag}-c{concurrency}.prof")]
    env = dict(os.environ)
    env.setdefault("RESOLVEKIT_TAU2_DATA", str(_data_dir()))
    env.pop("PYTHONPATH", None)  # the child puts its own code version first
    subprocess.run(command, check=True, env=env, cwd=root)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return result


def _data_dir() -> Path:
    env = os.environ.get("RESOLVEKIT_TAU2_DATA")
    return Path(env) if env else (ROOT / ".." / "shared" / "data" / "tau2_retail").resolve()


@dataclass(kw_only=True)
class _Row:
    tag: str
    concurrency: int
    result: dict[str, Any]

    @property
    def agent_cpu(self) -> float:
        return float(self.result["probes_cpu"].get("agent", 0.0)) + self.native_cpu

    @property
    def native_cpu(self) -> float:
        """CPU of threads Python did not start (the model's own thread pools)."""
        return float(self.result["threads"].get("native", 0.0))

    @property
    def harness_cpu(self) -> float:
        return float(self.result["cpu_s"]) - self.agent_cpu


def _print_rows(rows: list[_Row], breakdown: bool) -> None:
    print(f"machine: {os.cpu_count()} cores; load = 1-min load average (start / mean / max)")
    header = (
        f"{'code':<9}{'conc':>5}  {'load':>16}  {'wall s':>7} {'agent s':>8} {'(native)':>9}"
        f" {'harness s':>10}"
        f" {'overhead':>9}  {'turn CPU p50/p95/p99 ms':>24}  {'turn wall p50/p95/p99 ms':>25}"
        f"  {'score':>12}  timeouts/errors"
    )
    print(header)
    first = rows[0].result["verdicts"] if rows else {}
    for row in rows:
        r = row.result
        load = r["load"]
        cpu_ms, wall_ms = r["turns_cpu_ms"], r["turns_wall_ms"]
        same = "" if r["verdicts"] == first else "  (verdicts differ from the first run)"
        print(
            f"{row.tag:<9}{row.concurrency:>5}  "
            f"{load[0]:>4.1f} /{statistics.mean(load):>5.1f} /{max(load):>4.1f}  "
            f"{r['wall_s']:>7.1f} {row.agent_cpu:>8.2f} {row.native_cpu:>9.2f}"
            f" {row.harness_cpu:>10.2f} "
            f"{row.harness_cpu / row.agent_cpu * 100 if row.agent_cpu else float('nan'):>8.1f}%  "
            f"{_percentile(cpu_ms, 50):>7.1f} /{_percentile(cpu_ms, 95):>6.1f} /"
            f"{_percentile(cpu_ms, 99):>6.1f}  "
            f"{_percentile(wall_ms, 50):>7.1f} /{_percentile(wall_ms, 95):>7.1f} /"
            f"{_percentile(wall_ms, 99):>7.1f}  "
            f"{r['passed']:>3}/{r['tasks']:<3}{r['passed'] / max(r['tasks'], 1) * 100:>5.1f}%  "
            f"{len(r['errors'])}{same}"
        )
    if breakdown:
        print("\nharness CPU by part, s (other = the runner, the event loop and the rest):")
        print(f"{'code':<9}{'conc':>5}" + "".join(f"{p:>12}" for p in (*PARTS, "other")))
        for row in rows:
            r = row.result
            parts = [float(r["probes_cpu"].get(p, 0.0)) for p in PARTS]
            other = row.harness_cpu - sum(parts)
            print(
                f"{row.tag:<9}{row.concurrency:>5}"
                + "".join(f"{v:>12.2f}" for v in (*parts, other))
            )
        print("\nsetup (loading the suite) and asyncio.run teardown, s; CPU by thread, s:")
        for row in rows:
            r = row.result
            threads = "  ".join(f"{k} {v:.2f}" for k, v in sorted(r["threads"].items()))
            print(
                f"{row.tag:<9}{row.concurrency:>5}  setup {r['setup_s']:.1f}"
                f"  teardown {r['teardown_s']:.2f}  conversations {r['conversations']}"
                f"  threads: {threads}"
            )
    for row in rows:
        for scenario, error in row.result["errors"].items():
            print(f"  {row.tag} c{row.concurrency}: {scenario}: {error}")
        if row.result["verdicts"] != first:
            changed = sorted(k for k in first if row.result["verdicts"].get(k) != first.get(k))
            print(f"  {row.tag} c{row.concurrency}: verdicts differ on {changed}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated (1,4,16)")
    parser.add_argument("--ids", default="", help="task ids to play (default: all 74)")
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV")
    parser.add_argument("--no-baselines", action="store_true", help="skip do_nothing and gold")
    parser.add_argument("--breakdown", action="store_true", help="harness CPU by part")
    parser.add_argument(
        "--warm",
        type=int,
        default=0,
        metavar="N",
        help="first play N tasks unmeasured (imports, model, knowledge: one-time costs)",
    )
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile file per run")
    parser.add_argument(
        "--bare",
        action="store_true",
        help="no probes: the eval's CPU against the agent alone replaying the same messages",
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --bare: eval/bare rounds")
    parser.add_argument("--json", type=Path, help="write every run's figures here")
    parser.add_argument("--show", type=Path, help="print the figures of a --json file, run nothing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--profile-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.concurrency = args.concurrency_one
        args.profile = args.profile_file
        _child(args)
        return 0
    if args.show:
        saved = json.loads(args.show.read_text(encoding="utf-8"))
        shown = [_Row(tag=r.pop("code"), concurrency=r.pop("concurrency"), result=r) for r in saved]
        _print_bare(shown) if shown and shown[0].result.get("bare") else _print_rows(
            shown, args.breakdown
        )
        return 0
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    rows: list[_Row] = []
    with contextlib.ExitStack() as stack:
        versions: list[tuple[str, Path]] = []
        if args.baseline:
            versions.append(("baseline", stack.enter_context(_exported(args.baseline))))
        versions.append(("current", ROOT))
        for level in levels:
            for tag, root in versions:
                print(f"... {tag} at concurrency {level}", file=sys.stderr, flush=True)
                rows.append(
                    _Row(tag=tag, concurrency=level, result=_run_child(root, level, args, tag))
                )
    if args.bare:
        _print_bare(rows)
    else:
        _print_rows(rows, args.breakdown)
    if args.json:
        args.json.write_text(
            json.dumps([{"code": r.tag, "concurrency": r.concurrency, **r.result} for r in rows]),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
