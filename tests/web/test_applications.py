"""Adhesion (issue 12): joining under approval makes an application, HR in scope approve or
reject it (the applicant is e-mailed), the registration form's questions, /register, the
sponsor-level waiver, and pending members kept from member features."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from portal.applications import questions
from portal.applications import service as applications
from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.invites import service as invites
from portal.models import (
    Member,
    MembershipApplication,
    MembershipSettings,
    RegistrationQuestion,
    RewardGrant,
    RewardRule,
)
from portal.roles import MemberStatus, Role
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_unit
from tests.mailserver import body

PASSWORD = "long password"


def membership(session, org, **values):
    row = session.get(MembershipSettings, org.id) or MembershipSettings(organization_id=org.id)
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    session.commit()


def question(session, org, label, kind="text", required=False, options=(), position=1):
    row = RegistrationQuestion(
        organization_id=org.id,
        label=label,
        kind=kind,
        required=required,
        options=list(options),
        position=position,
        created_at=utcnow(),
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def unit(session, org):
    return make_unit(session, org, "North")


@pytest.fixture
def sponsor(session, org, unit):
    return make_member(session, org, Role.USER, unit=unit, full_name="Sam Sponsor")


@pytest.fixture
def hr(session, org, unit):
    return make_member(session, org, Role.HR_LOCAL, unit=unit, full_name="Hana HR")


def invite_link(app, session, smtp, inviter, email="gina@example.org"):
    invites.send_invitation(session, inviter, email=email, full_name="Gina Guest", now=utcnow())
    session.commit()
    assert Worker(app).run_once().delivered >= 1
    text = body(smtp.to(email)[-1], "plain")
    return re.search(r"http://portal\.test(/join\?invite_id=\S+)", text).group(1)


def join(client, link, **changes):
    client.get(link)
    data = {
        "full_name": "Gina Guest",
        "email": "gina@example.org",
        "password": PASSWORD,
        "csrf_token": csrf_token(client, "/join"),
    }
    data.update(changes)
    return client.post("/join", data=data)


def applicant(session, email="gina@example.org"):
    session.expire_all()
    return session.exec(select(Member).where(Member.email == email)).one()


def test_without_adhesion_joining_makes_an_active_member_and_no_application(
    app, client, session, smtp, org, sponsor
):
    response = join(client, invite_link(app, session, smtp, sponsor))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert applicant(session).status == MemberStatus.ACTIVE
    assert session.exec(select(MembershipApplication)).all() == []


def test_with_adhesion_the_applicant_sees_being_reviewed_and_no_member_feature(
    app, client, session, smtp, org, sponsor
):
    membership(session, org, approval_required=True, reason_mode="required")
    link = invite_link(app, session, smtp, sponsor)
    page = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Why do you want to join?" in page
    refused = join(client, link)
    assert refused.status_code == 422 and "Answer “Why do you want to join?”" in refused.get_data(
        as_text=True
    )
    assert session.exec(select(Member).where(Member.email == "gina@example.org")).first() is None
    response = join(client, link, reason="I sail.")
    assert response.headers["Location"] == "/application"
    status = client.get("/application").get_data(as_text=True)
    assert "Your application is being reviewed" in status
    member = applicant(session)
    assert member.status == MemberStatus.PENDING_APPROVAL
    application = session.exec(select(MembershipApplication)).one()
    assert (application.status, application.sponsor_id, application.reason) == (
        "pending",
        sponsor.id,
        "I sail.",
    )
    for path in ("/", "/invites", "/rewards", "/invites/links", "/leaderboard"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert "Your application is being reviewed" in page.get_data(as_text=True)


def test_a_pending_applicant_can_sign_in_again_and_sees_the_status_page(
    app, client, session, smtp, org, sponsor
):
    membership(session, org, approval_required=True)
    join(client, invite_link(app, session, smtp, sponsor))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    response = login(client, "gina@example.org", PASSWORD)
    assert response.status_code == 302
    assert "being reviewed" in client.get("/").get_data(as_text=True)


def test_hr_approves_the_applicant_is_emailed_and_can_use_the_portal(
    app, client, session, smtp, org, sponsor, hr
):
    membership(session, org, approval_required=True)
    link = invite_link(app, session, smtp, sponsor)
    applicant_client = app.test_client()
    join(applicant_client, link)
    application = session.exec(select(MembershipApplication)).one()
    login(client, hr.email)
    listing = client.get("/applications").get_data(as_text=True)
    assert "Gina Guest" in listing and "Sam Sponsor" in listing
    assert "100%" in listing  # the sponsor's one invitation was accepted
    page = client.get(f"/applications/{application.public_id}").get_data(as_text=True)
    assert "1 of 1 invitations accepted" in page
    response = client.post(
        f"/applications/{application.public_id}",
        data={
            "decision": "approve",
            "note": "Welcome aboard",
            "csrf_token": csrf_token(client, f"/applications/{application.public_id}"),
        },
    )
    assert response.status_code == 302
    assert applicant(session).status == MemberStatus.ACTIVE
    Worker(app).run_once()
    mail = smtp.to("gina@example.org")[-1]
    assert mail["Subject"] == f"Welcome to {org.name}: your application was approved"
    assert "Welcome aboard" in body(mail, "plain")
    home = applicant_client.get("/")
    assert home.status_code == 200 and "Welcome, Gina Guest" in home.get_data(as_text=True)
    # Deciding again is refused in words, and nothing changes.
    again = client.post(
        f"/applications/{application.public_id}",
        data={"decision": "reject", "csrf_token": csrf_token(client, "/applications")},
    )
    assert again.status_code == 409
    assert "already approved by Hana HR" in again.get_data(as_text=True)


def test_hr_rejects_the_applicant_is_emailed_and_signed_out(
    app, client, session, smtp, org, sponsor, hr
):
    membership(session, org, approval_required=True)
    applicant_client = app.test_client()
    join(applicant_client, invite_link(app, session, smtp, sponsor))
    application = session.exec(select(MembershipApplication)).one()
    login(client, hr.email)
    client.post(
        f"/applications/{application.public_id}",
        data={
            "decision": "reject",
            "note": "Not this season",
            "csrf_token": csrf_token(client, "/applications"),
        },
    )
    assert applicant(session).status == MemberStatus.DISABLED
    Worker(app).run_once()
    mail = smtp.to("gina@example.org")[-1]
    assert mail["Subject"] == f"Your application to {org.name}"
    assert "was not approved" in body(mail, "plain") and "Not this season" in body(mail, "plain")
    assert applicant_client.get("/").status_code == 302  # signed out: to the login page


def test_hr_of_another_unit_and_plain_members_cannot_decide(
    app, client, session, smtp, org, sponsor
):
    membership(session, org, approval_required=True)
    join(app.test_client(), invite_link(app, session, smtp, sponsor))
    application = session.exec(select(MembershipApplication)).one()
    other = make_member(session, org, Role.HR_LOCAL, unit=make_unit(session, org, "South"))
    login(client, other.email)
    assert "Gina Guest" not in client.get("/applications").get_data(as_text=True)
    assert client.get(f"/applications/{application.public_id}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
    login(client, sponsor.email)
    assert client.get("/applications").status_code == 403


def test_a_trusted_sponsor_waives_approval(app, client, session, smtp, org, unit):
    membership(session, org, approval_required=True, waiver_min_role=Role.HR_LOCAL.value)
    trusted = make_member(session, org, Role.HR_TENANT, unit=unit)
    page = client.get(invite_link(app, session, smtp, trusted), follow_redirects=True)
    assert "Why do you want to join?" not in page.get_data(as_text=True)
    response = client.post(
        "/join",
        data={
            "full_name": "Gina Guest",
            "email": "gina@example.org",
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/join"),
        },
    )
    assert response.headers["Location"] == "/"
    assert applicant(session).status == MemberStatus.ACTIVE


def test_below_the_waiver_level_approval_is_still_needed(app, client, session, smtp, org, sponsor):
    membership(session, org, approval_required=True, waiver_min_role=Role.HR_LOCAL.value)
    join(client, invite_link(app, session, smtp, sponsor))
    assert applicant(session).status == MemberStatus.PENDING_APPROVAL


# --- the registration form --------------------------------------------------------------


def test_required_questions_and_their_validation_on_the_join_page(
    app, client, session, smtp, org, sponsor
):
    boat = question(session, org, "Your boat", required=True, position=1)
    level = question(
        session, org, "Level", kind="choice", required=True, options=("Novice", "Skipper"),
        position=2,
    )  # fmt: skip
    rules = question(session, org, "I accept the rules", kind="checkbox", required=True, position=3)
    born = question(session, org, "Born on", kind="date", position=4)
    story = question(session, org, "Your story", kind="long_text", position=5)
    link = invite_link(app, session, smtp, sponsor)
    page = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Your boat" in page and "Born on (optional)" in page

    def attempt(answers):
        return join(client, link, **{f"q_{public_id}": v for public_id, v in answers.items()})

    b, lv, r, d, st = (q.public_id for q in (boat, level, rules, born, story))
    good = {b: "Swift", lv: "Skipper", r: "y", d: "1990-05-01", st: "Sea\nmore"}
    missing = attempt({**good, b: ""})
    assert missing.status_code == 422 and "Answer “Your boat”." in missing.get_data(as_text=True)
    too_long = attempt({**good, b: "x" * 201})
    assert "at most 200 characters" in too_long.get_data(as_text=True)
    not_listed = attempt({**good, lv: "Admiral"})
    assert "“Level”: choose one of the listed options." in not_listed.get_data(as_text=True)
    unticked = {k: v for k, v in good.items() if k != r}
    assert "Tick “I accept the rules” to join." in attempt(unticked).get_data(as_text=True)
    both = attempt({**good, b: "", lv: "Admiral"}).get_data(as_text=True)
    assert "Answer “Your boat”." in both and "choose one of the listed options" in both
    bad_date = attempt({**good, d: "tomorrow"})
    assert "give a date as YYYY-MM-DD" in bad_date.get_data(as_text=True)
    assert session.exec(select(Member).where(Member.email == "gina@example.org")).first() is None
    assert attempt(good).status_code == 302
    application = session.exec(select(MembershipApplication)).one()
    assert application.status == "not_required"  # adhesion is off: the answers are kept
    assert [a["value"] for a in application.answers] == [
        "Swift", "Skipper", True, "1990-05-01", "Sea\nmore",
    ]  # fmt: skip


def test_a_removed_question_keeps_past_answers_readable(
    app, client, session, smtp, org, sponsor, hr
):
    membership(session, org, approval_required=True, reason_mode="off")
    boat = question(session, org, "Your boat", required=True)
    link = invite_link(app, session, smtp, sponsor)
    join(app.test_client(), link, **{f"q_{boat.public_id}": "Swift"})
    session.delete(boat)
    session.commit()
    application = session.exec(select(MembershipApplication)).one()
    login(client, hr.email)
    page = client.get(f"/applications/{application.public_id}").get_data(as_text=True)
    assert "Your boat" in page and "Swift" in page


# --- open registration --------------------------------------------------------------------


def register(client, org, **changes):
    data = {
        "full_name": "Rita Register",
        "email": "rita@example.org",
        "password": PASSWORD,
        "csrf_token": csrf_token(client, f"/register/{org.slug}"),
    }
    data.update(changes)
    return client.post(f"/register/{org.slug}", data=data)


def test_open_registration_off_is_a_404_saying_invitation_only(client, session, org):
    assert client.get("/register").status_code == 404
    assert "by invitation" in client.get("/register").get_data(as_text=True)
    assert client.get(f"/register/{org.slug}").status_code == 404


def test_open_registration_on_without_adhesion_makes_an_active_member(client, session, org):
    membership(session, org, open_registration=True)
    assert client.get("/register").headers["Location"] == f"/register/{org.slug}"
    response = register(client, org)
    assert response.headers["Location"] == "/"
    member = applicant(session, "rita@example.org")
    assert member.status == MemberStatus.ACTIVE and member.invited_by_id is None


def test_open_registration_with_adhesion_makes_an_application_without_sponsor(client, session, org):
    membership(session, org, open_registration=True, approval_required=True)
    response = register(client, org, reason="Friends sail here")
    assert response.headers["Location"] == "/application"
    application = session.exec(select(MembershipApplication)).one()
    assert application.sponsor_id is None and application.invitation_id is None
    assert applicant(session, "rita@example.org").status == MemberStatus.PENDING_APPROVAL


def test_registration_answers_are_checked_at_register(client, session, org):
    membership(session, org, open_registration=True)
    level = question(session, org, "Level", kind="choice", options=("Novice", "Skipper"))
    response = register(client, org, **{f"q_{level.public_id}": "Admiral"})
    assert response.status_code == 422
    assert session.exec(select(Member).where(Member.email == "rita@example.org")).first() is None


# --- the inviter's dashboard and rewards ---------------------------------------------------


def test_the_inviters_row_says_joined_awaiting_approval(app, client, session, smtp, org, sponsor):
    membership(session, org, approval_required=True)
    join(app.test_client(), invite_link(app, session, smtp, sponsor))
    login(client, sponsor.email)
    page = client.get("/invites?list=accepted").get_data(as_text=True)
    assert "Joined — awaiting approval" in page


def test_an_approved_trigger_reward_fires_on_approval_only(
    app, client, session, smtp, org, sponsor, hr
):
    now = utcnow()
    session.add(
        RewardRule(
            organization_id=org.id,
            name="Approved bonus",
            trigger="approved",
            referrer_kind="points",
            referrer_points=50,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    membership(session, org, approval_required=True)
    join(app.test_client(), invite_link(app, session, smtp, sponsor))
    assert session.exec(select(RewardGrant)).all() == []
    application = session.exec(select(MembershipApplication)).one()
    applications.decide(session, hr, application, approve=True, note="", now=utcnow())
    session.commit()
    grant = session.exec(select(RewardGrant)).one()
    assert (grant.member_id, grant.points, grant.status) == (sponsor.id, 50, "issued")


def test_applications_approved_among_invitations_counts_for_the_funnel(
    app, session, smtp, org, sponsor, hr
):
    from portal.applications.queries import approved_among_invitations

    membership(session, org, approval_required=True)
    join(app.test_client(), invite_link(app, session, smtp, sponsor))
    application = session.exec(select(MembershipApplication)).one()
    applications.decide(session, hr, application, approve=True, note="", now=utcnow())
    session.commit()
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    from datetime import timedelta

    assert approved_among_invitations(session, org.id, since, since + timedelta(days=1)) == 1
    assert questions.needs_approval(questions.settings_of(session, org.id), Role.USER)


# --- webhooks -------------------------------------------------------------------------------


def test_submitted_and_approved_are_sent_to_subscribed_webhooks(
    app, client, session, smtp, org, sponsor, hr
):
    from portal import sealing
    from portal.models import OutboxItem, WebhookEndpoint

    session.add(
        WebhookEndpoint(
            organization_id=org.id,
            url="https://hooks.example.org/in",
            event_types=["APPLICATION_SUBMITTED", "APPLICATION_APPROVED", "APPLICATION_REJECTED"],
            sealed_secret=sealing.seal("whsec_x"),
            created_at=utcnow(),
            updated_at=utcnow(),
        )
    )
    session.commit()
    membership(session, org, approval_required=True)
    join(app.test_client(), invite_link(app, session, smtp, sponsor))
    application = session.exec(select(MembershipApplication)).one()
    applications.decide(session, hr, application, approve=True, note="", now=utcnow())
    session.commit()

    def events(event_type):
        items = session.exec(select(OutboxItem).where(OutboxItem.topic == event_type)).all()
        return [item.payload["event"] for item in items]

    [submitted] = events("APPLICATION_SUBMITTED")
    assert submitted["data"]["applicationId"] == application.public_id
    assert submitted["data"]["sponsorId"] == sponsor.public_id
    assert submitted["data"]["status"] == "pending"
    [approved] = events("APPLICATION_APPROVED")
    assert approved["data"]["status"] == "approved" and approved["data"]["decidedAt"].endswith("Z")
    assert events("APPLICATION_REJECTED") == []


# --- Settings → Membership ------------------------------------------------------------------


def test_admins_set_adhesion_and_edit_reorder_and_remove_questions(client, session, org, admin):
    login(client, admin.email)
    page = "/admin/settings/membership"
    assert "New members must be approved" in client.get(page).get_data(as_text=True)
    saved = client.post(
        page,
        data={
            "approval_required": "y",
            "waiver_min_role": "HR_LOCAL",
            "reason_mode": "required",
            "open_registration": "y",
            "csrf_token": csrf_token(client, page),
        },
    )
    assert saved.status_code == 302
    current = questions.settings_of(session, org.id)
    session.refresh(current)
    assert (current.approval_required, current.waiver_min_role, current.reason_mode) == (
        True,
        "HR_LOCAL",
        "required",
    )
    off_list = client.post(
        page,
        data={
            "waiver_min_role": "KING",
            "reason_mode": "off",
            "csrf_token": csrf_token(client, page),
        },
    )
    assert off_list.status_code == 422
    assert "Choose one of the listed levels." in off_list.get_data(as_text=True)

    def add(label, kind="text", options=""):
        return client.post(
            f"{page}/questions",
            data={
                "label": label,
                "kind": kind,
                "options": options,
                "required": "y",
                "csrf_token": csrf_token(client, page),
            },
        )

    assert add("Your boat").status_code == 302
    assert add("Level", "choice", "Novice\r\nSkipper").status_code == 302
    one_option = add("Pick", "choice", "Only")
    assert one_option.status_code == 422
    assert "at least two options" in one_option.get_data(as_text=True)
    boat, level = questions.questions_of(session, org.id)
    client.post(
        f"{page}/questions/{level.public_id}/move",
        data={"direction": "up", "csrf_token": csrf_token(client, page)},
    )
    session.expire_all()
    assert [q.label for q in questions.questions_of(session, org.id)] == ["Level", "Your boat"]
    edited = client.post(
        f"{page}/questions/{boat.public_id}",
        data={"label": "Your boat's name", "kind": "text", "csrf_token": csrf_token(client, page)},
    )
    assert edited.status_code == 302
    client.post(
        f"{page}/questions/{level.public_id}/remove", data={"csrf_token": csrf_token(client, page)}
    )
    session.expire_all()
    [left] = questions.questions_of(session, org.id)
    assert (left.label, left.required) == ("Your boat's name", False)


def test_only_organisation_admins_open_membership_settings(client, session, org, hr):
    login(client, hr.email)
    assert client.get("/admin/settings/membership").status_code == 403


def test_the_applications_list_pages_by_keyset_at_a_constant_query_count(
    client, session, engine, org, unit, hr
):
    from tests.query_count import count_queries

    def pending_application(n):
        sponsor = make_member(session, org, unit=unit, full_name=f"Sponsor {n}")
        member = make_member(
            session, org, unit=unit, full_name=f"Applicant {n}",
            status=MemberStatus.PENDING_APPROVAL, invited_by_id=sponsor.id,
        )  # fmt: skip
        session.add(
            MembershipApplication(
                organization_id=org.id,
                unit_id=unit.id,
                member_id=member.id,
                sponsor_id=sponsor.id,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        session.commit()

    pending_application(0)
    login(client, hr.email)
    client.get("/applications")  # warm
    with count_queries(engine) as small:
        client.get("/applications")
    for n in range(1, 30):
        pending_application(n)
    with count_queries(engine) as large:
        first = client.get("/applications").get_data(as_text=True)
    assert len(large) == len(small)
    assert first.count('id="application-ap-') == 25 and "Older" in first
    before = re.search(r"before=(\d+)", first).group(1)
    second = client.get(f"/applications?before={before}").get_data(as_text=True)
    assert second.count('id="application-ap-') == 5
    assert client.get("/applications?before=abc").status_code == 404
