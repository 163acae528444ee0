"""Worker processes for the SQLite lease tests (module level, so ``spawn`` can import them)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from resolvekit.sessions.sqlite import SQLiteStore


def take_turns(db: str, log: str, name: str, turns: int, ready: str) -> None:
    """Take ``turns`` turns of customer ``c-1``, marking each turn's start and end in ``log``."""

    Path(ready, name).touch()
    while len(os.listdir(ready)) < 2:  # start together
        time.sleep(0.005)

    async def main() -> None:
        store = SQLiteStore(db, lease_ttl=2.0)
        for turn in range(turns):
            async with store.lock("c-1"):
                _mark(log, f"start {name} {turn}")
                await asyncio.sleep(0.02)
                _mark(log, f"end {name} {turn}")
        await store.close()

    asyncio.run(main())


def hold_forever(db: str, held: str, lease_ttl: float) -> None:
    """Take customer ``c-1``'s lease, say so in file ``held``, and never let go."""

    async def main() -> None:
        store = SQLiteStore(db, lease_ttl=lease_ttl)
        async with store.lock("c-1"):
            _mark(held, "held")
            await asyncio.sleep(3600)

    asyncio.run(main())


def _mark(log: str, line: str) -> None:
    with open(log, "a") as f:
        f.write(line + "\n")
        f.flush()
