"""The invitation lifecycle, rule by rule, without a browser or a request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from portal.clock import utcnow
from portal.errors import (
    AccountExists,
    AlreadyMember,
    Conflict,
    DailyLimit,
    DomainError,
    DuplicatePending,
    Invalid,
    InvalidEmail,
    InvalidInvite,
    InviteExpired,
    InviteRevoked,
    InviteSuperseded,
    InviteUsed,
    NoSuchTemplate,
    NotAllowed,
)
from portal.invites import service as invites
from portal.models import (
    EmailTemplate,
    Invitation,
    InvitationSend,
    InvitationStatus,
    Member,
    OutboxItem,
    RefusedSend,
)
from portal.orgs.settings import InvitationSettingsInput, update_invitation_settings
from portal.roles import Role
from portal.sealing import unseal
from portal.text import day, when
from tests.factories import make_member, make_org, make_unit, settings


@pytest.fixture
def inviter(session, org, unit):
    return make_member(
        session, org, Role.USER, unit=unit, email="ines@example.org", full_name="Ines Inviter"
    )


def send(session, actor, email="guest@example.org", now=None, **kw):
    sent = invites.send_invitation(session, actor, email=email, now=now or utcnow(), **kw)
    session.commit()
    return sent.invitation


def make_template(session, org) -> EmailTemplate:
    now = utcnow()
    template = EmailTemplate(
        organization_id=org.id,
        name="Friendly",
        subject="Hi",
        body="Join us: {{ join_url }}",
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.commit()
    return template


def secret_of(session, invitation) -> str:
    """The secret as the worker would put it in the e-mail (the newest queued one)."""
    item = session.exec(
        select(OutboxItem)
        .where(OutboxItem.invitation_id == invitation.id, OutboxItem.topic == "invitation")
        .order_by(OutboxItem.id.desc())
    ).first()
    return unseal(item.payload["sealed_secret"])


def join(session, invitation, now=None, **kw):
    values = {"email": invitation.email, "full_name": "Gina Guest", "password": "long password"}
    values.update(kw)
    member = invites.accept(
        session, invites.digest(secret_of(session, invitation)), now=now or utcnow(), **values
    )
    session.commit()
    return member


# --- sending ------------------------------------------------------------------------------


def test_sending_creates_a_pending_invitation_and_queues_its_email(session, inviter):
    now = utcnow()
    invitation = send(
        session,
        inviter,
        " Guest@EXAMPLE.org ",
        now=now,
        full_name="Gina",
        message="Come row with us!",
    )
    assert invitation.email == "guest@example.org"
    assert invitation.status == InvitationStatus.PENDING
    assert invitation.public_id.startswith("iv-") and len(invitation.public_id) == 35
    assert invitation.expires_at == now + timedelta(days=14)
    assert invitation.unit_id == inviter.unit_id
    item = session.exec(select(OutboxItem)).one()
    assert (item.kind, item.topic, item.invitation_id) == ("email", "invitation", invitation.id)
    secret = unseal(item.payload["sealed_secret"])
    assert len(secret) >= 43
    assert invitation.secret_digest == invites.digest(secret) != secret
    assert secret not in str(item.payload)


@pytest.mark.parametrize("bad", ["not-an-email", "a@b", "two@@example.org", ""])
def test_invalid_addresses_are_refused(session, inviter, bad):
    with pytest.raises(InvalidEmail):
        send(session, inviter, bad)
    assert session.exec(select(Invitation)).all() == []


def test_inviting_yourself_is_refused(session, inviter):
    with pytest.raises(Invalid, match="can't invite yourself"):
        send(session, inviter, "INES@example.org")


def test_an_account_here_or_in_another_organisation_is_refused_in_the_same_words(
    session, org, inviter
):
    make_member(session, org, email="here@example.org")
    make_member(session, make_org(session), email="elsewhere@example.org")
    answers = []
    for address in ("here@example.org", "elsewhere@example.org"):
        with pytest.raises(AlreadyMember) as refused:
            send(session, inviter, address)
        session.rollback()
        error = refused.value
        answers.append((error.status, error.code, error.message.replace(address, "<address>")))
    assert (
        answers[0]
        == answers[1]
        == (
            409,
            "already_member",
            "<address> already has an account, so it can't be invited.",
        )
    )


def test_refused_sends_count_towards_the_senders_daily_limit(session, org, inviter):
    settings(session, org, daily_limit_per_member=3)
    make_member(session, make_org(session), email="elsewhere@example.org")
    now = utcnow()
    send(session, inviter, "first@example.org", now=now)
    for _ in range(2):
        with pytest.raises(AlreadyMember) as refused:
            send(session, inviter, "elsewhere@example.org", now=now)
        session.rollback()
        assert invites.counts_against_limit(refused.value)
        invites.record_refused_send(session, inviter, refused.value, now)
        session.commit()
    with pytest.raises(DailyLimit, match="sent 1 invitations and tried 2 more that were refused"):
        send(session, inviter, "fresh@example.org", now=now)


def test_at_the_daily_limit_an_address_is_not_looked_up_at_all(session, org, inviter):
    """Once the limit is reached, nothing more can be learnt about any address."""
    settings(session, org, daily_limit_per_member=1)
    make_member(session, make_org(session), email="elsewhere@example.org")
    send(session, inviter, "first@example.org")
    with pytest.raises(DailyLimit):
        send(session, inviter, "elsewhere@example.org")


def test_refusals_that_say_nothing_about_the_address_are_not_counted(session, org, inviter):
    with pytest.raises(Invalid) as refused:
        send(session, inviter, "INES@example.org")
    assert not invites.counts_against_limit(refused.value)


def test_a_second_invitation_to_a_pending_address_offers_resend(session, org, unit, inviter):
    first = send(session, inviter)
    other = make_member(session, org, Role.USER, unit=unit)
    with pytest.raises(DuplicatePending) as refused:
        send(session, other)
    assert refused.value.details["invitation"].id == first.id
    assert len(session.exec(select(Invitation)).all()) == 1


def test_a_double_submit_returns_the_same_invitation_and_sends_once(session, inviter):
    now = utcnow()
    first = send(session, inviter, now=now)
    again = invites.send_invitation(
        session, inviter, email="guest@example.org", now=now + timedelta(seconds=2)
    )
    assert again.created is False and again.invitation.id == first.id
    assert len(session.exec(select(OutboxItem)).all()) == 1


@pytest.mark.parametrize(
    "change",
    [{"full_name": "Gina G."}, {"message": "Also: bring boots"}, {"template_public_id": "?"}],
)
def test_a_different_request_seconds_later_is_refused_as_already_invited(
    session, org, inviter, change
):
    now = utcnow()
    first = send(session, inviter, now=now, full_name="Gina", message="Hello")
    if change.get("template_public_id"):
        change = {"template_public_id": make_template(session, org).public_id}
    values = {"full_name": "Gina", "message": "Hello", **change}
    with pytest.raises(DuplicatePending, match="Resend it instead") as refused:
        invites.send_invitation(
            session, inviter, email=first.email, now=now + timedelta(seconds=2), **values
        )
    assert refused.value.details["invitation"].id == first.id
    session.rollback()
    session.refresh(first)
    assert (first.full_name, first.message, first.template_id) == ("Gina", "Hello", None)


def test_a_template_is_chosen_by_its_public_id_in_the_senders_organisation(session, org, inviter):
    template = make_template(session, org)
    assert send(session, inviter, template_public_id=template.public_id).template_id == template.id
    assert send(session, inviter, "other@example.org", template_public_id="").template_id is None


def test_an_unknown_or_foreign_template_is_refused_before_anything_else(session, org, inviter):
    foreign = make_template(session, make_org(session))
    settings(session, org, enabled=False)  # the template is refused first all the same
    for public_id in ("tpl-" + "0" * 32, foreign.public_id):
        with pytest.raises(NoSuchTemplate) as refused:
            invites.send_invitation(
                session,
                inviter,
                email="guest@example.org",
                template_public_id=public_id,
                now=utcnow(),
            )
        assert refused.value.message == "There is no such e-mail template."
        assert refused.value.field == "template_id" and refused.value.status == 422
        session.rollback()
    assert session.exec(select(Invitation)).all() == []


def test_without_the_double_submit_guard_a_repeat_is_refused(session, inviter):
    now = utcnow()
    first = send(session, inviter, now=now)
    with pytest.raises(DuplicatePending):
        invites.send_invitation(
            session, inviter, email=first.email, now=now + timedelta(seconds=1), double_submit=False
        )


def test_message_and_name_lengths_are_limited(session, inviter):
    with pytest.raises(Invalid, match="at most 1,000 characters"):
        send(session, inviter, message="x" * 1001)
    with pytest.raises(Invalid, match="at most 200 characters"):
        send(session, inviter, full_name="n" * 201)
    assert send(session, inviter, message="x" * 1000).message == "x" * 1000


def test_disabled_invitations_and_low_roles_are_refused_with_reasons(session, org, inviter):
    settings(session, org, enabled=False)
    with pytest.raises(NotAllowed, match="turned off") as refused:
        send(session, inviter)
    assert refused.value.code == "invitations_disabled"
    settings(session, org, enabled=True, min_inviter_role="HR_LOCAL")
    with pytest.raises(NotAllowed, match="HR and admins"):
        send(session, inviter)


def test_the_daily_limit_per_member_says_when_it_resets(session, org, inviter):
    settings(session, org, daily_limit_per_member=2)
    now = utcnow()
    send(session, inviter, "a@example.org", now=now - timedelta(hours=23))
    send(session, inviter, "b@example.org", now=now)
    with pytest.raises(DailyLimit, match="resets at") as refused:
        send(session, inviter, "c@example.org", now=now)
    assert when(now + timedelta(hours=1)) in refused.value.message
    # A day after the first one, there is room again.
    assert send(session, inviter, "c@example.org", now=now + timedelta(hours=1, seconds=1))


def test_an_address_gets_at_most_three_invitations_a_day_whoever_sends(session, org, unit, inviter):
    now = utcnow()
    invitation = send(session, inviter, now=now)
    invites.resend(session, inviter, invitation, now + timedelta(minutes=1))
    invites.resend(session, inviter, invitation, now + timedelta(minutes=2))
    session.commit()
    admin = make_member(session, org, Role.ADMIN_TENANT, unit=unit)
    with pytest.raises(DailyLimit, match="3 invitations in the last 24 hours"):
        invites.resend(session, admin, invitation, now + timedelta(minutes=3))
    assert len(session.exec(select(InvitationSend)).all()) == 3


# --- derived status and the link ---------------------------------------------------------


def test_expired_is_derived_at_the_boundary_second(session, inviter):
    now = utcnow()
    invitation = send(session, inviter, now=now)
    expiry = invitation.expires_at
    assert invites.effective_status(invitation, expiry - timedelta(seconds=1)) == "PENDING"
    assert invites.effective_status(invitation, expiry) == "EXPIRED"
    with pytest.raises(InviteExpired, match="expired on"):
        invites.open_link(session, invitation.secret_digest, expiry)
    with pytest.raises(InviteExpired):
        join(session, invitation, now=expiry)
    # One second earlier the same link works.
    member = join(session, invitation, now=expiry - timedelta(seconds=1))
    assert member.invited_by_id == inviter.id


def test_opening_a_link_records_the_first_visit_and_does_not_consume_it(session, inviter):
    invitation = send(session, inviter)
    digest = invites.digest(secret_of(session, invitation))
    first = utcnow()
    invites.open_link(session, digest, first)
    invites.open_link(session, digest, first + timedelta(minutes=5))
    session.commit()
    session.refresh(invitation)
    assert invitation.first_visited_at == first
    assert invitation.status == InvitationStatus.PENDING


def test_an_unknown_secret_reveals_nothing(session):
    with pytest.raises(InvalidInvite) as refused:
        invites.open_link(session, invites.digest("made-up"), utcnow())
    assert refused.value.status == 404
    assert "@" not in refused.value.message


# --- accepting ----------------------------------------------------------------------------


def test_joining_creates_a_member_linked_to_the_inviter(session, inviter):
    invitation = send(session, inviter)
    member = join(session, invitation)
    session.refresh(invitation)
    assert member.status == "active" and member.role == "USER"
    assert member.unit_id == inviter.unit_id
    assert member.invited_by_id == inviter.id and member.invitation_id == invitation.id
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.member_id == member.id and invitation.accepted_at is not None
    topics = [i.topic for i in session.exec(select(OutboxItem).order_by(OutboxItem.id)).all()]
    assert topics == ["invitation", "invite_accepted"]


def test_a_used_link_cannot_be_used_again(session, inviter):
    invitation = send(session, inviter)
    join(session, invitation)
    with pytest.raises(InviteUsed):
        join(session, invitation, email="guest@example.org")


def test_the_invited_address_is_binding_when_the_organisation_says_so(session, org, inviter):
    invitation = send(session, inviter)
    with pytest.raises(Invalid, match="address this invitation was sent to"):
        join(session, invitation, email="someone.else@example.org")
    settings(session, org, bind_invitee_email=False)
    assert join(session, invitation, email="someone.else@example.org").email == (
        "someone.else@example.org"
    )


def test_an_address_with_an_account_is_told_to_log_in(session, org, inviter):
    settings(session, org, bind_invitee_email=False)
    invitation = send(session, inviter)
    make_member(session, make_org(session), email="taken@example.org")
    with pytest.raises(AccountExists, match="Log in instead"):
        join(session, invitation, email="taken@example.org")
    session.rollback()
    session.refresh(invitation)
    assert invitation.status == InvitationStatus.PENDING


def test_a_refused_join_writes_nothing(session, inviter):
    invitation = send(session, inviter)
    with pytest.raises(Invalid, match="at least 8 characters"):
        join(session, invitation, password="short")
    session.rollback()
    session.refresh(invitation)
    assert invitation.status == InvitationStatus.PENDING
    assert session.exec(select(Member).where(Member.email == invitation.email)).first() is None


# --- resend, extend, revoke ---------------------------------------------------------------


def test_resend_issues_a_fresh_secret_and_expiry_and_the_old_link_says_so(session, inviter):
    now = utcnow()
    invitation = send(session, inviter, now=now)
    old_digest = invitation.secret_digest
    later = now + timedelta(days=3)
    invites.resend(session, inviter, invitation, later)
    session.commit()
    assert invitation.secret_digest != old_digest
    assert invitation.expires_at == later + timedelta(days=14)
    with pytest.raises(InviteSuperseded, match="newer invitation") as refused:
        invites.open_link(session, old_digest, later)
    assert refused.value.status == 410
    assert join(session, invitation).invitation_id == invitation.id


def test_an_expired_invitation_can_be_resent(session, inviter):
    now = utcnow()
    invitation = send(session, inviter, now=now)
    later = invitation.expires_at + timedelta(days=1)
    invites.resend(session, inviter, invitation, later)
    session.commit()
    assert invites.effective_status(invitation, later) == "PENDING"


def test_extend_pushes_the_expiry_without_an_email(session, inviter):
    invitation = send(session, inviter)
    before = invitation.expires_at
    invites.extend(session, inviter, invitation, utcnow())
    session.commit()
    assert invitation.expires_at == before + timedelta(days=14)
    assert len(session.exec(select(OutboxItem)).all()) == 1


def test_extend_stops_at_the_longest_validity_then_says_until_when_and_to_resend(
    session, org, inviter
):
    settings(session, org, expiry_days=14, max_validity_days=60)
    now = utcnow()
    invitation = send(session, inviter, now=now)
    refusals = []
    for _ in range(10):  # ten clicks used to reach 154 days
        try:
            invites.extend(session, inviter, invitation, now)
            session.commit()
        except Conflict as error:
            session.rollback()
            refusals.append(error.message)
    session.refresh(invitation)
    assert invitation.expires_at == now + timedelta(days=60)
    assert len(refusals) == 6  # 28, 42, 56, then 60 days; the rest are refused
    assert refusals[0] == (
        f"This invitation is valid until {day(now + timedelta(days=60))}, the longest your "
        "organisation keeps an invitation open (60 days after it was sent), so it can't be "
        "extended. To give them more time, use Resend: it sends a new link that is valid for "
        "14 days."
    )


def test_extend_is_refused_while_invitations_are_off_and_revoke_still_works(session, org, inviter):
    invitation = send(session, inviter)
    before = invitation.expires_at
    settings(session, org, enabled=False)
    with pytest.raises(NotAllowed, match="turned off"):
        invites.extend(session, inviter, invitation, utcnow())
    session.rollback()
    session.refresh(invitation)
    assert invitation.expires_at == before
    invites.revoke(session, inviter, invitation, utcnow())
    session.commit()
    assert invitation.status == InvitationStatus.REVOKED


def test_revoked_links_say_so_and_history_is_kept(session, inviter):
    invitation = send(session, inviter)
    invites.revoke(session, inviter, invitation, utcnow())
    session.commit()
    with pytest.raises(InviteRevoked):
        invites.open_link(session, invitation.secret_digest, utcnow())
    assert session.get(Invitation, invitation.id).status == InvitationStatus.REVOKED
    with pytest.raises(Conflict):
        invites.resend(session, inviter, invitation, utcnow())


def test_only_the_inviter_or_hr_in_scope_may_manage(session, org, unit, inviter):
    invitation = send(session, inviter)
    other_unit = make_unit(session, org, "South")
    with pytest.raises(NotAllowed):
        invites.revoke(
            session, make_member(session, org, Role.USER, unit=unit), invitation, utcnow()
        )
    with pytest.raises(NotAllowed):
        invites.revoke(
            session, make_member(session, org, Role.HR_LOCAL, unit=other_unit), invitation, utcnow()
        )
    hr = make_member(session, org, Role.HR_LOCAL, unit=unit)
    invites.revoke(session, hr, invitation, utcnow())


def test_requesting_a_new_invitation_notifies_the_inviter_once(session, inviter):
    invitation = send(session, inviter)
    later = invitation.expires_at + timedelta(hours=1)
    for _ in range(3):
        assert invites.request_renewal(session, invitation.secret_digest, later).id == inviter.id
        session.commit()
    topics = [i.topic for i in session.exec(select(OutboxItem)).all()]
    assert topics.count("renewal_request") == 1


def test_resending_an_old_invitation_past_a_newer_expired_one_works(session, inviter):
    """Two expired invitations to one address, one swept and one not: Resend mustn't trip
    over the newer one (it used to hit the unique index and answer 500)."""
    now = utcnow()
    first = send(session, inviter, now=now - timedelta(days=40))
    invites.sweep_expired(session, now - timedelta(days=20))
    second = send(session, inviter, now=now - timedelta(days=19))
    session.commit()
    invites.resend(session, inviter, first, now)
    session.commit()
    session.refresh(second)
    assert second.status == "EXPIRED"
    assert invites.effective_status(first, now) == "PENDING"


def test_resend_obeys_the_organisations_switch(session, org, inviter):
    invitation = send(session, inviter)
    settings(session, org, enabled=False)
    with pytest.raises(NotAllowed, match="turned off"):
        invites.resend(session, inviter, invitation, utcnow())


def test_the_settings_service_refuses_a_longest_validity_below_the_expiry(session, org):
    admin = make_member(session, org, Role.ADMIN_TENANT)
    values = InvitationSettingsInput(
        enabled=True,
        min_inviter_role=Role.USER,
        expiry_days=30,
        max_validity_days=29,
        daily_limit_per_member=50,
        bind_invitee_email=True,
        name="Harbour Club",
        description="",
        brand_color="#123456",
        logo_url="",
    )
    with pytest.raises(Invalid, match="between 30 days") as refused:
        update_invitation_settings(session, admin, values, utcnow())
    assert refused.value.field == "max_validity_days"


# --- many at once (a bulk job's chunk) ----------------------------------------------------


def _answered(answer) -> tuple:
    if isinstance(answer, invites.Sent):
        invitation = answer.invitation
        return ("sent", invitation.email, invitation.full_name, invitation.message)
    return (type(answer).__name__, answer.message)


def _writes(session) -> tuple:
    counts = [
        session.exec(select(func.count()).select_from(table)).one()
        for table in (Invitation, InvitationSend, RefusedSend)
    ]
    kinds = session.exec(select(OutboxItem.kind, OutboxItem.topic)).all()
    return (*counts, sorted(kinds))


def test_many_at_once_answer_each_row_as_one_send_after_another_would(session, org, inviter):
    """send_invitations against send_invitation itself, row by row in savepoints with the
    counted refusals recorded (the bulk worker's fallback), from the same state."""
    now = utcnow()
    make_member(session, org, email="meg@example.org")
    send(session, inviter, "pat@example.org", now=now - timedelta(hours=1))
    send(session, inviter, "old@example.org", now=now - timedelta(days=40))  # past due
    for _ in range(3):  # the most an address gets in a day
        invites.revoke(session, inviter, send(session, inviter, "busy@example.org"), now)
    session.commit()
    settings(session, org, daily_limit_per_member=10)
    wanted = [
        invites.Wanted("new1@example.org", "New One", "Hello!"),
        invites.Wanted(inviter.email),
        invites.Wanted("not-an-address"),
        invites.Wanted("MEG@example.org"),
        invites.Wanted("pat@example.org"),
        invites.Wanted("old@example.org", "Back Again"),
        invites.Wanted("new1@example.org", "New One again"),
        invites.Wanted("busy@example.org"),
        invites.Wanted("new2@example.org", "Name\x1bwith escape"),
        *(invites.Wanted(f"more{n}@example.org") for n in range(4)),
    ]

    reference = session.begin_nested()
    expected = []
    for one in wanted:
        try:
            with session.begin_nested():
                expected.append(
                    invites.send_invitation(
                        session,
                        inviter,
                        email=one.email,
                        full_name=one.full_name,
                        message=one.message,
                        now=now,
                        double_submit=False,
                    )
                )
        except DomainError as error:
            if invites.counts_against_limit(error):
                invites.record_refused_send(session, inviter, error, now)
            expected.append(error)
    session.flush()
    expected_writes = _writes(session)
    expected = [_answered(answer) for answer in expected]
    reference.rollback()

    got = invites.send_invitations(session, inviter, wanted, now)
    session.flush()
    assert [_answered(answer) for answer in got] == expected
    assert _writes(session) == expected_writes
    # Every rule had its turn: sent, refused in each way, and the sender's limit reached
    # with the counted refusals named.
    kinds = {answer[0] for answer in expected}
    assert kinds >= {"sent", "Invalid", "InvalidEmail", "AlreadyMember", "DuplicatePending"}
    assert ("sent", "old@example.org", "Back Again", "") in expected
    assert any("busy@example.org has already been sent 3" in a[1] for a in expected)
    assert "tried 3 more that were refused" in expected[-1][1]
    # The e-mails carry each invitation's own secret, as one send's do.
    invitation = got[0].invitation
    assert invites.digest(secret_of(session, invitation)) == invitation.secret_digest


def test_many_at_once_are_refused_whole_when_the_sender_may_not_send(session, org, inviter):
    settings(session, org, enabled=False)
    got = invites.send_invitations(
        session,
        inviter,
        [invites.Wanted("a@example.org"), invites.Wanted("b@example.org")],
        utcnow(),
    )
    assert [type(answer) for answer in got] == [NotAllowed, NotAllowed]
    assert "turned off" in got[0].message
