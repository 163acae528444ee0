"""Load the public intent data sets the benchmarks use (read-only, never copied into the repo).

The data folder is ``$RESOLVEKIT_DATA`` when set, else ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

__all__ = ["banking77", "clinc150", "data_dir", "require"]


def data_dir() -> Path:
    """Folder holding ``banking77/``, ``clinc150/``, ..."""
    env = os.environ.get("RESOLVEKIT_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def require(*names: str) -> None:
    """Exit with a clear message when a data set is missing."""
    missing = [n for n in names if not (data_dir() / n).is_dir()]
    if missing:
        print(
            f"SKIPPED: data set(s) {', '.join(missing)} not found under {data_dir()} "
            "(set RESOLVEKIT_DATA to the folder holding them)"
        )
        sys.exit(0)


def banking77(split: str) -> tuple[list[str], list[str]]:
    """BANKING77 ``train`` or ``test``: (texts, categories)."""
    with (data_dir() / "banking77" / f"{split}.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def clinc150() -> dict[str, tuple[list[str], list[str]]]:
    """CLINC150 ``data_full.json``: split name -> (texts, labels); OOS splits are labelled "oos"."""
    raw = json.loads((data_dir() / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    return {k: ([t for t, _ in v], [label for _, label in v]) for k, v in raw.items()}
