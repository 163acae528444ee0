"""Test configuration: real model requests are blocked; tests use test doubles."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import resolvekit.models


@pytest.fixture(autouse=True)
def _block_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolvekit.models, "ALLOW_MODEL_REQUESTS", False)


@pytest.fixture(autouse=True)
def _isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the embedding cache of fast tests out of the user's home (slow tests share one)."""
    if "RESOLVEKIT_CACHE_DIR" not in __import__("os").environ:
        monkeypatch.setenv("RESOLVEKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (the ``pgserver`` package) for the whole session; each test
    uses a table of its own. Skipped when ``pgserver`` or psycopg is not installed (the
    ``postgres`` and ``dev`` extras install both)."""
    pytest.importorskip("psycopg")
    server_module = pytest.importorskip("pgserver.postgres_server")
    # Not under pytest's basetemp: as root, pgserver runs the server as another user and opens
    # the folders above its data for it, and a concurrent pytest session resets
    # /tmp/pytest-of-root to 0700, which would lock that server out of its own data.
    pgdata = Path(tempfile.mkdtemp(prefix="resolvekit-pgdata-"))
    server = server_module.get_server(pgdata, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""How the browser tests start Debian's Chromium: headless, and without the background
connections this machine's closed network refuses."""


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Chromium (Debian's ``/usr/bin/chromium``, installed by
    ``tools/setup_browser.sh``) driven by Playwright: a ``playwright.sync_api.Browser``.

    One per test module, not per session: Playwright's sync API keeps an event loop running in
    the main thread while it is open, and pytest-asyncio cannot run the async tests of later
    modules beside it. Async tests and this fixture do not share a module.

    Skipped when Chromium or Playwright is missing, except under ``CI=1`` (``.ci/run``), where
    a missing browser fails the run.

    Module-scoped: Playwright's sync API keeps its event loop running in this thread while it
    is open, so an async test (or ``asyncio.run``) after it would fail; keep browser tests in
    modules of their own, without async tests."""
    import os

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium or Playwright is missing: run tools/setup_browser.sh")
        pytest.skip("Chromium or Playwright is missing: run tools/setup_browser.sh")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
