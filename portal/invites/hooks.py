"""What other capabilities hear about invitations, without invites importing them.

A listener registered from create_app (`on_accepted`) runs inside the accepting
transaction, so whatever it writes (a reward grant, say) commits or rolls back with the
new member. A listener that raises stops the join: listeners refuse nothing, they record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from portal.models import Invitation, Member


@dataclass(frozen=True)
class Accepted:
    """An invitation was accepted: `member` joined through `invitation`."""

    session: Session
    invitation: Invitation
    member: Member
    now: datetime
    # SHA-256 of the joining browser's device cookie, when it had one (portal/rewards).
    device_digest: str | None = None


Listener = Callable[[Accepted], None]

# Module-level because services have no app; registering is idempotent, as tests build
# many apps in one process.
_accepted: list[Listener] = []


def on_accepted(listener: Listener) -> None:
    if listener not in _accepted:
        _accepted.append(listener)


def invitation_accepted(event: Accepted) -> None:
    for listener in _accepted:
        listener(event)
