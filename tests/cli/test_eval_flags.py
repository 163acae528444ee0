"""Unknown --KEY VALUE flags of `resolvekit eval` become suite options (--tasks, --db...).

About internals: these tests also check private helpers directly
(``resolvekit.evals.cli._suite_flags``).
"""

from __future__ import annotations

import pytest

from resolvekit.cli import main
from resolvekit.evals.cli import _suite_flags
from resolvekit.exceptions import UserError


def test_flags_become_suite_options() -> None:
    assert _suite_flags(["--tasks", "t.json", "--db=db.json", "--max-items", "3"]) == {
        "tasks": "t.json",
        "db": "db.json",
        "max_items": "3",
    }
    with pytest.raises(UserError, match="needs a value"):
        _suite_flags(["--tasks"])
    with pytest.raises(UserError, match="Unexpected argument"):
        _suite_flags(["stray"])


def test_other_commands_still_reject_unknown_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["index", "stats", "somewhere", "--bogus", "x"])
    assert "unrecognized arguments: --bogus x" in capsys.readouterr().err


def test_a_suite_that_takes_no_options_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "demo", "--tasks", "x.json", "--no-progress"]) == 1
    assert "error:" in capsys.readouterr().err
