"""The HTTP service: an agent behind a small JSON + Server-Sent Events API
(``pip install resolvekit[serve]``; see ``docs/serving.md``).

::

    app = agent.to_asgi(api_keys=["..."])          # or resolvekit.serve.create_app(agent, ...)
    # uvicorn my_app:app --host 127.0.0.1 --port 8000
    # or: resolvekit serve my_app.py:agent --api-key ... --workers 4

Routes: ``POST /v1/customers/{id}/messages`` (one turn, JSON), ``.../messages/stream`` (the same
as Server-Sent Events), ``GET .../conversation``, ``.../handoff``, ``.../trace``,
``POST /v1/handoffs/resume``, ``/healthz``, ``/readyz``, and the web chat at ``/widget.js`` and
``/demo``.
"""

from __future__ import annotations

from .app import create_app
from .config import Authorize, ServeConfig, ServedAgent
from .errors import ApiError
from .stream import EVENTS

__all__ = ["EVENTS", "ApiError", "Authorize", "ServeConfig", "ServedAgent", "create_app"]
