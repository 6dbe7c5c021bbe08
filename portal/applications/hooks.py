"""What other capabilities hear about applications, without applications importing them
(the rewards' "approved" trigger listens here, as it listens to portal.invites.hooks).

A listener runs inside the deciding transaction: what it writes commits or rolls back with
the decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from portal.models import Invitation, Member, MembershipApplication


@dataclass(frozen=True)
class Approved:
    session: Session
    application: MembershipApplication
    member: Member
    invitation: Invitation | None  # None: joined through open registration
    now: datetime


Listener = Callable[[Approved], None]

# Module-level because services have no app; registering is idempotent (tests build many apps).
_approved: list[Listener] = []


def on_approved(listener: Listener) -> None:
    if listener not in _approved:
        _approved.append(listener)


def application_approved(event: Approved) -> None:
    for listener in _approved:
        listener(event)
