"""What the outbox engine delivers, filled by each capability's `register(registry)` from
`create_app`, so the worker knows message kinds and periodic jobs without importing them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flask import Flask
from jinja2 import Environment
from sqlmodel import Session

from portal.delivery.errors import DeliveryFailed
from portal.delivery.message import RenderedEmail
from portal.models import OutboxItem

EXTENSION = "portal.delivery"

# What a kind's `prepare` loaded for a batch: opaque to the engine, handed back to `render`.
Prepared = Any
Prepare = Callable[[Session, Sequence[OutboxItem]], Prepared]
Render = Callable[[Session, Environment, OutboxItem, str, "str | None", Prepared], RenderedEmail]
Check = Callable[[Session, OutboxItem], None]
Delivered = Callable[[Flask, Session, OutboxItem, datetime], None]
Failed = Callable[[Flask, Session, OutboxItem, DeliveryFailed, datetime], None]


class Sender(Protocol):
    """A channel the worker keeps open for its life (one pooled HTTP client, say)."""

    def send(self, session: Session, item: OutboxItem) -> int | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class MessageKind:
    """One kind of outbox item: `channel` is the item's kind ("email", "webhook"), `topic`
    its topic, or "*" for every topic on that channel.

    `prepare` runs once per claimed batch with the batch's items of this kind and loads
    what their messages need in a few queries (not a few per item); the worker holds what
    it returns for the batch, so `session.get` finds those rows without a query, and
    passes it to `render`. `check` runs before anything is unsealed and raises Obsolete for
    an item no longer wanted; `render` turns an e-mail item into an e-mail; the hooks
    record the outcome in the capability's own rows, in the same transaction as the
    outbox row."""

    channel: str
    topic: str = "*"
    prepare: Prepare | None = None
    check: Check | None = None
    render: Render | None = None
    on_delivered: Delivered | None = None
    on_failed: Failed | None = None  # failed for now: a retry is scheduled
    on_gave_up: Failed | None = None


@dataclass(frozen=True)
class PeriodicJob:
    """Work the worker runs every `every` seconds (a config key's value, read at start).
    `run` may return how many things it changed, which `Worker.sweep` adds up."""

    name: str
    every: str
    run: Callable[[Session, datetime], int | None]


@dataclass
class Registry:
    kinds: dict[tuple[str, str], MessageKind] = field(default_factory=dict)
    senders: dict[str, Callable[[Flask], Sender]] = field(default_factory=dict)
    jobs: list[PeriodicJob] = field(default_factory=list)

    def add_kind(self, kind: MessageKind) -> None:
        key = (kind.channel, kind.topic)
        if key in self.kinds:
            raise ValueError(f"outbox kind {key} registered twice")
        self.kinds[key] = kind

    def add_sender(self, channel: str, opener: Callable[[Flask], Sender]) -> None:
        self.senders[channel] = opener

    def add_job(self, job: PeriodicJob) -> None:
        self.jobs.append(job)

    def kinds_for(self, item: OutboxItem) -> list[MessageKind]:
        """The kinds an item belongs to: its channel's catch-all first, then its topic's."""
        found = [self.kinds.get((item.kind, "*")), self.kinds.get((item.kind, item.topic))]
        return [kind for kind in found if kind is not None]


def registry_of(app: Any) -> Registry:
    registry: Registry = app.extensions.setdefault(EXTENSION, Registry())
    return registry
