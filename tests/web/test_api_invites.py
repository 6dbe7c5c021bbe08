"""The invitations API: create, list, read, resend, revoke — same rules as the dashboard."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func
from sqlmodel import select

from portal import sealing
from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import (
    EmailTemplate,
    IdempotencyRecord,
    Invitation,
    InvitationSend,
    InvitationStatus,
    OutboxItem,
)
from portal.roles import Role
from tests.factories import make_member, make_org, settings
from tests.query_count import count_queries
from tests.web.api_support import Api, field_errors, make_token, problem

GUEST = "guest@example.org"
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def admin(session, org, unit):
    return make_member(
        session, org, Role.ADMIN_TENANT, unit=unit, email="ada@example.org", full_name="Ada Admin"
    )


def count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def make_template(session, org, name="Friendly") -> EmailTemplate:
    now = utcnow()
    template = EmailTemplate(
        organization_id=org.id,
        name=name,
        subject="Hi {{ invitee_name }}",
        body="Join us: {{ join_url }}",
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.commit()
    return template


# --- POST /invites ----------------------------------------------------------------------------


def test_creating_an_invitation_returns_it_with_the_link_once(api, session, admin, client):
    response = api.post(
        "/invites",
        {
            "email": " Guest@Example.org ",
            "firstName": "Grace",
            "lastName": "Guest",
            "message": "Come along!",
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/invites/{body['id']}"
    assert body["id"].startswith("iv-") and len(body["id"]) == 35
    assert body["email"] == GUEST
    assert (body["fullName"], body["firstName"], body["lastName"]) == (
        "Grace Guest",
        "Grace",
        "Guest",
    )
    assert body["status"] == "INVITED"
    assert body["inviterId"] == admin.public_id
    assert body["userId"] is None and body["linkedAt"] is None and body["templateId"] is None
    assert body["delivery"] == {"status": "queued", "lastError": None}
    for name in ("createdAt", "updatedAt", "invitedAt", "expiresAt"):
        assert body[name].endswith("Z") and len(body[name]) == 20, body[name]
    invitation = session.exec(select(Invitation)).one()
    assert body["expiresAt"] == invitation.expires_at.strftime(RFC3339)
    assert invitation.message == "Come along!"

    url = body["inviteLandingPageUrl"]
    assert url.startswith("http://portal.test/join?invite_id=")
    secret = parse_qs(urlsplit(url).query)["invite_id"][0]
    assert invitation.secret_digest == invites.digest(secret)  # only the digest is stored
    # The e-mail is queued like the dashboard's, with the same link sealed inside.
    mail = session.exec(select(OutboxItem).where(OutboxItem.kind == "email")).one()
    assert (mail.topic, mail.invitation_id) == ("invitation", invitation.id)
    assert sealing.unseal(mail.payload["sealed_secret"]) == secret
    # The link works on the join page.
    landing = client.get(urlsplit(url).path + "?" + urlsplit(url).query)
    assert landing.status_code == 302

    again = api.get(f"/invites/{body['id']}").get_json()
    assert "inviteLandingPageUrl" not in again
    assert again == {k: v for k, v in body.items() if k != "inviteLandingPageUrl"}


def test_full_name_wins_over_the_parts(api):
    body = api.post(
        "/invites", {"email": GUEST, "fullName": "Dr. Grace Guest", "firstName": "Grace"}
    ).get_json()
    assert (body["fullName"], body["firstName"], body["lastName"]) == (
        "Dr. Grace Guest",
        "Grace",
        "",
    )


def test_a_template_is_chosen_by_its_public_id(api, session, org):
    template = make_template(session, org)
    body = api.post("/invites", {"email": GUEST, "templateId": template.public_id}).get_json()
    assert body["templateId"] == template.public_id
    assert session.exec(select(Invitation)).one().template_id == template.id


def test_an_unknown_or_foreign_template_is_a_field_error(api, session):
    foreign = make_template(session, make_org(session))
    for template_id in ("tpl-" + "0" * 32, foreign.public_id):
        body = problem(
            api.post("/invites", {"email": GUEST, "templateId": template_id}), 422, "invalid"
        )
        assert field_errors(body) == {"templateId": "There is no such e-mail template."}
    assert count(session, Invitation) == 0


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"email": "not an address"}, "invalid_email", "email"),
        ({"email": ""}, "invalid_email", "email"),
        ({"email": GUEST, "message": "x" * 1001}, "invalid", "message"),
        ({"email": GUEST, "fullName": "x" * 201}, "invalid", "fullName"),
        ({"email": GUEST, "firstName": "x" * 101}, "invalid", "firstName"),
        ({"email": "ada@example.org"}, "invalid", "email"),
    ],
)
def test_invalid_input_is_422_with_the_dashboards_words(api, session, payload, code, field):
    body = problem(api.post("/invites", payload), 422, code)
    assert list(field_errors(body)) == [field]
    assert body["detail"] == field_errors(body)[field]
    assert count(session, Invitation) == 0


def test_the_messages_are_the_web_forms_own(api, admin):
    body = problem(api.post("/invites", {"email": admin.email}), 422, "invalid")
    assert body["detail"] == "You can't invite yourself."
    body = problem(api.post("/invites", {"email": "x" * 10}), 422, "invalid_email")
    assert body["detail"].startswith("xxxxxxxxxx is not a valid e-mail address")


def test_the_body_is_checked_field_by_field(api):
    body = problem(api.post("/invites", {"fullname": "Grace", "message": 5}), 422, "invalid")
    assert field_errors(body) == {
        "fullname": "There is no such field. The accepted fields are listed at /api/docs.",
        "message": "Must be a string.",
        "email": "This field is required.",
    }
    body = problem(api.post("/invites", {"email": None}), 422, "invalid")
    assert field_errors(body) == {"email": "This field is required."}


def test_nulls_mean_not_given(api):
    response = api.post("/invites", {"email": GUEST, "fullName": None, "templateId": None})
    assert response.status_code == 201
    assert response.get_json()["fullName"] == ""


def test_a_body_that_isnt_a_json_object_is_400_or_415(api):
    problem(
        api.post("/invites", data="{not json", headers={"Content-Type": "application/json"}),
        400,
        "bad_request",
    )
    problem(api.post("/invites", ["guest@example.org"]), 400, "bad_request")
    deep = "[" * 100_000 + "]" * 100_000
    problem(
        api.post("/invites", data=deep, headers={"Content-Type": "application/json"}),
        400,
        "bad_request",
    )
    problem(
        api.post(
            "/invites",
            data="email=guest@example.org",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        415,
        "unsupported_media_type",
    )


def test_an_account_in_another_organisation_is_answered_like_a_member_here(api, session, org):
    make_member(session, org, email="here@example.org")
    make_member(session, make_org(session), email="elsewhere@example.org")
    answers = []
    for address in ("here@example.org", "elsewhere@example.org"):
        body = problem(api.post("/invites", {"email": address}), 409, "already_member")
        assert body["detail"] == f"{address} already has an account, so it can't be invited."
        answers.append(json.dumps(body, sort_keys=True).replace(address, "<address>"))
    assert answers[0] == answers[1]


def test_refused_api_sends_count_towards_the_inviters_daily_limit(api, session, org, admin):
    settings(session, org, daily_limit_per_member=2)
    make_member(session, make_org(session), email="elsewhere@example.org")
    problem(api.post("/invites", {"email": "elsewhere@example.org"}), 409, "already_member")
    assert api.post("/invites", {"email": GUEST}).status_code == 201
    body = problem(api.post("/invites", {"email": "third@example.org"}), 429, "daily_limit")
    assert "tried 1 more that were refused" in body["detail"]
    assert count(session, Invitation) == 1


def test_a_pending_invitation_is_409_with_its_id(api, session, admin, org):
    other = make_member(session, org, Role.USER)
    first = invites.send_invitation(session, other, email=GUEST, now=utcnow())
    session.commit()
    body = problem(api.post("/invites", {"email": GUEST}), 409, "duplicate_pending")
    assert body["inviteId"] == first.invitation.public_id
    assert "Resend it instead" in body["detail"]


def test_the_same_request_seconds_later_is_409_and_an_idempotency_key_replays_instead(api, session):
    first = api.post("/invites", {"email": GUEST, "message": "Hello"})
    again = api.post("/invites", {"email": GUEST, "message": "Hello"})
    assert first.status_code == 201
    body = problem(again, 409, "duplicate_pending")
    assert body["inviteId"] == first.get_json()["id"]
    # A retry that says it is one gets the first answer, link included.
    headers = {"Idempotency-Key": "retry-1"}
    created = api.post("/invites", {"email": "other@example.org"}, headers=headers)
    retried = api.post("/invites", {"email": "other@example.org"}, headers=headers)
    assert (created.status_code, retried.status_code) == (201, 201)
    assert retried.get_json()["inviteLandingPageUrl"] == created.get_json()["inviteLandingPageUrl"]
    assert count(session, Invitation) == 2 and count(session, InvitationSend) == 2


def test_on_behalf_the_invitation_is_the_members_own(client, session, org, unit, admin):
    member = make_member(session, org, Role.USER, unit=unit)
    api = Api(client, make_token(session, admin, scopes=["create-invites", "invite-on-behalf"]))
    body = api.post("/invites", {"email": GUEST, "inviterId": member.public_id}).get_json()
    assert body["inviterId"] == member.public_id
    invitation = session.exec(select(Invitation)).one()
    assert (invitation.inviter_id, invitation.unit_id) == (member.id, unit.id)
    send = session.exec(select(InvitationSend)).one()
    assert send.sender_id == member.id  # counts against the member's daily limit


def test_on_behalf_the_members_own_rules_apply(client, session, org, unit, admin):
    settings(session, org, min_inviter_role=Role.HR_LOCAL.value)
    member = make_member(session, org, Role.USER, unit=unit)
    api = Api(client, make_token(session, admin))
    problem(
        api.post("/invites", {"email": GUEST, "inviterId": member.public_id}), 403, "not_allowed"
    )


def test_on_behalf_of_another_organisations_member_is_refused(client, session, admin, api):
    stranger = make_member(session, make_org(session), Role.ADMIN_TENANT)
    body = problem(
        api.post("/invites", {"email": GUEST, "inviterId": stranger.public_id}), 422, "invalid"
    )
    assert list(field_errors(body)) == ["inviterId"]
    assert count(session, Invitation) == 0


# --- idempotency --------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replays_the_first_answer(api, session):
    headers = {"Idempotency-Key": "3f1c6d1e-0d0a-4d8a-9a59-0d3c8f1f2a11"}
    first = api.post("/invites", {"email": GUEST, "fullName": "Grace"}, headers=headers)
    # The same JSON, spaced and ordered differently, minutes later (past the double-submit
    # window), is the same request.
    later = utcnow() + timedelta(minutes=10)
    with _clock(later):
        second = api.client.post(
            "/api/v1/invites",
            data='{ "fullName": "Grace",  "email": "guest@example.org" }',
            headers={
                **headers,
                "Authorization": f"Bearer {api.token}",
                "Content-Type": "application/json",
            },
        )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.get_data() == first.get_data()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(session, Invitation) == 1
    assert count(session, OutboxItem, OutboxItem.kind == "email") == 1
    # The stored answer keeps the link's secret sealed, never in the clear.
    record = session.exec(select(IdempotencyRecord)).one()
    assert "invite_id=" not in str(record.response_body)


def test_the_same_key_with_another_body_is_refused(api, session):
    headers = {"Idempotency-Key": "key-1"}
    assert api.post("/invites", {"email": GUEST}, headers=headers).status_code == 201
    body = problem(
        api.post("/invites", {"email": "other@example.org"}, headers=headers),
        422,
        "idempotency_key_reused",
    )
    assert list(field_errors(body)) == ["Idempotency-Key"]
    assert count(session, Invitation) == 1


def test_keys_are_per_token_and_last_24_hours(api, client, session, admin):
    headers = {"Idempotency-Key": "key-1"}
    assert api.post("/invites", {"email": GUEST}, headers=headers).status_code == 201
    other = Api(client, make_token(session, admin))
    response = other.post("/invites", {"email": "other@example.org"}, headers=headers)
    assert response.status_code == 201  # another token's key space
    with _clock(utcnow() + timedelta(hours=25)):
        response = api.post("/invites", {"email": "third@example.org"}, headers=headers)
    assert response.status_code == 201
    assert count(session, Invitation) == 3


def test_refusals_are_not_remembered(api, session, org):
    settings(session, org, enabled=False)
    headers = {"Idempotency-Key": "key-1"}
    problem(api.post("/invites", {"email": GUEST}, headers=headers), 403, "invitations_disabled")
    settings(session, org, enabled=True)
    assert api.post("/invites", {"email": GUEST}, headers=headers).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there"])
def test_a_malformed_key_is_a_field_error(api, key):
    body = problem(
        api.post("/invites", {"email": GUEST}, headers={"Idempotency-Key": key}), 422, "invalid"
    )
    assert list(field_errors(body)) == ["Idempotency-Key"]


@contextmanager
def _clock(moment):
    with pytest.MonkeyPatch.context() as patch:
        for module in ("portal.api.views", "portal.api.operations"):
            patch.setattr(f"{module}.utcnow", lambda: moment)
        yield


# --- GET /invites/{id} ---------------------------------------------------------------------------


def test_reading_an_invitation_derives_expiry(api, session, admin):
    sent = invites.send_invitation(session, admin, email=GUEST, now=utcnow() - timedelta(days=30))
    session.commit()
    body = api.get(f"/invites/{sent.invitation.public_id}").get_json()
    assert body["status"] == "EXPIRED"
    assert session.get(Invitation, sent.invitation.id).status == "PENDING"


def test_another_organisations_invitation_is_404(api, session):
    other_org = make_org(session)
    stranger = make_member(session, other_org, Role.ADMIN_TENANT)
    theirs = invites.send_invitation(session, stranger, email=GUEST, now=utcnow()).invitation
    session.commit()
    for path in (f"/invites/{theirs.public_id}", "/invites/iv-unknown"):
        problem(api.get(path), 404, "not_found")
    for action in ("resend", "revoke"):
        problem(api.post(f"/invites/{theirs.public_id}/{action}"), 404, "not_found")
    assert api.get(f"/invites?email={GUEST}").get_json()["data"] == []
    session.expire_all()
    assert session.get(Invitation, theirs.id).status == "PENDING"


# --- resend / revoke -----------------------------------------------------------------------------


def test_resend_issues_a_fresh_link_and_expiry(api, session, admin):
    created = api.post("/invites", {"email": GUEST}).get_json()
    before = session.exec(select(Invitation)).one().secret_digest
    later = utcnow() + timedelta(days=2)
    with _clock(later):
        response = api.post(f"/invites/{created['id']}/resend")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "INVITED" and "inviteLandingPageUrl" not in body
    assert body["invitedAt"] == later.strftime(RFC3339)
    assert body["expiresAt"] > created["expiresAt"]
    session.expire_all()
    assert session.exec(select(Invitation)).one().secret_digest != before
    assert count(session, OutboxItem, OutboxItem.kind == "email") == 2


def test_revoke_then_the_lifecycle_refuses_a_second_time(api, session):
    created = api.post("/invites", {"email": GUEST}).get_json()
    response = api.post(f"/invites/{created['id']}/revoke")
    assert response.status_code == 200 and response.get_json()["status"] == "REVOKED"
    body = problem(api.post(f"/invites/{created['id']}/revoke"), 409, "conflict")
    assert body["detail"] == "Only pending invitations can be revoked."
    body = problem(api.post(f"/invites/{created['id']}/resend"), 409, "conflict")
    assert body["detail"] == "This invitation was revoked. Send a new invitation instead."


def test_a_plain_members_token_manages_only_its_own(client, session, org, unit, admin):
    member = make_member(session, org, Role.USER, unit=unit)
    colleague = make_member(session, org, Role.USER, unit=unit)
    theirs = invites.send_invitation(session, colleague, email=GUEST, now=utcnow()).invitation
    session.commit()
    api = Api(
        client, make_token(session, member, scopes=["read-invites", "create-invites"], admin=admin)
    )
    problem(api.post(f"/invites/{theirs.public_id}/revoke"), 403, "not_allowed")
    # With invite-on-behalf the token acts as the invitation's inviter.
    api = Api(client, make_token(session, member, admin=admin))
    assert api.post(f"/invites/{theirs.public_id}/revoke").get_json()["status"] == "REVOKED"


# --- GET /invites ---------------------------------------------------------------------------------


def _bulk(session, org, inviter, n, start=None, **fields):
    """`n` invitations straight into the table, one second apart (faster than the service)."""
    start = start or utcnow() - timedelta(hours=1)
    rows = []
    for i in range(n):
        moment = start + timedelta(seconds=i)
        rows.append(
            Invitation(
                organization_id=org.id,
                inviter_id=inviter.id,
                email=f"bulk{i}-{inviter.id}@example.org",
                secret_digest=invites.digest(f"{inviter.id}-{i}-{moment}"),
                created_at=moment,
                updated_at=moment,
                sent_at=moment,
                expires_at=moment + timedelta(days=14),
                **fields,
            )
        )
    session.add_all(rows)
    session.commit()
    return rows


def test_250_invitations_page_by_page_with_no_duplicates_or_gaps(api, session, org, admin):
    rows = _bulk(session, org, admin, 250)
    _bulk(session, make_org(session), make_member(session, make_org(session)), 5)  # not ours
    seen, cursor, pages = [], None, 0
    while True:
        query = "/invites?limit=100" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(query).get_json()
        seen += [item["id"] for item in body["data"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [row.public_id for row in reversed(rows)]  # newest first, each once


def test_a_page_costs_the_same_queries_whatever_its_size(api, session, org, admin, engine):
    _bulk(session, org, admin, 60)
    api.get("/invites?limit=1")  # records the token's use, which the next minute won't repeat
    with count_queries(engine) as small:
        assert len(api.get("/invites?limit=2").get_json()["data"]) == 2
    with count_queries(engine) as large:
        assert len(api.get("/invites?limit=60").get_json()["data"]) == 60
    assert len(large) == len(small) == 2, large  # the token, then the page


def test_filters_by_status_email_inviter_and_creation_time(api, session, org, unit, admin):
    member = make_member(session, org, Role.USER, unit=unit)
    start = utcnow() - timedelta(days=1)
    mine = _bulk(session, org, admin, 4, start=start)
    theirs = _bulk(session, org, member, 2, start=start + timedelta(minutes=5))
    mine[0].status = InvitationStatus.ACCEPTED.value
    mine[1].status = InvitationStatus.REVOKED.value
    mine[2].expires_at = utcnow() - timedelta(minutes=1)  # expired, not yet swept
    session.add_all(mine)
    session.commit()

    def ids(query):
        response = api.get(query)
        assert response.status_code == 200, response.get_json()
        return {item["id"] for item in response.get_json()["data"]}

    assert ids("/invites?status=LINKED") == {mine[0].public_id}
    assert ids("/invites?status=REVOKED") == {mine[1].public_id}
    assert ids("/invites?status=EXPIRED") == {mine[2].public_id}
    assert ids("/invites?status=INVITED") == {mine[3].public_id} | {r.public_id for r in theirs}
    assert ids(f"/invites?email={mine[3].email.upper()}") == {mine[3].public_id}
    assert ids(f"/invites?inviterId={member.public_id}") == {r.public_id for r in theirs}
    after = (start + timedelta(seconds=2)).strftime(RFC3339)
    before = (start + timedelta(minutes=5)).strftime(RFC3339)
    assert ids(f"/invites?createdAfter={after}&createdBefore={before}") == {
        mine[2].public_id,
        mine[3].public_id,
    }
    assert ids(f"/invites?createdAfter={after.replace('Z', '%2B00:00')}&status=EXPIRED") == {
        mine[2].public_id
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("limit=%C2%B2", "limit"),
        ("status=PENDING", "status"),
        ("createdAfter=yesterday", "createdAfter"),
        ("createdBefore=2026-01-01T10:00:00", "createdBefore"),
        ("createdAfter=0001-01-01T00:00:00%2B01:00", "createdAfter"),
        ("cursor=bm9wZQ", "cursor"),
        ("cursor=aXY6OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "cursor"),
        ("cursor=aXY6wrI", "cursor"),
        ("cursor=%C2%B5", "cursor"),
        ("email=nobody", "email"),
        ("inviter=mb-1", "inviter"),
    ],
)
def test_bad_list_parameters_are_field_errors(api, query, field):
    body = problem(api.get(f"/invites?{query}"), 422, "invalid")
    assert list(field_errors(body)) == [field]


# --- the rest of /api/v1 ---------------------------------------------------------------------


def test_unknown_addresses_and_methods_are_problems_too(api):
    problem(api.get("/nothing-here"), 404, "not_found")
    response = api.client.delete(
        "/api/v1/invites", headers={"Authorization": f"Bearer {api.token}"}
    )
    problem(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, POST"
    response = api.get("/invites/iv-1/revoke")
    problem(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"


def test_an_unexpected_failure_is_a_500_problem_not_a_page(api, app, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("portal.api.queries.list_invites", broken)
    body = problem(api.get("/invites"), 500, "server_error")
    assert "the database went away" not in body["detail"]
