"""Mutation testing of resolvekit's safety modules, with mutmut.

Run from the repository root, after ``bash tools/setup.sh``::

    .venv/bin/python tools/mutation.py                       # every safety module
    .venv/bin/python tools/mutation.py --module playbooks    # one (repeat --module for more)
    .venv/bin/python tools/mutation.py --json build/mutation.json --min-kill 0.9
    .venv/bin/python tools/mutation.py --no-run --survivors  # the last run's results again

For each module in :data:`MODULES`, the script copies the repository into
``build/mutation/<module>/`` (``src``, ``tests``, ``tools``, ``examples``, ``evals`` and a
``pyproject.toml`` with a ``[tool.mutmut]`` section that mutates only that module and selects
only its tests), runs ``mutmut run`` there under ``nice`` with one worker, and reads mutmut's
results back. mutmut (3.x) writes every mutant of a function into one trampolined copy of the
module and, per mutant, forks the pytest process and runs only the selected tests that executed
the mutated function; tests that exercise the module in a child process (the kill-point tests)
are therefore not used: mutmut cannot see what a child executed.

It prints, per module, per group and overall: mutants, killed, survived (with, in brackets,
how many of them no selected test executed), timeouts, and the kill rate
``(killed + timeout) / mutants``. ``--json PATH`` writes the same numbers and every survivor
(file, line, the original and the mutated line, mutmut's name for it). The exit code is 0 (a
measurement) unless ``--min-kill RATE`` is given and the overall rate is below it.

Adding a module is one line in :data:`MODULES`.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutation"
COPIED = ("src", "tests", "tools", "examples", "evals")
"""What a mutation run needs of the repository (tests read data under tools/ and examples/)."""
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "*.db")


@dataclass(frozen=True)
class Target:
    """One module to mutate and the tests that exercise it."""

    source: str
    """Path of the module, relative to the repository root."""
    tests: tuple[str, ...]
    """pytest arguments selecting its tests: paths, node ids, ``-k`` expressions."""
    group: str
    """The group the module is reported in."""
    skip: tuple[str, ...] = ()
    """Test node ids that cannot run against this module's trampolined copy (see below)."""


ENGINE = "tests/engine"
TURN_TESTS = (ENGINE, "tests/test_privacy.py", "tests/test_escalation.py")
"""What exercises the turn engine: the engine tests, and the privacy and escalation tests whose
handoffs a turn builds."""


def _engine(module: str) -> Target:
    """One module of the turn engine (``src/resolvekit/engine/``), run against its tests."""
    return Target(f"src/resolvekit/engine/{module}.py", TURN_TESTS, "turn engine")


MODULES: dict[str, Target] = {
    "playbooks": Target("src/resolvekit/playbooks.py", (ENGINE,), "durable playbooks"),
    # The turn engine: _loop.py and _requests.py before the engine package, and parking (new);
    # engine/setup.py is a protocol, with no code to mutate.
    "engine/turn": _engine("turn"),
    "engine/state": _engine("state"),
    "engine/requests": _engine("requests"),
    "engine/slots": _engine("slots"),
    "engine/execute": _engine("execute"),
    "engine/confirm": _engine("confirm"),
    "engine/free": _engine("free"),
    "engine/recovery": _engine("recovery"),
    "engine/parking": _engine("parking"),
    "engine/clarify": _engine("clarify"),
    "engine/checks": Target(
        "src/resolvekit/engine/checks.py",
        (f"{ENGINE}/test_early_checks.py", f"{ENGINE}/test_verify_first.py"),
        "turn engine",
    ),
    "engine/escalate": _engine("escalate"),
    "engine/bookkeeping": Target("src/resolvekit/engine/bookkeeping.py", (ENGINE,), "turn engine"),
    # mutmut calls every mutated function through a trampoline (three extra frames), so
    # tools._type_hints' walk up 8 frames no longer reaches a test that defines a tool with a
    # class local to the test: those tests are left out of this module's run.
    "tools": Target(
        "src/resolvekit/tools.py",
        (ENGINE, "tests/test_retry.py"),
        "tools",
        skip=(
            "tests/engine/test_tools.py::test_sync_and_async_tools_run_and_results_are_json",
            "tests/engine/test_tool_contract.py::"
            "test_hints_naming_a_class_local_to_the_defining_function_resolve",
        ),
    ),
    "consent": Target(
        "src/resolvekit/consent.py",
        ("tests/engine/test_consent.py", "tests/understanding/test_consent.py"),
        "consent",
    ),
    # understanding/_consent_words.py is word lists built at import: nothing a test could kill.
    "understanding/consent": Target(
        "src/resolvekit/understanding/consent.py",
        (
            "tests/understanding/test_consent.py",
            "tests/understanding/test_consent_readings.py",
            "tests/engine/test_consent.py",
        ),
        "consent",
    ),
    # The typo reader: a correction must never turn a refusal into a yes (test_typo_consent).
    "understanding/typos": Target(
        "src/resolvekit/understanding/typos.py",
        (
            "tests/understanding/test_typos.py",
            "tests/models/test_local_typos.py",
            "tests/engine/test_typo_consent.py",
        ),
        "consent",
    ),
    # escalation.py before the split: the policy (escalation), the packet (handoffs) and where
    # packets go (delivery).
    "escalation": Target(
        "src/resolvekit/escalation.py",
        ("tests/test_escalation.py", ENGINE),
        "handoff and redaction",
    ),
    "handoffs": Target(
        "src/resolvekit/handoffs.py",
        ("tests/test_escalation.py", ENGINE, "tests/test_privacy.py", "tests/test_redaction.py"),
        "handoff and redaction",
    ),
    "delivery": Target(
        "src/resolvekit/delivery.py",
        ("tests/test_escalation.py", ENGINE, "tests/test_privacy.py"),
        "handoff and redaction",
    ),
    "redaction": Target(
        "src/resolvekit/redaction.py",
        ("tests/test_redaction.py", "tests/test_redaction_boundaries.py", "tests/test_privacy.py"),
        "handoff and redaction",
        # A wall-clock bound (< 5 s) that mutmut's tracing and a loaded machine can break.
        skip=("tests/test_redaction.py::test_long_runs_of_digit_groups_take_linear_time",),
    ),
    "_text": Target(
        "src/resolvekit/_text.py",
        ("tests/engine/test_delivery.py", "tests/test_text.py"),
        "sanitising",
    ),
    # "sessions/base": Target("src/resolvekit/sessions/base.py", ("tests/sessions",), "stores"),
}
"""The safety modules: name (``--module``) -> module, its tests and its group."""

DESELECTED = ("tests/test_redaction.py::test_the_filter_can_guard_any_handler",)
"""Tests left out of every mutation run: this one's malformed log call reaches pytest's own log
handler when mutmut runs pytest several times in one process (it runs in the normal suite)."""

KILLED = {"killed", "caught by type check"}
TIMEOUT = {"timeout"}
UNTESTED = {"no tests"}


@dataclass
class Survivor:
    """A mutant no selected test failed on."""

    module: str
    name: str
    """mutmut's name (``mutmut show NAME`` in ``build/mutation/<module>`` shows it)."""
    status: str
    """``survived``, ``no tests`` (no selected test executed it) or ``suspicious``."""
    file: str
    line: int
    original: str
    mutated: str


@dataclass
class Tally:
    """Counts for a module, a group, or everything."""

    label: str
    mutants: int = 0
    killed: int = 0
    survived: int = 0
    untested: int = 0
    timeout: int = 0
    unchecked: int = 0
    """Mutants an interrupted run never tested: left out of every count above."""
    seconds: float = 0.0
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Share of mutants detected (killed or timed out)."""
        return (self.killed + self.timeout) / self.mutants if self.mutants else 1.0

    def add(self, other: Tally) -> None:
        self.mutants += other.mutants
        self.killed += other.killed
        self.survived += other.survived
        self.untested += other.untested
        self.timeout += other.timeout
        self.unchecked += other.unchecked
        self.seconds += other.seconds

    def row(self) -> str:
        unchecked = f"  ({self.unchecked} not checked)" if self.unchecked else ""
        return (
            f"{self.label:<24} {self.mutants:>7} {self.killed:>7} "
            f"{self.survived:>5} [{self.untested:>3}] {self.timeout:>7} {self.rate:>7.1%}"
            f"{unchecked}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "mutants": self.mutants,
            "killed": self.killed,
            "survived": self.survived,
            "untested": self.untested,
            "timeout": self.timeout,
            "not_checked": self.unchecked,
            "rate": round(self.rate, 4),
            "seconds": round(self.seconds, 1),
        }


HEADER = f"{'module':<24} {'mutants':>7} {'killed':>7} {'survived':>11} {'timeout':>7} {'rate':>7}"


def mutmut_config(target: Target) -> str:
    """The ``[tool.mutmut]`` section for one module."""
    selection = [*target.tests, *(f"--deselect={test}" for test in (*DESELECTED, *target.skip))]
    return "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["src/resolvekit"]',
            f"only_mutate = [{json.dumps(target.source)}]",
            f"pytest_add_cli_args_test_selection = {json.dumps(selection)}",
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]',
            'also_copy = ["tools", "examples", "evals"]',
            # A mutant that loops forever is stopped after 4x (mutmut's default: 15x) the
            # time its tests took unmutated (CPU time, doubled, plus a constant).
            "timeout_multiplier = 4.0",
            "",
        ]
    )


def prepare(name: str, target: Target) -> Path:
    """A fresh copy of the repository to run mutmut in; returns its folder."""
    work = WORK / name.replace("/", ".")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for entry in COPIED:
        shutil.copytree(ROOT / entry, work / entry, ignore=IGNORED)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (work / "pyproject.toml").write_text(pyproject + mutmut_config(target), encoding="utf-8")
    return work


def run_mutmut(work: Path, workers: int, log: Path) -> None:
    """``mutmut run`` in ``work``, its progress written to ``log``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MUTANT_UNDER_TEST")}
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers)]
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"mutmut failed in {work} (exit {done.returncode}):\n{tail}")


def read_results(work: Path, target: Target) -> dict[str, str]:
    """mutmut's status of every mutant of the module: name -> status."""
    from mutmut.stats import status_by_exit_code

    meta = work / "mutants" / (target.source + ".meta")
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def function_starts(source: str) -> dict[str, int]:
    """First line (decorators included) of every function and method, by mutmut's mangled
    name (``x_function``, ``xǁClassǁmethod``)."""
    starts: dict[str, int] = {}

    def visit(nodes: Iterable[ast.stmt], cls: str | None) -> None:
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                visit(node.body, node.name)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                mangled = f"xǁ{cls}ǁ{node.name}" if cls else f"x_{node.name}"
                starts[mangled] = first

    visit(ast.parse(source).body, None)
    return starts


def describe(
    work: Path, target: Target, name: str, starts: dict[str, int], lines: list[str]
) -> tuple[int, str, str]:
    """Where the mutant is in the original file and what it changed: (line, before, after)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    previous = Path.cwd()
    os.chdir(work)
    try:
        diff = get_diff_for_mutant(name, path=target.source)
    finally:
        os.chdir(previous)
    offset, cursor, before, after = 0, 0, "", ""
    for text in diff.splitlines()[2:]:
        if text.startswith("@@"):
            cursor = int(text.split()[1].split(",")[0].lstrip("-"))
            continue
        if text.startswith("-") and not before:
            before, offset = text[1:], cursor
        elif text.startswith("+") and not after:
            after = text[1:]
        if not text.startswith("+"):
            cursor += 1
    function = name.rsplit(".", 1)[-1].split("__mutmut_")[0]
    estimate = starts.get(function, 1) + offset - 1
    wanted = before.strip()
    matches = [i + 1 for i, text in enumerate(lines) if text.strip() == wanted]
    line = min(matches, key=lambda n: abs(n - estimate)) if matches else estimate
    return line, before.strip(), after.strip()


def measure(name: str, target: Target, workers: int, *, run: bool = True) -> Tally:
    """Mutate one module, run its tests against every mutant, and count (``run=False``: only
    count the results the last run left in ``build/mutation/<module>``)."""
    started = time.monotonic()
    work = WORK / name.replace("/", ".")
    if run:
        work = prepare(name, target)
        run_mutmut(work, workers, work / "mutmut.log")
    elif not work.exists():
        raise SystemExit(f"no results for {name} in {work}: run it first")
    statuses = read_results(work, target)
    source = (ROOT / target.source).read_text(encoding="utf-8")
    starts, lines = function_starts(source), source.splitlines()
    tally = Tally(label=name, seconds=time.monotonic() - started)
    for mutant, status in sorted(statuses.items(), key=lambda kv: _natural(kv[0])):
        if status == "skipped":
            continue
        if status == "not checked":  # the run was interrupted before this mutant
            tally.unchecked += 1
            continue
        tally.mutants += 1
        if status in KILLED:
            tally.killed += 1
        elif status in TIMEOUT:
            tally.timeout += 1
        else:
            tally.survived += 1
            tally.untested += status in UNTESTED
            line, before, after = describe(work, target, mutant, starts, lines)
            tally.survivors.append(
                Survivor(name, mutant, status, target.source, line, before, after)
            )
    return tally


def _natural(mutant: str) -> tuple[str, int]:
    stem, _, number = mutant.rpartition("__mutmut_")
    return stem, int(number) if number.isdigit() else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--module",
        action="append",
        choices=sorted(MODULES),
        help="a module to mutate (repeatable; default: all of them)",
    )
    parser.add_argument("--json", type=Path, help="write the summary and the survivors here")
    parser.add_argument(
        "--min-kill", type=float, default=None, help="exit 1 when the overall rate is below this"
    )
    parser.add_argument("--workers", type=int, default=1, help="mutmut worker processes (1)")
    parser.add_argument(
        "--survivors", action="store_true", help="print every survivor after the table"
    )
    parser.add_argument(
        "--no-run",
        action="store_true",
        help="do not run mutmut: report the results the last run left in build/mutation",
    )
    args = parser.parse_args(argv)
    names: list[str] = args.module or list(MODULES)
    if hasattr(os, "nice"):
        os.nice(10)  # the machine is shared: mutation runs yield to everything else

    tallies: list[Tally] = []
    for name in names:
        print(f"mutating {MODULES[name].source} ...", file=sys.stderr, flush=True)
        tally = measure(name, MODULES[name], args.workers, run=not args.no_run)
        print(f"  {tally.row()}  ({tally.seconds:.0f} s)", file=sys.stderr, flush=True)
        tallies.append(tally)

    groups: dict[str, Tally] = {}
    overall = Tally(label="overall")
    for tally in tallies:
        group = MODULES[tally.label].group
        groups.setdefault(group, Tally(label=f"[{group}]")).add(tally)
        overall.add(tally)
    print(HEADER)
    for tally in tallies:
        print(tally.row())
    print()
    for group_tally in groups.values():
        print(group_tally.row())
    print(overall.row())
    print("survived [n]: n of them run by no selected test; rate = (killed + timeout) / mutants")

    survivors = [s for tally in tallies for s in tally.survivors]
    if args.survivors:
        for s in survivors:
            print(f"{s.file}:{s.line}: [{s.status}] {s.original!r} -> {s.mutated!r}  ({s.name})")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "tool": "mutmut",
            "date": time.strftime("%Y-%m-%d"),
            "modules": {t.label: t.to_json() for t in tallies},
            "groups": {g: t.to_json() for g, t in groups.items()},
            "overall": overall.to_json(),
            "survivors": [asdict(s) for s in survivors],
        }
        args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    if args.min_kill is not None and overall.rate < args.min_kill:
        print(f"kill rate {overall.rate:.1%} is below {args.min_kill:.0%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
