"""A small shop as an HTTP API with an OpenAPI document (Starlette under uvicorn), for the
connector tests. Run: ``python http_shop.py STATE.json PORT``.

Writes honour ``Idempotency-Key``; the state file keeps orders, writes and keys across a
server killed and started again.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

STATE = Path(sys.argv[1])
ORDER = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string"},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["id", "status"],
}
DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "shop", "version": "1"},
    "servers": [{"url": "/api"}],
    "components": {"schemas": {"Order": ORDER}},
    "paths": {
        "/orders/{order_id}": {
            "parameters": [
                {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "operationId": "get_order",
                "summary": "Status and notes of an order.",
                "responses": {
                    "200": {
                        "description": "the order",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Order"}}
                        },
                    }
                },
            },
        },
        "/orders/{order_id}/cancel": {
            "post": {
                "operationId": "cancel_order",
                "summary": "Cancel a pending order.",
                "parameters": [
                    {"name": "order_id", "in": "path", "required": True,
                     "schema": {"type": "string"}},
                    {"name": "Idempotency-Key", "in": "header", "required": False,
                     "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"reason": {
                            "type": "string", "enum": ["no longer needed", "crash after write"]}},
                        "required": ["reason"],
                    }}},
                },
                "responses": {"200": {"description": "the order", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}},
            }
        },
        "/orders/{order_id}/notes": {
            "post": {
                "operationId": "add_note",
                "summary": "Add a note to an order.",
                "parameters": [{"name": "order_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"text": {"type": "string"}},
                    "required": ["text"]}}}},
                "responses": {"200": {"description": "the order"}},
            }
        },
        "/slow": {"get": {"operationId": "slow", "parameters": [
            {"name": "seconds", "in": "query", "required": True, "schema": {"type": "number"}}],
            "responses": {"200": {"description": "ok"}}}},
        "/busy": {"get": {"operationId": "busy", "responses": {"200": {"description": "ok"}}}},
        "/broken": {"get": {"operationId": "broken", "responses": {"200": {"description": "ok"}}}},
        "/huge": {"get": {"operationId": "huge", "responses": {"200": {"description": "ok"}}}},
        "/garbage": {"get": {"operationId": "garbage",
                             "responses": {"200": {"description": "ok"}}}},
        "/liar": {"get": {"operationId": "liar", "responses": {"200": {"description": "x",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}}}}},
        "/writes": {"get": {"operationId": "count_writes", "responses": {"200": {
            "description": "how many writes", "content": {"application/json": {
                "schema": {"type": "integer"}}}}}}},
        "/whoami": {"get": {"operationId": "whoami", "responses": {"200": {"description": "x"}}}},
    },
}  # fmt: skip
busy_calls = {"n": 0}


def load() -> dict[str, Any]:
    if not STATE.exists():
        save({"orders": {"W1": {"id": "W1", "status": "pending", "notes": []}}, "writes": []})
    return dict(json.loads(STATE.read_text()))


def save(data: dict[str, Any]) -> None:
    tmp = STATE.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, STATE)


async def openapi(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


async def get_order(request: Request) -> Response:
    order = load()["orders"].get(request.path_params["order_id"])
    if order is None:
        return JSONResponse({"detail": "Order not found"}, status_code=404)
    return JSONResponse(order)


async def write(request: Request, tool: str) -> Response:
    data = load()
    key = request.headers.get("idempotency-key")
    for done in data["writes"]:
        if key and done["key"] == key:
            return JSONResponse(done["result"])
    order = data["orders"].get(request.path_params["order_id"])
    if order is None:
        return JSONResponse({"detail": "Order not found"}, status_code=404)
    body = await request.json()
    if tool == "cancel_order":
        if order["status"] != "pending":
            return JSONResponse({"detail": "Non-pending order cannot be cancelled"}, 409)
        order["status"] = "cancelled"
        crash = body["reason"] == "crash after write"
    else:
        order["notes"].append(body["text"])
        crash = body["text"] == "crash after write"
    data["writes"].append({"tool": tool, "key": key, "result": order})
    save(data)
    if crash:
        os._exit(1)  # the kill point: the write is in, the answer never leaves
    return JSONResponse(order)


async def cancel_order(request: Request) -> Response:
    return await write(request, "cancel_order")


async def add_note(request: Request) -> Response:
    return await write(request, "add_note")


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params["seconds"]))
    return JSONResponse("awake")


async def busy(request: Request) -> Response:
    busy_calls["n"] += 1
    if busy_calls["n"] % 2:
        return JSONResponse({"detail": "slow down"}, 429, headers={"Retry-After": "0.2"})
    return JSONResponse({"calls": busy_calls["n"]})


async def broken(request: Request) -> Response:
    return JSONResponse({"detail": "boom"}, status_code=500)


async def huge(request: Request) -> Response:
    return JSONResponse({"blob": "x" * 200_000})


async def garbage(request: Request) -> Response:
    return Response('{"not": json', media_type="application/json")


async def liar(request: Request) -> Response:
    return JSONResponse({"id": 7})


async def count_writes(request: Request) -> Response:
    return JSONResponse(len(load()["writes"]))


async def whoami(request: Request) -> Response:
    return JSONResponse({"authorization": request.headers.get("authorization")})


app = Starlette(
    routes=[
        Route("/openapi.json", openapi),
        Route("/api/orders/{order_id}", get_order),
        Route("/api/orders/{order_id}/cancel", cancel_order, methods=["POST"]),
        Route("/api/orders/{order_id}/notes", add_note, methods=["POST"]),
        Route("/api/slow", slow),
        Route("/api/busy", busy),
        Route("/api/broken", broken),
        Route("/api/huge", huge),
        Route("/api/garbage", garbage),
        Route("/api/liar", liar),
        Route("/api/writes", count_writes),
        Route("/api/whoami", whoami),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
