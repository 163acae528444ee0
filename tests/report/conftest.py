"""The report tests' shared eval run: the demo suite played once into a SQLite store."""

from __future__ import annotations

import concurrent.futures
import json
from pathlib import Path

import pytest

from resolvekit.cli import main


def cli(args: list[str]) -> int:
    """``resolvekit ARGS`` in a worker thread: the browser fixture's Playwright keeps an event loop
    running in this thread while open, where ``asyncio.run`` refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(main, args).result()


@pytest.fixture(scope="package")
def eval_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, Path]:  # type: ignore[type-arg]
    """The demo suite run once by ``resolvekit eval --store``: (store URL, eval metrics, dir)."""
    folder = tmp_path_factory.mktemp("eval")
    url = f"sqlite:///{folder / 'eval.db'}"
    args = ["eval", "demo", "--trials", "2", "--no-baselines", "--no-progress", "--no-redact"]
    assert cli([*args, "--store", url, "--out", str(folder / "out")]) == 0
    report = json.loads((folder / "out" / "report.json").read_text())
    return url, report["agents"]["agent"]["metrics"], folder
