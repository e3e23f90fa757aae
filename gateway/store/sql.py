"""What the store's modules share about their SQLite connections.

- `translated`: a class decorator making every public method of a store class raise
  `StoreError` (naming the file and what was being done) instead of `sqlite3.Error`, so that no
  module outside `gateway/store/` knows the store is SQLite or has to catch its errors.
- `Access`: what a concern's facade (sink cursors, sequence repair) needs of its `Store`: the
  connection, the lock it shares with ingest and the web threads, and the two ways to use them
  (a durable write transaction, a consistent read snapshot).
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gateway.errors import StoreError

T = TypeVar("T")
C = TypeVar("C", bound=type)


def _failure(self: object, name: str, exc: sqlite3.Error) -> StoreError:
    where = getattr(self, "path", None) or type(self).__name__
    return StoreError(f"{where}: {name.strip('_').replace('_', ' ')} failed: {exc}")


def _wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(self: object, *args: Any, **kw: Any) -> Iterator[Any]:
            try:
                yield from fn(self, *args, **kw)
            except sqlite3.Error as exc:
                raise _failure(self, name, exc) from exc
        return gen

    @functools.wraps(fn)
    def call(self: object, *args: Any, **kw: Any) -> Any:
        try:
            return fn(self, *args, **kw)
        except sqlite3.Error as exc:
            raise _failure(self, name, exc) from exc
    return call


def translated(cls: C) -> C:
    """Every public method of `cls` (and `__init__`) raises StoreError for a database error."""
    for name, member in list(vars(cls).items()):
        if inspect.isfunction(member) and (not name.startswith("_") or name == "__init__"):
            setattr(cls, name, _wrap(name, member))
    return cls


@dataclass(frozen=True)
class Access:
    db: sqlite3.Connection
    lock: threading.Lock
    path: Path

    def write(self, what: str, fn: Callable[[], T]) -> T:
        """`fn` in one durable transaction under the store's lock."""
        try:
            with self.lock, self.db:
                self.db.execute("BEGIN IMMEDIATE")
                return fn()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {what} failed: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction under the store's lock: figures read by several statements
        agree with each other."""
        with self.lock:
            try:
                self.db.execute("BEGIN")
                try:
                    yield self.db
                finally:
                    self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: reading failed: {exc}") from exc
