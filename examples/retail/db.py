"""The τ²-bench retail database as typed models: products, users, orders.

Loaded from the published ``db.json`` (read-only, never copied into the repo), deep-copyable for
isolated runs, and dumped canonically (sorted keys, optional fields left out when unset) so two
databases can be compared for equality and diffed::

    db = load_db()                    # RESOLVEKIT_TAU2_DATA or ../shared/data/tau2_retail
    work = db.copy()
    ...
    assert work.digest() == expected.digest(), diff_dbs(work, expected)

Evals play hundreds of conversations on the same database: :meth:`RetailDB.fork` makes a
copy-on-write copy in microseconds (a record is copied when first fetched by id), and
:class:`ForkDumper` dumps a fork by reusing the original's dump for every record the fork never
fetched.
"""

from __future__ import annotations

import copy as _copy
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DATA_ENV",
    "Address",
    "CreditCard",
    "DataMissing",
    "ForkDumper",
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

    def __repr__(self) -> str:
        # The default would print every record (2.8 MB, seconds of work): a repr of anything
        # holding the database, e.g. a task or a tool context in a log line, would stall.
        return (
            f"RetailDB(products={len(self.products)}, users={len(self.users)}, "
            f"orders={len(self.orders)})"
        )

    def copy(self) -> RetailDB:  # type: ignore[override]
        """An independent deep copy (actions on it never touch this one)."""
        # A JSON round trip is about twice as fast as copy.deepcopy on these models.
        return RetailDB.model_validate_json(self.model_dump_json())

    def fork(self) -> RetailDB:
        """A copy-on-write copy, made in microseconds: what an eval conversation plays on.

        Each table of the fork starts as a shallow copy of this one's. A record is deep-copied
        into the fork the first time it is fetched by id (``fork.orders[id]``,
        ``fork.orders.get(id)``), and a record set or removed belongs to the fork, so changes
        made through the fork never reach this database. Records reached by iterating a table
        (``items()``, ``values()``) are this database's, shared: read them, never change them.
        Every action of :mod:`examples.retail.tools` fetches a record by id before changing it.

        This database must not change while forks of it are in use.
        """
        return RetailDB.model_construct(
            products=_ForkedTable(self.products),
            users=_ForkedTable(self.users),
            orders=_ForkedTable(self.orders),
        )

    def dump(self) -> dict[str, Any]:
        """The database as JSON data, unset optional fields left out (the ``db.json`` shape)."""
        return self.model_dump(mode="json", exclude_none=True)

    def canonical_json(self) -> str:
        """Sorted-key compact JSON of :meth:`dump`: equal databases give equal strings."""
        return json.dumps(self.dump(), sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        """SHA-256 of :meth:`canonical_json`."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


_TABLES = ("products", "users", "orders")
_R = TypeVar("_R", bound=BaseModel)
_set = object.__setattr__


def _clone(value: Any) -> Any:
    """A deep copy of a record without validation (it is valid already): new models, dicts and
    lists; strings and numbers shared. About twice as fast as ``copy.deepcopy``."""
    kind: Any = type(value)
    if kind is dict:
        return {key: _clone(item) for key, item in value.items()}
    if kind is list:
        return [_clone(item) for item in value]
    if isinstance(value, BaseModel):
        new = object.__new__(kind)
        _set(new, "__dict__", {key: _clone(item) for key, item in value.__dict__.items()})
        _set(new, "__pydantic_fields_set__", set(value.__pydantic_fields_set__))
        _set(new, "__pydantic_extra__", _clone(value.__pydantic_extra__))
        _set(new, "__pydantic_private__", _clone(value.__pydantic_private__))
        return new
    if value is None or kind in (str, int, float, bool):
        return value
    return _copy.deepcopy(value)


class _ForkedTable(dict[str, _R]):
    """A table of a :meth:`RetailDB.fork`: a shallow copy of the original table that copies a
    record the first time it is fetched by id."""

    __slots__ = ("origin", "owned")

    def __init__(self, origin: dict[str, _R]) -> None:
        super().__init__(origin)
        self.origin = origin
        """The table this one was forked from."""
        self.owned: set[str] = set()
        """Ids whose entry belongs to this table (copied on fetch, set or removed here); every
        other entry is still the origin's record."""

    def _fetch(self, key: str) -> _R:
        record = dict.__getitem__(self, key)
        if key not in self.owned:
            record = _clone(record)
            dict.__setitem__(self, key, record)
            self.owned.add(key)
        return record

    def __getitem__(self, key: str) -> _R:
        return self._fetch(key)

    def get(self, key: str, default: Any = None, /) -> Any:
        return self._fetch(key) if key in self else default

    def __setitem__(self, key: str, value: _R) -> None:
        self.owned.add(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: str) -> None:
        self.owned.add(key)
        dict.__delitem__(self, key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            record = self._fetch(key)
            dict.__delitem__(self, key)
            return record
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, _R]:
        key = next(reversed(self))
        return key, self.pop(key)

    def setdefault(self, key: str, default: Any = None, /) -> Any:
        if key in self:
            return self._fetch(key)
        self[key] = default
        return default

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def clear(self) -> None:
        self.owned.update(self)
        dict.clear(self)

    def __ior__(self, other: Any) -> _ForkedTable[_R]:  # type: ignore[override,misc]
        self.update(other)
        return self

    def copy(self) -> dict[str, _R]:
        """A plain dict of this table's records, each fetched (so copied) first."""
        return {key: self._fetch(key) for key in list(self)}


class ForkDumper:
    """``RetailDB.dump()`` for forks of one database, in time proportional to what they fetched.

    A record a fork never fetched by id is the original's, so its dump is taken from the
    original's dump (computed once, on first use, and shared: the returned data must only be
    read). Equal to ``fork.dump()`` for any fork of ``origin``; a database that is not a fork of
    ``origin`` is dumped in full. ``origin`` must not change once this dumper is used.
    """

    def __init__(self, origin: RetailDB) -> None:
        self.origin = origin
        self._base: dict[str, Any] | None = None

    @property
    def base(self) -> dict[str, Any]:
        """``origin.dump()``, computed on first use."""
        if self._base is None:
            self._base = self.origin.dump()
        return self._base

    def __call__(self, db: RetailDB) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in _TABLES:
            table: Mapping[str, BaseModel] = getattr(db, name)
            origin = getattr(self.origin, name)
            if isinstance(table, _ForkedTable) and table.origin is origin:
                out[name] = self._table(table, self.base[name])
            else:
                out[name] = {key: _dump(record) for key, record in table.items()}
        return out

    @staticmethod
    def _table(table: _ForkedTable[Any], base: dict[str, Any]) -> dict[str, Any]:
        if not table.owned:
            return base
        if len(table) == len(base) and all(key in base for key in table.owned):
            rows = dict(base)  # same keys in the same order: replace the owned entries
            for key in table.owned:
                rows[key] = _dump(dict.__getitem__(table, key))
            return rows
        return {  # records added or removed: rebuild in the fork's own order
            key: _dump(record) if key in table.owned else base[key] for key, record in _items(table)
        }


def _dump(record: BaseModel) -> Any:
    return record.model_dump(mode="json", exclude_none=True)


def _items(table: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    return dict.items(table)


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
