"""Counting the SQL statements a piece of code runs (query budgets, never timings)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

DATA_STATEMENTS = ("SELECT", "UPDATE", "INSERT", "DELETE")


@contextmanager
def count_queries(engine: Engine) -> Iterator[list[str]]:
    """Yields the list the statements run on `engine` are appended to: those that read or
    write data, not transaction control (a test's savepoints are no query of the code's)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith(DATA_STATEMENTS):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
