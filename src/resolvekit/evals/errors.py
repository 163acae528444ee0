"""Errors of the eval suites; all are :class:`~resolvekit.exceptions.UserError` subclasses."""

from __future__ import annotations

from ..exceptions import UserError

__all__ = ["ReportError", "ScenarioError", "SuiteNotFound"]


class ScenarioError(UserError):
    """A scenario (Python, JSON or YAML) is invalid; the message names the scenario and field."""


class SuiteNotFound(UserError):
    """An eval suite could not be found or does not expose a ``Suite``."""


class ReportError(UserError):
    """A JSON report or a results file could not be read."""
