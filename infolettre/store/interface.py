"""``Connection``: what the store needs of a database connection, whichever the engine.

Its own module, below ``schema`` (whose migrations run over it) and the engines'
connections (``connection.SQLiteConnection``, ``postgres.PostgresConnection``),
which implement it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["Connection"]


class Connection(Protocol):
    """What the store needs of a database connection, whichever the engine."""

    #: ``"sqlite"`` or ``"postgresql"``: for the rare statement that differs.
    dialect: str
    #: Held for the length of a write transaction by the threads of one process.
    write_lock: Any

    def execute(self, sql: str, parameters: Any = ..., /) -> Any:
        """Run one statement (``?`` placeholders); a cursor."""

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any:
        """Run one statement for each parameter tuple; a cursor whose ``rowcount``
        is the sum."""

    def close(self) -> None:
        """Close the connection."""

    def transaction(self) -> AbstractContextManager[Any]:
        """All or nothing: commit at the end of the block, roll back on an exception."""

    def schema_version(self) -> int:
        """The version of the tables (0: an empty database)."""

    def set_schema_version(self, version: int) -> None:
        """Record the version of the tables (inside the migrating transaction)."""

    def ddl(self, statement: str) -> str:
        """A ``CREATE``/``ALTER`` of ``schema`` in this engine's types."""

    def serialise(self, name: str) -> None:
        """Inside a transaction: wait until no other transaction holding ``name`` runs
        (campaign set-up, migrations). SQLite's write transactions are serial already."""

    def forget(self) -> None:
        """After an erasure: leave no copy of erased rows in the engine's own files."""
