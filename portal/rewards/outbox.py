"""How rewards plug in: the reward e-mail as an outbox kind, the sweeps as a periodic job,
the "joins" trigger as a listener of portal.invites.hooks and the "approved" one of
portal.applications.hooks."""

from __future__ import annotations

from portal.applications import hooks as application_hooks
from portal.delivery.registry import MessageKind, PeriodicJob, Registry
from portal.invites import hooks
from portal.rewards.ledger import on_application_approved, on_invitation_accepted, sweep
from portal.rewards.mail import render_reward_email


def register(registry: Registry) -> None:
    registry.add_kind(
        MessageKind(channel="email", topic="reward_issued", render=render_reward_email)
    )
    registry.add_job(PeriodicJob("referral rewards", "SWEEP_INTERVAL_SECONDS", sweep))
    hooks.on_accepted(on_invitation_accepted)
    application_hooks.on_approved(on_application_approved)
