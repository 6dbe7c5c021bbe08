"""The permission policy as a matrix: role × unit × enabled × minimum level."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.invites.queries import in_scope
from portal.models import Event, Invitation, InvitationSettings, Member
from portal.policy import (
    may_approve_adhesion,
    may_create_events,
    may_invite_guest,
    may_make_campaign_links,
    may_manage_event,
    may_manage_invitation,
    may_manage_settings,
    may_pick_template,
    may_raise_bulk_limit,
    may_read_audit_log,
    may_review_applications,
    may_see_bulk_job,
    may_see_event,
    may_send_bulk,
    may_send_invitations,
    may_share_links,
)
from portal.roles import ROLE_ORDER, MemberStatus, Role
from tests.factories import make_member, make_org, make_unit

ORG, OTHER_ORG = 1, 2
OWN_UNIT, OTHER_UNIT = 10, 20


def member(role: Role, unit: int = OWN_UNIT, org: int = ORG, **kw) -> Member:
    return Member(
        id=100,
        organization_id=org,
        unit_id=unit,
        email="m@example.org",
        full_name="M",
        role=role.value,
        **kw,
    )


def settings(enabled: bool, level: Role) -> InvitationSettings:
    return InvitationSettings(organization_id=ORG, enabled=enabled, min_inviter_role=level.value)


def expected_send(role: Role, target_unit: int, enabled: bool, level: Role) -> bool:
    if not enabled or ROLE_ORDER.index(role) < ROLE_ORDER.index(level):
        return False
    return target_unit == OWN_UNIT or role in (Role.HR_TENANT, Role.ADMIN_TENANT)


@pytest.mark.parametrize(
    ("role", "target_unit", "enabled", "level"),
    list(itertools.product(Role, (OWN_UNIT, OTHER_UNIT), (True, False), Role)),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_may_send_invitations_matrix(role, target_unit, enabled, level):
    decision = may_send_invitations(member(role), settings(enabled, level), unit_id=target_unit)
    assert bool(decision) is expected_send(role, target_unit, enabled, level)
    if not decision:
        assert decision.reason, "a refusal must say why"


@pytest.mark.parametrize(
    ("role", "enabled", "level", "links_on", "status"),
    list(
        itertools.product(
            Role, (True, False), Role, (True, False), (MemberStatus.ACTIVE, MemberStatus.DISABLED)
        )
    ),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_may_share_links_matrix(role, enabled, level, links_on, status):
    """Share links follow who may send invitations, while the organisation has them on."""
    rules = settings(enabled, level)
    rules.share_links_enabled = links_on
    decision = may_share_links(member(role, status=status.value), rules)
    active = status is MemberStatus.ACTIVE
    assert bool(decision) is (active and links_on and expected_send(role, OWN_UNIT, enabled, level))
    if not decision:
        assert decision.reason


@pytest.mark.parametrize(
    ("role", "enabled", "level", "status"),
    list(
        itertools.product(Role, (True, False), Role, (MemberStatus.ACTIVE, MemberStatus.DISABLED))
    ),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_may_send_bulk_matrix(role, enabled, level, status):
    """A CSV file: HR and admins, while they may send invitations at all."""
    decision = may_send_bulk(member(role, status=status.value), settings(enabled, level))
    active = status is MemberStatus.ACTIVE
    sends = expected_send(role, OWN_UNIT, enabled, level)
    assert bool(decision) is (active and sends and role is not Role.USER)
    if not decision:
        assert decision.reason
    if active and sends and role is Role.USER:
        assert "for HR and admins" in decision.reason


@pytest.mark.parametrize(
    ("role", "status"),
    list(itertools.product(Role, (MemberStatus.ACTIVE, MemberStatus.DISABLED))),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_only_active_admins_raise_their_limit_for_a_file(role, status):
    decision = may_raise_bulk_limit(member(role, status=status.value))
    allowed = status is MemberStatus.ACTIVE and role in (Role.ADMIN_LOCAL, Role.ADMIN_TENANT)
    assert bool(decision) is allowed
    if not decision:
        assert decision.reason


class Job:
    def __init__(self, organization_id: int, created_by_id: int) -> None:
        self.organization_id, self.unit_id, self.created_by_id = (
            organization_id,
            OWN_UNIT,
            created_by_id,
        )


@pytest.mark.parametrize(
    ("role", "own", "org", "status"),
    list(
        itertools.product(
            Role, (True, False), (ORG, OTHER_ORG), (MemberStatus.ACTIVE, MemberStatus.DISABLED)
        )
    ),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_only_the_uploader_sees_a_bulk_job_whatever_their_role(role, own, org, status):
    job = Job(org, 100 if own else 101)
    decision = may_see_bulk_job(member(role, status=status.value), job)
    assert bool(decision) is (own and org == ORG and status is MemberStatus.ACTIVE)
    if not decision:
        assert decision.reason


@pytest.mark.parametrize("role", list(Role))
def test_only_admins_make_campaign_links(role):
    allowed = role in (Role.ADMIN_LOCAL, Role.ADMIN_TENANT)
    assert bool(may_make_campaign_links(member(role))) is allowed


@pytest.mark.parametrize(
    ("role", "unit", "enabled", "level"),
    list(itertools.product(Role, (OWN_UNIT, OTHER_UNIT), (True, False), Role)),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_may_open_settings_matrix(role, unit, enabled, level):
    # Settings belong to ADMIN_TENANT alone, whatever the unit or the invitation settings.
    decision = may_manage_settings(member(role, unit=unit))
    assert bool(decision) is (role is Role.ADMIN_TENANT)
    if not decision:
        assert "Only organisation admins" in decision.reason


@pytest.mark.parametrize(
    ("role", "unit", "status"),
    list(itertools.product(Role, (OWN_UNIT, OTHER_UNIT, None), MemberStatus)),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_may_read_the_audit_log_matrix(role, unit, status):
    # The audit log is ADMIN_TENANT's alone, whatever the unit, and only while active.
    decision = may_read_audit_log(member(role, unit=unit, status=status.value))
    allowed = role is Role.ADMIN_TENANT and status is MemberStatus.ACTIVE
    assert bool(decision) is allowed
    if not decision:
        assert decision.reason, "a refusal must say why"
    if status is MemberStatus.ACTIVE and not allowed:
        assert "Only organisation admins can read the audit log" in decision.reason
        assert role.label in decision.reason


@pytest.mark.parametrize(
    ("role", "target_unit", "target_org", "status"),
    list(itertools.product(Role, (OWN_UNIT, OTHER_UNIT, None), (ORG, OTHER_ORG), MemberStatus)),
    ids=lambda v: getattr(v, "value", str(v)),
)
def test_who_may_review_and_decide_applications_matrix(role, target_unit, target_org, status):
    """Applications: HR and admins, active; *_LOCAL for their unit's applicants, *_TENANT
    for the organisation's (an applicant without a unit: tenant-wide roles only)."""
    actor = member(role, status=status.value)
    application = _Invitation(inviter_id=999, unit_id=target_unit, organization_id=target_org)
    active = status is MemberStatus.ACTIVE
    assert bool(may_review_applications(actor)) is (active and role is not Role.USER)
    in_reach = target_org == ORG and (
        role.is_tenant_wide or (role.is_local and target_unit == OWN_UNIT)
    )
    decision = may_approve_adhesion(actor, application)
    assert bool(decision) is (active and in_reach)
    if not decision:
        assert decision.reason, "a refusal must say why"


def test_refusal_below_level_names_who_may_invite_and_the_members_role():
    decision = may_send_invitations(member(Role.USER), settings(True, Role.HR_LOCAL))
    assert not decision
    assert "HR and admins can invite" in decision.reason
    assert "Your role is Member" in decision.reason


def test_disabled_invitations_say_so():
    decision = may_send_invitations(member(Role.ADMIN_TENANT), settings(False, Role.USER))
    assert "turned off" in decision.reason


def test_inactive_members_may_do_nothing():
    pending = member(Role.ADMIN_TENANT, status=MemberStatus.PENDING_APPROVAL.value)
    assert not may_send_invitations(pending, settings(True, Role.USER))
    assert not may_manage_settings(pending)


def test_members_of_another_organisation_may_not_invite_here():
    assert not may_send_invitations(
        member(Role.ADMIN_TENANT, org=OTHER_ORG), settings(True, Role.USER)
    )


class _Invitation:
    def __init__(self, inviter_id: int, unit_id: int, organization_id: int = ORG) -> None:
        self.inviter_id, self.unit_id, self.organization_id = inviter_id, unit_id, organization_id


@pytest.mark.parametrize(
    ("role", "own_invitation", "same_unit", "same_org", "allowed"),
    [
        (Role.USER, True, True, True, True),
        (Role.USER, False, True, True, False),
        (Role.HR_LOCAL, False, True, True, True),
        (Role.HR_LOCAL, False, False, True, False),
        (Role.ADMIN_LOCAL, False, True, True, True),
        (Role.ADMIN_LOCAL, False, False, True, False),
        (Role.HR_TENANT, False, False, True, True),
        (Role.ADMIN_TENANT, False, False, True, True),
        (Role.ADMIN_TENANT, False, False, False, False),
        (Role.ADMIN_TENANT, True, True, False, False),
    ],
)
def test_who_may_manage_an_invitation(role, own_invitation, same_unit, same_org, allowed):
    actor = member(role)
    invitation = _Invitation(
        inviter_id=actor.id if own_invitation else 999,
        unit_id=OWN_UNIT if same_unit else OTHER_UNIT,
        organization_id=ORG if same_org else OTHER_ORG,
    )
    assert bool(may_manage_invitation(actor, invitation)) is allowed


@pytest.mark.parametrize("role", list(Role))
def test_only_hr_and_admins_pick_the_email_template(role):
    assert bool(may_pick_template(member(role))) is (role is not Role.USER)


@pytest.mark.parametrize("role", [Role.HR_LOCAL, Role.ADMIN_LOCAL])
def test_a_unit_role_without_a_unit_oversees_nothing(role):
    unitless = member(role, unit=None)
    assert not may_manage_invitation(unitless, _Invitation(inviter_id=999, unit_id=None))


# --- visibility: the SQL filter and the predicate are one definition ----------------------


def test_the_list_filter_selects_exactly_the_invitations_the_policy_lets_one_manage(session):
    """Every role, with and without a unit, against invitations of every shape: the rows
    the dashboard's SQL returns are exactly those may_manage_invitation allows."""
    org, other = make_org(session, "Reach Club"), make_org(session, "Elsewhere")
    north, south = make_unit(session, org, "North"), make_unit(session, org, "South")
    actors = [
        make_member(session, org, role, unit=unit, email=f"{role.value}-{n}@example.org")
        for role in Role
        for n, unit in enumerate((north, None))
    ]
    stranger = make_member(session, other, Role.ADMIN_TENANT, email="far@example.org")
    inviters, now = [*actors, stranger], utcnow()
    for n, inviter in enumerate(inviters):
        for unit in (north, south, None):
            session.add(
                Invitation(
                    organization_id=inviter.organization_id,
                    unit_id=unit.id if unit and inviter is not stranger else None,
                    inviter_id=inviter.id,
                    email=f"guest{n}-{unit.id if unit else 0}@example.org",
                    secret_digest=f"{n}-{unit.id if unit else 0}".ljust(64, "0"),
                    created_at=now,
                    updated_at=now,
                    sent_at=now,
                    expires_at=now + timedelta(days=14),
                )
            )
    session.commit()
    everything = session.exec(select(Invitation)).all()
    for actor in actors:
        listed = {i.id for i in session.exec(select(Invitation).where(in_scope(actor))).all()}
        allowed = {i.id for i in everything if may_manage_invitation(actor, i)}
        assert listed == allowed, (actor.role, actor.unit_id)
        assert listed, "everyone sees at least their own"


# --- events (portal/events) -------------------------------------------------------------------


def an_event(unit: int | None, org: int = ORG, guests_per_member: int = 2):
    return Event(
        organization_id=org,
        unit_id=unit,
        organizer_id=1,
        title="E",
        timezone="UTC",
        starts_at=utcnow(),
        ends_at=utcnow(),
        capacity=10,
        guests_per_member=guests_per_member,
        created_at=utcnow(),
        updated_at=utcnow(),
    )


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("unit", [OWN_UNIT, None])
def test_who_may_create_events(role, unit):
    expected = role in (Role.HR_TENANT, Role.ADMIN_TENANT) or (
        role in (Role.HR_LOCAL, Role.ADMIN_LOCAL) and unit is not None
    )
    assert bool(may_create_events(member(role, unit=unit))) is expected


@pytest.mark.parametrize(
    ("role", "event_unit", "event_org", "manage", "see"),
    [
        (role, event_unit, event_org, manage, see)
        for role in Role
        for event_unit, event_org in (
            (OWN_UNIT, ORG),
            (OTHER_UNIT, ORG),
            (None, ORG),
            (OWN_UNIT, OTHER_ORG),
        )
        for manage in [
            event_org == ORG
            and (
                role in (Role.HR_TENANT, Role.ADMIN_TENANT)
                or (role in (Role.HR_LOCAL, Role.ADMIN_LOCAL) and event_unit == OWN_UNIT)
            )
        ]
        for see in [manage or (event_org == ORG and event_unit in (OWN_UNIT, None))]
    ],
)
def test_who_may_manage_and_see_an_event(role, event_unit, event_org, manage, see):
    actor, event = member(role), an_event(event_unit, event_org)
    assert bool(may_manage_event(actor, event)) is manage
    assert bool(may_see_event(actor, event)) is see
    assert bool(may_invite_guest(actor, event, invited_so_far=1)) is see
    refused = may_invite_guest(actor, event, invited_so_far=2)
    assert not refused
    if see:
        assert refused.code == "guest_allowance_reached"
        assert "your 2 guests" in refused.reason


def test_inactive_members_may_not_touch_events():
    gone = member(Role.ADMIN_TENANT, status=MemberStatus.DISABLED.value)
    event = an_event(None)
    assert not may_create_events(gone)
    assert not may_manage_event(gone, event)
    assert not may_see_event(gone, event)
