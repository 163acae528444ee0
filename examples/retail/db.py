"""The τ²-bench retail database as typed models: products, users, orders.

Loaded from the published ``db.json`` (read-only, never copied into the repo), deep-copyable for
isolated runs, and dumped canonically (sorted keys, optional fields left out when unset) so two
databases can be compared for equality and diffed::

    db = load_db()                    # RESOLVEKIT_TAU2_DATA or ../shared/data/tau2_retail
    work = db.copy()
    ...
    assert work.digest() == expected.digest(), diff_dbs(work, expected)
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DATA_ENV",
    "Address",
    "CreditCard",
    "DataMissing",
    "Fulfillment",
    "GiftCard",
    "Name",
    "Order",
    "OrderItem",
    "Payment",
    "PaymentMethod",
    "Paypal",
    "Product",
    "RetailDB",
    "User",
    "Variant",
    "data_dir",
    "diff_dbs",
    "load_db",
]

DATA_ENV = "RESOLVEKIT_TAU2_DATA"
"""Environment variable naming the folder with ``db.json``, ``policy.md``, ``tasks_train.json``."""


class DataMissing(FileNotFoundError):
    """The τ²-bench retail data folder (or one of its files) is not there."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Variant(_Model):
    """One buyable version of a product (an *item*)."""

    item_id: str
    options: dict[str, str]
    available: bool
    price: float


class Product(_Model):
    """A type of product with its variants (item id -> variant)."""

    name: str
    product_id: str
    variants: dict[str, Variant]


class Name(_Model):
    first_name: str
    last_name: str


class Address(_Model):
    address1: str
    address2: str
    city: str
    country: str
    state: str
    zip: str


class CreditCard(_Model):
    source: Literal["credit_card"]
    id: str
    brand: str
    last_four: str


class GiftCard(_Model):
    source: Literal["gift_card"]
    id: str
    balance: float


class Paypal(_Model):
    source: Literal["paypal"]
    id: str


PaymentMethod = Annotated[CreditCard | GiftCard | Paypal, Field(discriminator="source")]


class User(_Model):
    user_id: str
    name: Name
    address: Address
    email: str
    payment_methods: dict[str, PaymentMethod]
    orders: list[str]


class OrderItem(_Model):
    name: str
    product_id: str
    item_id: str
    price: float
    options: dict[str, str]


class Fulfillment(_Model):
    tracking_id: list[str]
    item_ids: list[str]


class Payment(_Model):
    transaction_type: Literal["payment", "refund"]
    amount: float
    payment_method_id: str


class Order(_Model):
    """An order; the optional fields appear once an action set them."""

    order_id: str
    user_id: str
    address: Address
    items: list[OrderItem]
    status: str
    fulfillments: list[Fulfillment]
    payment_history: list[Payment]
    cancel_reason: str | None = None
    return_items: list[str] | None = None
    return_payment_method_id: str | None = None
    exchange_items: list[str] | None = None
    exchange_new_items: list[str] | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: float | None = None


class RetailDB(_Model):
    """The whole retail backend: products, users and orders by id."""

    products: dict[str, Product]
    users: dict[str, User]
    orders: dict[str, Order]

    def copy(self) -> RetailDB:  # type: ignore[override]
        """An independent deep copy (actions on it never touch this one)."""
        # A JSON round trip is about twice as fast as copy.deepcopy on these models.
        return RetailDB.model_validate_json(self.model_dump_json())

    def dump(self) -> dict[str, Any]:
        """The database as JSON data, unset optional fields left out (the ``db.json`` shape)."""
        return self.model_dump(mode="json", exclude_none=True)

    def canonical_json(self) -> str:
        """Sorted-key compact JSON of :meth:`dump`: equal databases give equal strings."""
        return json.dumps(self.dump(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def data_dir(path: str | Path | None = None) -> Path:
    """The data folder: ``path``, else ``$RESOLVEKIT_TAU2_DATA``, else the shared data folder.

    Raises:
        DataMissing: the folder does not exist.
    """
    if path is None:
        env = os.environ.get(DATA_ENV)
        path = (
            Path(env)
            if env
            else Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "tau2_retail"
        )
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise DataMissing(
            f"τ²-bench retail data not found at {folder}; set {DATA_ENV} to the folder "
            f"holding db.json, policy.md and tasks_train.json"
        )
    return folder


@lru_cache(maxsize=4)
def _pristine(path: Path, mtime: float) -> RetailDB:
    return RetailDB.model_validate_json(path.read_bytes())


def load_db(path: str | Path | None = None) -> RetailDB:
    """A fresh copy of the retail database.

    Args:
        path: ``db.json`` itself or the folder holding it (default: :func:`data_dir`).

    Raises:
        DataMissing: no such file.
    """
    target = Path(path) if path is not None else data_dir() / "db.json"
    if target.is_dir():
        target = target / "db.json"
    if not target.is_file():
        raise DataMissing(f"no retail database at {target}")
    return _pristine(target.resolve(), target.stat().st_mtime).copy()


def diff_dbs(left: RetailDB, right: RetailDB, *, limit: int = 50) -> list[str]:
    """Where two databases differ, as ``path: left != right`` lines (at most ``limit``)."""
    out: list[str] = []
    _diff(left.dump(), right.dump(), "", out, limit)
    return out


def _diff(a: Any, b: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else str(key)
            if key not in a:
                out.append(f"{where}: (missing) != {json.dumps(b[key])[:120]}")
            elif key not in b:
                out.append(f"{where}: {json.dumps(a[key])[:120]} != (missing)")
            else:
                _diff(a[key], b[key], where, out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{index}]", out, limit)
    elif a != b:
        out.append(f"{path}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}")
