"""Who may do what (DESIGN §4). Views, templates and services ask here and nowhere else.

Each question returns a Decision: truthy when allowed, and otherwise carrying the
reason in words a member can act on, so the 403 page can explain itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, bindparam, false, or_, true
from sqlalchemy.sql.elements import ColumnElement

from portal.errors import NotAllowed
from portal.models import InvitationSettings, Member
from portal.roles import INVITER_LEVEL_EXPLANATIONS, MemberStatus, Role


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    code: str = "not_allowed"

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


class Scoped(Protocol):
    """Anything that lives in an organisation and maybe a unit (an invitation, a unit…)."""

    organization_id: int
    unit_id: int | None


class InviterOwned(Scoped, Protocol):
    inviter_id: int


class Uploaded(Scoped, Protocol):
    created_by_id: int


def require(decision: Decision) -> None:
    if not decision:
        error = NotAllowed(decision.reason)
        error.code = decision.code
        raise error


def _active(actor: Member) -> Decision:
    if actor.status != MemberStatus.ACTIVE:
        return Decision(False, "Your membership is not active yet.")
    return ALLOWED


def _reaches_unit(actor: Member, organization_id: int, unit_id: int | None) -> bool:
    """Tenant-wide roles reach every unit of their organisation; others only their own."""
    if actor.organization_id != organization_id:
        return False
    return actor.role_enum.is_tenant_wide or actor.unit_id == unit_id


def may_send_invitations(
    actor: Member, settings: InvitationSettings, unit_id: int | None = None
) -> Decision:
    """May `actor` invite people (into `unit_id`, default: their own unit)?"""
    if not (active := _active(actor)):
        return active
    if actor.organization_id != settings.organization_id:
        return Decision(False, "You can only invite people to your own organisation.")
    if not settings.enabled:
        return Decision(
            False,
            "Invitations are turned off for your organisation. "
            "An organisation admin can turn them on in Settings → Invitations.",
            code="invitations_disabled",
        )
    if actor.role_enum.level < settings.min_role.level:
        return Decision(
            False,
            f"{INVITER_LEVEL_EXPLANATIONS[settings.min_role]}. "
            f"Your role is {actor.role_enum.label}, so you can't send invitations. "
            "Ask an organisation admin if you think you should.",
        )
    target_unit = actor.unit_id if unit_id is None else unit_id
    if not _reaches_unit(actor, settings.organization_id, target_unit):
        return Decision(False, "You can only invite people into your own unit.")
    return ALLOWED


def may_share_links(actor: Member, settings: InvitationSettings) -> Decision:
    """A personal share link (and more labelled ones): whoever may send invitations, while
    the organisation has share links on. Also asked of a link's owner each time the link is
    opened, so a deactivated owner's links, or those of a role no longer allowed to invite,
    stop working at once."""
    if not (sends := may_send_invitations(actor, settings)):
        return sends
    if not settings.share_links_enabled:
        return Decision(
            False,
            "Personal share links are switched off for your organisation. An organisation "
            "admin can switch them on in Settings → Share links.",
        )
    return ALLOWED


def may_make_campaign_links(actor: Member) -> Decision:
    """Campaign links (a poster, a newsletter): admins, local or organisation-wide."""
    if actor.role_enum not in (Role.ADMIN_LOCAL, Role.ADMIN_TENANT):
        return Decision(False, "Only admins can make campaign links.")
    return ALLOWED


def may_send_bulk(actor: Member, settings: InvitationSettings) -> Decision:
    """Invitations from a CSV file: HR and admins, while they may send invitations."""
    if not (sends := may_send_invitations(actor, settings)):
        return sends
    if actor.role_enum is Role.USER:
        return Decision(
            False,
            "Inviting from a CSV file is for HR and admins. You can invite people one by one "
            "on the Invite page.",
        )
    return ALLOWED


def may_raise_bulk_limit(actor: Member) -> Decision:
    """Raise one's own daily limit for one CSV job (with a confirmation): admins only."""
    if not (active := _active(actor)):
        return active
    if actor.role_enum not in (Role.ADMIN_LOCAL, Role.ADMIN_TENANT):
        return Decision(
            False, "Only admins can raise their daily limit for a file; HR keep theirs."
        )
    return ALLOWED


def may_see_bulk_job(actor: Member, job: Uploaded) -> Decision:
    """A CSV job (its addresses, its outcome): only the member who uploaded it."""
    if not (active := _active(actor)):
        return active
    if job.organization_id != actor.organization_id or job.created_by_id != actor.id:
        return Decision(False, "Only the member who uploaded this file can see it.")
    return ALLOWED


def may_open_invitations(actor: Member, settings: InvitationSettings) -> Decision:
    """The invitations dashboard: whoever may send, and HR and admins even when they may
    not send (invitations off, or a higher minimum level), to see and revoke those in
    their scope."""
    if (sends := may_send_invitations(actor, settings)) or actor.role_enum is Role.USER:
        return sends
    if not (active := _active(actor)):
        return active
    if actor.organization_id != settings.organization_id:
        return sends
    return ALLOWED


def may_manage_settings(actor: Member) -> Decision:
    """Invitation settings, templates, rewards, API tokens, webhooks."""
    if not (active := _active(actor)):
        return active
    if actor.role_enum is not Role.ADMIN_TENANT:
        return Decision(
            False,
            "Only organisation admins can change the organisation's settings. "
            f"Your role is {actor.role_enum.label}.",
        )
    return ALLOWED


def may_read_audit_log(actor: Member) -> Decision:
    """Settings → Audit log and GET /api/v1/audit-events (through the token's owner)."""
    if not (active := _active(actor)):
        return active
    if actor.role_enum is not Role.ADMIN_TENANT:
        return Decision(
            False,
            "Only organisation admins can read the audit log. "
            f"Your role is {actor.role_enum.label}.",
        )
    return ALLOWED


def may_view_analytics(actor: Member) -> Decision:
    """Analytics of the invitations in the unit or organisation the actor oversees."""
    if not (active := _active(actor)):
        return active
    if actor.role_enum is Role.USER:
        return Decision(
            False,
            "Invitation analytics are for HR and admins, who see them for their unit or "
            "organisation. Your own invitations are on the Invite page.",
        )
    return ALLOWED


def may_view_leaderboard(actor: Member, enabled: bool) -> Decision:
    """Top recruiters: every member once the organisation turns it on; HR and admins before
    then too, to see what members would."""
    if not (active := _active(actor)):
        return active
    if not enabled and actor.role_enum is Role.USER:
        return Decision(False, "Your organisation hasn't turned on the top recruiters board.")
    return ALLOWED


# --- visibility: one definition, read as a predicate here and as SQL by the list queries ---

# A reach is the rows of the actor's organisation that match any one of its clauses; a
# clause is column = value conditions ({} matches every row, no clause matches none).
Clause = dict[str, object]
# Which columns each clause compares. Actors of one shape share one SQL statement, built
# once (reach_condition) and given each actor's values as bound parameters (Reach.params):
# building a statement costs more than running it.
Shape = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Reach:
    organization_id: int
    clauses: tuple[Clause, ...]

    def includes(self, row: object) -> bool:
        return getattr(row, "organization_id", None) == self.organization_id and any(
            all(getattr(row, column) == value for column, value in clause.items())
            for clause in self.clauses
        )

    @property
    def shape(self) -> Shape:
        return tuple(tuple(clause) for clause in self.clauses)

    @property
    def params(self) -> dict[str, object]:
        """The values reach_condition(self.shape, …) leaves as parameters."""
        values: dict[str, object] = {"reach_org": self.organization_id}
        for n, clause in enumerate(self.clauses):
            values.update({f"reach_{n}_{column}": value for column, value in clause.items()})
        return values

    def where(self, model: type) -> ColumnElement[bool]:
        """The same reach as a SQL condition on `model`'s columns, values included."""
        return _condition(self.shape, model, lambda name: self.params[name])


def reach_condition(shape: Shape, model: type) -> ColumnElement[bool]:
    """A reach of this shape as SQL on `model`'s columns, its values left as parameters."""
    return _condition(shape, model, bindparam)


def _condition(shape: Shape, model: type, value: Callable[[str], object]) -> ColumnElement[bool]:
    matches = [
        and_(true(), *(getattr(model, name) == value(f"reach_{n}_{name}") for name in columns))
        for n, columns in enumerate(shape)
    ]
    return and_(model.organization_id == value("reach_org"), or_(false(), *matches))


def oversight(actor: Member) -> Reach:
    """HR and admins oversee their unit (*_LOCAL) or their organisation (*_TENANT)."""
    role = actor.role_enum
    if role is Role.USER:
        clauses: tuple[Clause, ...] = ()
    elif role.is_tenant_wide:
        clauses = ({},)
    else:
        # A unit role without a unit oversees nothing (not "every unit-less row").
        clauses = ({"unit_id": actor.unit_id},) if actor.unit_id is not None else ()
    return Reach(actor.organization_id, clauses)


def invitation_reach(actor: Member) -> Reach:
    """Which invitations the actor sees and manages: their own, and those they oversee."""
    overseen = oversight(actor)
    if {} in overseen.clauses:
        return overseen  # the whole organisation already holds their own
    return Reach(overseen.organization_id, ({"inviter_id": actor.id}, *overseen.clauses))


def oversees(actor: Member, target: Scoped) -> bool:
    return oversight(actor).includes(target)


def may_manage_invitation(actor: Member, invitation: InviterOwned) -> Decision:
    """See, resend, extend or revoke one invitation."""
    if not (active := _active(actor)):
        return active
    if invitation_reach(actor).includes(invitation):
        return ALLOWED
    return Decision(False, "Only the inviter, or HR and admins responsible for it, can do that.")


def may_pick_template(actor: Member) -> Decision:
    """HR and admins choose the wording of each invitation; members get the default."""
    if actor.role_enum is Role.USER:
        return Decision(False, "Members send invitations with the organisation's default e-mail.")
    return ALLOWED


def may_approve_adhesion(actor: Member, target: Scoped) -> Decision:
    if not (active := _active(actor)):
        return active
    if oversees(actor, target):
        return ALLOWED
    return Decision(False, "Only HR and admins responsible for this unit can approve applications.")


def may_review_applications(actor: Member) -> Decision:
    """Applications (adhesion): HR and admins; which ones is may_approve_adhesion's oversight."""
    if not (active := _active(actor)):
        return active
    if actor.role_enum is Role.USER:
        return Decision(False, "Only HR and admins can review membership applications.")
    return ALLOWED


def may_review_rewards(actor: Member, target: Scoped | None = None) -> Decision:
    """Rewards → Review: HR and admins, for the grants in their unit or organisation."""
    if not (active := _active(actor)):
        return active
    if actor.role_enum is Role.USER:
        return Decision(False, "Only HR and admins can review held referral rewards.")
    if target is not None and not oversees(actor, target):
        return Decision(False, "Only HR and admins responsible for this unit can review it.")
    return ALLOWED


def may_set_member_status(actor: Member, member: Member) -> Decision:
    """Disable or re-activate a member: admins within their reach, for roles up to their own."""
    if not (active := _active(actor)):
        return active
    if actor.id == member.id:
        return Decision(False, "You can't change your own status. Ask another admin.")
    if actor.role_enum not in (Role.ADMIN_LOCAL, Role.ADMIN_TENANT) or not oversees(actor, member):
        return Decision(False, "Only admins responsible for this member can change their status.")
    if member.role_enum.level > actor.role_enum.level:
        return Decision(
            False,
            f"{member.full_name} is {member.role_enum.label}, a role above yours, so only an "
            "organisation admin can change their status.",
        )
    return ALLOWED


# --- events and their guests (portal/events) ----------------------------------------------


class EventLike(Scoped, Protocol):
    guests_per_member: int


def may_create_events(actor: Member) -> Decision:
    """HR and admins organise events: for their unit (*_LOCAL) or the organisation."""
    if not (active := _active(actor)):
        return active
    if actor.role_enum is Role.USER or not oversight(actor).clauses:
        return Decision(
            False,
            "Events are organised by HR and admins, for their unit or organisation. "
            "You can invite guests to the events listed on the Events page.",
        )
    return ALLOWED


def may_manage_event(actor: Member, event: Scoped) -> Decision:
    """Edit an event and see its guest list (CSV too): HR and admins who oversee it."""
    if not (active := _active(actor)):
        return active
    if oversees(actor, event):
        return ALLOWED
    return Decision(False, "Only HR and admins responsible for this event can do that.")


def may_see_event(actor: Member, event: Scoped) -> Decision:
    """Members see their organisation's events and their own unit's; organisers all
    they oversee."""
    if not (active := _active(actor)):
        return active
    if actor.organization_id == event.organization_id and (
        event.unit_id is None or event.unit_id == actor.unit_id or oversees(actor, event)
    ):
        return ALLOWED
    return Decision(False, "This event isn't open to you.")


def may_invite_guest(actor: Member, event: EventLike, invited_so_far: int) -> Decision:
    """Invite one more guest: whoever sees the event, within its allowance per member
    (`invited_so_far`: the actor's guests of this event who haven't declined)."""
    if not (sees := may_see_event(actor, event)):
        return sees
    if invited_so_far >= event.guests_per_member:
        allowance = event.guests_per_member
        return Decision(
            False,
            f"You have invited your {allowance} guest{'' if allowance == 1 else 's'} "
            "for this event, the most each member may bring.",
            code="guest_allowance_reached",
        )
    return ALLOWED
