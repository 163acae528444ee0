"""resolvekit: agentic customer-service resolution (work in progress: see the issues)."""

__version__ = "0.1.0"
