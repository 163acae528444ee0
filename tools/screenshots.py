"""Retake the chat widget's and the console's screenshots in ``docs/images`` from its browser tests.

    .venv/bin/python tools/screenshots.py

Runs ``tests/serve/test_widget_browser.py``'s cancel-and-handoff and human-reply tests in
headless Chromium (Debian's ``/usr/bin/chromium``; see ``tools/setup_browser.sh``) with
``RESOLVEKIT_SCREENSHOTS`` set, so the pictures show exactly what the tests checked:
``widget-confirm.png`` (the confirmation buttons), ``widget-handoff.png`` (the human banner) and
``widget-human-reply.png`` (a human agent's reply, shown live); and the console's browser tests
for ``console-*.png``. Exits with pytest's status.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/serve/test_widget_browser.py"
    "::test_cancel_an_order_with_the_confirmation_button_then_a_handoff",
    "tests/serve/test_widget_browser.py"
    "::test_a_human_agents_reply_shows_live_and_the_hand_back_clears_the_banner",
    "tests/console/test_console_browser.py",
]


def main() -> int:
    env = dict(os.environ, RESOLVEKIT_SCREENSHOTS=str(ROOT / "docs" / "images"), CI="1")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")] if p
    )
    command = [sys.executable, "-m", "pytest", *TESTS, "-q", "-p", "no:randomly"]
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    if status == 0:
        print(f"screenshots written to {ROOT / 'docs' / 'images'}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
