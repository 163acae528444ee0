"""What the live-event hook (``resolvekit.live``) costs a turn: the engine's per-turn bookkeeping
(a ``TurnState``, five trace events, two reply texts, the playbook hooks and the result) timed
in fresh interpreters on this tree and on a baseline tree, alternately, plus this tree with an
observer that does nothing.

The baseline is another checkout's ``src`` folder (the code before the hook), for example::

    git -C /path/to/repo archive <commit> src | tar -x -C /tmp/rk-before
    .venv/bin/python tools/bench/bench_live.py --baseline /tmp/rk-before/src

Without ``--baseline`` only this tree is timed (with and without an observer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import sys, time
from resolvekit import Agent, Intent
from resolvekit.engine.state import TurnState
from resolvekit.sessions import Conversation

class Ask(Intent):
    '''Customer asks something.'''
    examples = ("where is my order",)

agent = Agent("Bench", model="test", store="memory://", handoff=[])

@agent.playbook(Ask)
async def ask(ctx, intent):
    return ctx.resolve("ok")

def one():
    state = TurnState(agent, Conversation(id="x", customer_id="c"), None)
    for _ in range(5):
        state.note("model", decision={}, confidence=1.0)
    state.say("hello")
    state.say("world")
    state.hooks()
    return state.result()

def timed(n):
    for _ in range(n // 10):
        one()
    best = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            one()
        best.append((time.perf_counter() - started) / n * 1e6)
    return min(best)

n = int(sys.argv[1])
if sys.argv[2] == "observed":
    from resolvekit.live import observe
    with observe(lambda kind, data: None):
        print(timed(n))
else:
    print(timed(n))
"""


def run(src: Path, mode: str, n: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), mode], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return float(out.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="the src folder of the code before")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-n", type=int, default=20000, help="turns per timing")
    args = parser.parse_args()
    variants = [("this tree", ROOT / "src", "plain"), ("observed", ROOT / "src", "observed")]
    if args.baseline is not None:
        variants.insert(0, ("baseline", args.baseline, "plain"))
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    load = os.getloadavg()
    for _ in range(args.rounds):
        for name, src, mode in variants:
            times[name].append(run(src, mode, args.n))
    base = statistics.median(times[variants[0][0]])
    print(f"per-turn bookkeeping, µs (best of 5 × {args.n}, median of {args.rounds} rounds)")
    for name, values in times.items():
        med = statistics.median(values)
        shown = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:<10} {med:7.2f}  ({shown})  × {med / base:.3f}  {med - base:+.2f} µs")
    print(f"load {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
