"""Idempotency-Key: the first successful answer to a request, replayed for 24 hours.

A client that retries after a timeout sends the same key and body and gets the same answer
without a second invitation (or e-mail). The same key with another body is a client bug and
is refused. Only successful answers are kept: a refused request changed nothing, so retrying
it (say, after an admin turned invitations on) may rightly give another answer.

Plain functions over a session: no Flask, no commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from portal import sealing
from portal.errors import Invalid
from portal.models import IdempotencyRecord

WINDOW = timedelta(hours=24)
MAX_KEY = 200


class IdempotencyKeyReused(Invalid):
    code = "idempotency_key_reused"
    title = "Idempotency key reused"
    meaning = "The Idempotency-Key was used in the last 24 hours for a different body."


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)  # those a replay repeats (Location)


def check_key(key: str) -> str:
    if not key.strip() or len(key) > MAX_KEY or not key.isprintable():
        raise Invalid(
            f"An Idempotency-Key is 1 to {MAX_KEY} printable characters, such as a UUID.",
            field="Idempotency-Key",
        )
    return key


def request_hash(operation: str, body: dict[str, Any]) -> str:
    """The same JSON, however it is spaced or ordered, is the same request."""
    canonical = json.dumps([operation, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def find(session: Session, token_id: int, key: str, req_hash: str, now: datetime) -> Answer | None:
    """The answer to replay for this key, None for a new key, or IdempotencyKeyReused."""
    record = session.exec(
        select(IdempotencyRecord).where(
            IdempotencyRecord.token_id == token_id, IdempotencyRecord.key == key
        )
    ).first()
    if record is None:
        return None
    if record.created_at <= now - WINDOW:
        session.delete(record)  # past its window: the key is free again
        session.flush()
        return None
    if record.request_hash != req_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request in the last 24 hours. "
            "Use a new key for each new request.",
            field="Idempotency-Key",
        )
    stored = record.response_body
    body = dict(stored["body"])
    body.update({name: sealing.unseal(value) for name, value in stored["sealed"].items()})
    return Answer(record.response_status, body, stored.get("headers", {}))


def remember(
    session: Session,
    token_id: int,
    key: str,
    req_hash: str,
    answer: Answer,
    now: datetime,
    secret_fields: tuple[str, ...] = (),
) -> None:
    """Keep the answer; fields carrying secrets are sealed, never stored in the clear."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.token_id == token_id, IdempotencyRecord.created_at <= now - WINDOW
        )
    )
    body = answer.body
    plain = {name: value for name, value in body.items() if name not in secret_fields}
    sealed = {name: sealing.seal(body[name]) for name in secret_fields if name in body}
    session.add(
        IdempotencyRecord(
            token_id=token_id,
            key=key,
            request_hash=req_hash,
            response_status=answer.status,
            response_body={"body": plain, "sealed": sealed, "headers": answer.headers},
            created_at=now,
        )
    )
    session.flush()  # a concurrent request with the same key loses here, on the unique index


def purge(session: Session, now: datetime) -> None:
    """Forget every answer past the window (a periodic job): replayable answers can carry a
    sealed link, so they are kept no longer than needed."""
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - WINDOW))
