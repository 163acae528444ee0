"""docs/deployment.md's "Guarantees" names the tests that show each guarantee: they must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def guarantees() -> list[str]:
    text = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    section = text.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    return re.split(r"\n(?=\d+\. )", section.split("\n\n", 2)[2].split("\n\nNot promised")[0])


def test_every_guarantee_names_tests_that_exist() -> None:
    items = guarantees()
    assert len(items) >= 12
    for item in items:
        named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", item)
        assert named, f"a guarantee without a test: {item[:80]!r}"
        for path, name in named:
            module = ROOT / path
            assert module.exists(), path
            if name:
                tree = ast.parse(module.read_text(encoding="utf-8"))
                functions = {
                    node.name
                    for node in ast.walk(tree)
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                }
                assert name in functions, f"{path}::{name} does not exist"
