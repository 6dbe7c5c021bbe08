"""One engine per app, one session per request (kept on `g`), closed at teardown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, create_engine

from portal.audit import service as audit
from portal.extensions import client_ip


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL lets the worker thread write while pages read.
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL stays consistent after a crash and skips an fsync per commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def init_app(app: Flask) -> None:
    app.extensions["portal.engine"] = make_engine(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["portal.engine"]


def get_session() -> Session:
    """The request's session. Views commit once; anything uncommitted is rolled back."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
        if has_request_context():
            # The unit of work carries where its changes come from, for the audit log:
            # services take the session, never the request.
            audit.set_context(g.db_session, ip=client_ip(), channel="web")
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


T = TypeVar("T")


def commit_once_more_on_conflict(session: Session, operation: Callable[[], T]) -> T:
    """Run `operation` and commit. When a concurrent request won a unique index first, roll
    back and run it again: the second run sees the winner and answers with the right domain
    error (already used, already invited…) instead of a 500."""
    try:
        result = operation()
        session.commit()
    except IntegrityError:
        session.rollback()
        result = operation()
        session.commit()
    return result
