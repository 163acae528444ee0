"""The HTTP service: an agent behind a small JSON + Server-Sent Events API
(``pip install resolvekit[serve]``; see ``docs/serving.md``).

::

    app = agent.to_asgi(api_keys=["..."])          # or resolvekit.serve.create_app(agent, ...)
    # uvicorn my_app:app --host 127.0.0.1 --port 8000
    # or: resolvekit serve my_app.py:agent --api-key ... --workers 4

Routes: ``POST /v1/customers/{id}/messages`` (one turn, JSON), ``.../messages/stream`` (the same
as Server-Sent Events), ``GET .../messages`` (lines after a cursor, a long poll),
``GET .../conversation``, ``.../handoff``, ``.../trace``,
``POST /v1/handoffs/resume``, ``/healthz``, ``/readyz``, and the web chat at ``/widget.js`` and
``/demo``. Names load lazily, so ``resolvekit --help`` does not import the service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

__all__ = [
    "EVENTS",
    "ApiError",
    "Authorize",
    "ServeConfig",
    "ServedAgent",
    "create_app",
    "customer_token",
    "token_authorize",
]

_EXPORTS: dict[str, str] = {
    "EVENTS": "stream",
    "ApiError": "errors",
    "Authorize": "config",
    "ServeConfig": "config",
    "ServedAgent": "config",
    "create_app": "app",
    "customer_token": "tokens",
    "token_authorize": "tokens",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), list(__all__))

if TYPE_CHECKING:
    from .app import create_app
    from .config import Authorize, ServeConfig, ServedAgent
    from .errors import ApiError
    from .stream import EVENTS
    from .tokens import customer_token, token_authorize
