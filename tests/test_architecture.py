"""The house rules of docs/architecture.md, checked on the source itself.

- No import cycles between modules (imports under ``TYPE_CHECKING`` and inside functions count).
- Layers only point down: vocabulary -> components -> engine -> agent -> evals / cli / chat.
- No private name (``_x``) of one package used from another; a subpackage's private modules are
  its own (the root's ``resolvekit._x`` helpers are shared by the whole library).
- No module over 600 lines.
- Tests import private modules only when the test file says it is about internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "resolvekit"

LAYERS: dict[str, int] = {
    # 0: vocabulary (and the root's shared helpers)
    "resolvekit.exceptions": 0,
    "resolvekit.messages": 0,
    "resolvekit.specs": 0,
    "resolvekit.intents": 0,
    "resolvekit.results": 0,
    "resolvekit.handoffs": 0,
    "resolvekit.phrases": 0,
    "resolvekit.redaction": 0,
    "resolvekit.sessions.conversation": 0,
    "resolvekit._json": 0,
    "resolvekit._text": 0,
    "resolvekit._lazy": 0,
    "resolvekit._retry": 0,
    "resolvekit.live": 0,
    "resolvekit._meter": 0,
    # 1: components
    "resolvekit.understanding": 1,
    "resolvekit.models": 1,
    "resolvekit.knowledge": 1,
    "resolvekit.sessions": 1,
    "resolvekit.tools": 1,
    "resolvekit.toolsets": 1,
    "resolvekit.connect": 1,
    "resolvekit.playbooks": 1,
    "resolvekit.consent": 1,
    "resolvekit.escalation": 1,
    "resolvekit.delivery": 1,
    "resolvekit.helpdesk": 1,
    "resolvekit.repair": 1,
    "resolvekit.registry": 1,
    "resolvekit.approvals": 1,
    "resolvekit.tracing": 1,
    # 2: the turn engine
    "resolvekit.engine": 2,
    # 3: the agent
    "resolvekit.agent": 3,
    "resolvekit.approval_desk": 3,
    # the HTTP service sits beside the agent (Agent.to_asgi builds it; it reads the agent
    # through serve.config.ServedAgent, never importing agent.py); its command line uses chat
    "resolvekit.serve": 3,
    "resolvekit.serve.cli": 4,
    # 4: what uses agents
    "resolvekit.evals": 4,
    "resolvekit.cli": 4,
    "resolvekit.helpdesk_cli": 4,
    "resolvekit.report": 4,
    "resolvekit.chat": 4,
    "resolvekit.connect.server": 4,
    "resolvekit.console": 4,
}
"""Each module's layer: the longest prefix listed decides."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def layer(module: str) -> int:
    best = max((k for k in LAYERS if module == k or module.startswith(k + ".")), key=len)
    return LAYERS[best]


def package_of(module: str) -> str:
    """The package a module belongs to: its parent for modules, itself for packages."""
    return module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def imports(module: str) -> list[tuple[str, str, int]]:
    """``(target module, imported name, line)`` for every import of ``module`` into the package,
    wherever it is (TYPE_CHECKING blocks and function bodies included)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(module).split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if candidate in MODULES:
                    found.append((candidate, "", node.lineno))
                elif target in MODULES:
                    found.append((target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, "", node.lineno) for a in node.names if a.name in MODULES]
    return found


def graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in imports(m) if t != m} for m in MODULES}


def test_there_are_no_import_cycles() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in MODULES:
        if v not in index:
            connect(v)
    assert cycles == []


def test_layers_only_point_down() -> None:
    upward = [
        f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})"
        for m in MODULES
        if m != "resolvekit"  # the package's lazy exports name everything
        for t, _, _ in imports(m)
        if t != "resolvekit" and layer(t) > layer(m)
    ]
    assert upward == []


def test_no_private_name_is_used_across_packages() -> None:
    crossing = []
    for m in MODULES:
        home = package_of(m)
        for target, name, line in imports(m):
            target_home = package_of(target)
            private_module = any(p.startswith("_") for p in target.split(".")[1:])
            shared_root_helper = target.count(".") == 1 and private_module
            if name.startswith("_") and not name.startswith("__") and target_home != home:
                crossing.append(f"{m}:{line} imports {target}.{name}")
            elif (
                private_module
                and not shared_root_helper
                and target_home != home
                and not target.startswith(home + ".")
                and not home.startswith(target_home)
            ):
                crossing.append(f"{m}:{line} imports the private module {target}")
    assert crossing == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_600_lines(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= 600, f"{module} has {lines} lines"


def test_tests_use_private_modules_only_when_about_internals() -> None:
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        private = [
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("resolvekit")
            and (
                any(p.startswith("_") for p in node.module.split(".")[1:])
                or any(a.name.startswith("_") for a in node.names)
            )
        ]
        docstring = ast.get_docstring(tree) or ""
        if private and "about internals" not in docstring.lower():
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(set(private))}")
    assert offenders == []
