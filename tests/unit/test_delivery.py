"""The outbox worker under faults: real SMTP and a real HTTP receiver, switched off and on."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.invites import service as invites
from portal.models import Invitation, OutboxItem, WebhookEndpoint
from portal.sealing import unseal
from portal.webhooks import service as webhooks
from portal.webhooks.signing import HEADER, verify
from tests.query_count import count_queries

RULES = webhooks.UrlRules(require_https=False, allow_private=True)


def invite(session, inviter, email="guest@example.org"):
    invitation = invites.send_invitation(session, inviter, email=email, now=utcnow()).invitation
    session.commit()
    return invitation


def item_for(session, invitation) -> OutboxItem:
    session.expire_all()
    return session.exec(
        select(OutboxItem).where(
            OutboxItem.invitation_id == invitation.id, OutboxItem.topic == "invitation"
        )
    ).one()


def endpoint(session, inviter, receiver, types=webhooks.EVENT_TYPES):
    created, secret = webhooks.create_endpoint(
        session,
        inviter,
        url=receiver.url,
        event_types=list(types),
        description="",
        rules=RULES,
        now=utcnow(),
    )
    session.commit()
    return created, secret


# --- e-mail -------------------------------------------------------------------------------


def test_smtp_down_keeps_the_email_queued_then_delivers_it_once_when_back(
    app, session, smtp, inviter
):
    invitation = invite(session, inviter)
    smtp.stop()
    outcome = Worker(app).run_once()
    assert outcome.retrying == 1
    item = item_for(session, invitation)
    assert item.status == "queued" and item.attempts == 1
    assert "refused the connection" in item.last_error
    assert timedelta(seconds=20) <= item.next_attempt_at - utcnow() <= timedelta(minutes=1)
    assert "sealed_secret" in item.payload  # still needed for the retry
    session.refresh(invitation)
    assert invitation.delivery_status == "queued" and "refused" in invitation.delivery_error

    smtp.start()
    assert Worker(app).run_once().total == 0  # not due yet: back-off is respected
    assert Worker(app).run_once(now=item.next_attempt_at).delivered == 1
    assert Worker(app).run_once(now=item.next_attempt_at + timedelta(hours=1)).total == 0
    assert len(smtp.messages) == 1
    item = item_for(session, invitation)
    assert item.status == "sent" and "sealed_secret" not in item.payload
    session.refresh(invitation)
    assert invitation.delivery_status == "sent" and invitation.delivery_error == ""


def test_a_4xx_answer_is_retried_with_the_same_message_id(app, session, smtp, inviter):
    invitation = invite(session, inviter)
    smtp.reply = "451 4.3.0 Try again later"
    assert Worker(app).run_once().retrying == 1
    item = item_for(session, invitation)
    assert "451" in item.last_error
    smtp.reply = "250 OK"
    assert Worker(app).run_once(now=item.next_attempt_at).delivered == 1
    assert smtp.messages[0]["Message-ID"] == (f"<invitation-{invitation.public_id}-1@portal.test>")


def test_a_5xx_rejection_fails_at_once_and_shows_on_the_invitation(app, session, smtp, inviter):
    invitation = invite(session, inviter)
    smtp.reply = "550 5.1.1 No such user here"
    assert Worker(app).run_once().failed == 1
    item = item_for(session, invitation)
    assert item.status == "failed" and "550" in item.last_error
    assert "sealed_secret" not in item.payload
    session.refresh(invitation)
    assert invitation.delivery_status == "failed"
    assert "No such user" in invitation.delivery_error


def test_retries_give_up_after_the_configured_time(app, session, smtp, inviter):
    invitation = invite(session, inviter)
    item = item_for(session, invitation)
    item.created_at = utcnow() - timedelta(hours=25)
    session.add(item)
    session.commit()
    smtp.stop()
    assert Worker(app).run_once().failed == 1
    assert item_for(session, invitation).status == "failed"


def test_backoff_grows_and_is_capped():
    from portal.delivery.retry import MAX_DELAY, next_attempt

    now = utcnow()
    delays = [next_attempt(n, now) - now for n in range(1, 12)]
    assert delays[0] < timedelta(minutes=1)
    assert delays[3] > delays[0] * 4
    assert max(delays) <= MAX_DELAY * 1.2


def test_one_smtp_connection_serves_a_batch(app, session, smtp, inviter, monkeypatch):
    import smtplib

    for n in range(5):
        invite(session, inviter, f"g{n}@example.org")
    connections = []
    original = smtplib.SMTP.connect
    monkeypatch.setattr(
        smtplib.SMTP,
        "connect",
        lambda self, *a, **k: connections.append(a) or original(self, *a, **k),
    )
    assert Worker(app).run_once().delivered == 5
    assert len(connections) == 1


# --- webhooks -----------------------------------------------------------------------------


def test_delivered_invitation_fires_a_signed_invite_invited(app, session, smtp, receiver, inviter):
    _, secret = endpoint(session, inviter, receiver)
    invitation = invite(session, inviter)
    Worker(app).run_once()  # the e-mail; its success queues INVITE_INVITED
    Worker(app).run_once()  # the webhook
    assert len(receiver.received) == 1
    call = receiver.received[0]
    event = json.loads(call.body)
    assert event["type"] == "INVITE_INVITED" and event["version"] == 1
    assert event["id"].startswith("et-") and event["createdAt"].endswith("Z")
    assert event["data"] == {
        "inviteId": invitation.public_id,
        "inviterId": inviter.public_id,
        "email": "guest@example.org",
        "status": "INVITED",
    }
    assert verify(secret, call.headers[HEADER], call.body, int(time.time()))
    assert not verify("whsec_wrong", call.headers[HEADER], call.body, int(time.time()))


def test_join_and_revoke_fire_linked_and_revoked(app, session, receiver, inviter):
    endpoint(session, inviter, receiver, types=["INVITE_LINKED", "INVITE_REVOKED"])
    joined = invite(session, inviter, "joiner@example.org")
    secret = unseal(item_for(session, joined).payload["sealed_secret"])
    member = invites.accept(
        session,
        invites.digest(secret),
        email="joiner@example.org",
        full_name="Jo",
        password="long password",
        now=utcnow(),
    )
    revoked = invite(session, inviter, "nope@example.org")
    invites.revoke(session, inviter, revoked, utcnow())
    session.commit()
    while Worker(app).run_once().total:
        pass
    events = {json.loads(r.body)["type"]: json.loads(r.body)["data"] for r in receiver.received}
    assert set(events) == {"INVITE_LINKED", "INVITE_REVOKED"}  # INVITE_INVITED not subscribed
    assert events["INVITE_LINKED"]["userId"] == member.public_id
    assert events["INVITE_LINKED"]["status"] == "LINKED"
    assert events["INVITE_REVOKED"]["inviteId"] == revoked.public_id


def test_receiver_errors_are_retried_with_the_same_event_id(app, session, receiver, inviter):
    created, _ = endpoint(session, inviter, receiver)
    webhooks.send_test_event(session, inviter, created, utcnow())
    session.commit()
    receiver.status = 503
    assert Worker(app).run_once().retrying == 1
    item = session.exec(select(OutboxItem).where(OutboxItem.kind == "webhook")).one()
    assert item.response_status == 503 and "answered 503" in item.last_error
    assert len(item.last_error) < 400  # the receiver's long body is cut
    receiver.status = 200
    assert Worker(app).run_once(now=item.next_attempt_at).delivered == 1
    ids = {json.loads(r.body)["id"] for r in receiver.received}
    assert len(receiver.received) == 2 and len(ids) == 1


def test_a_receiver_that_is_down_or_slow_is_retried(app, session, receiver, inviter):
    created, _ = endpoint(session, inviter, receiver)
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    receiver.delay = 1.5
    webhooks.send_test_event(session, inviter, created, utcnow())
    session.commit()
    assert Worker(app).run_once().retrying == 1
    item = session.exec(select(OutboxItem).where(OutboxItem.kind == "webhook")).one()
    assert "did not answer in time" in item.last_error
    receiver.stop()
    assert Worker(app).run_once(now=item.next_attempt_at).retrying == 1
    session.refresh(item)
    assert "could not reach the receiver" in item.last_error


def test_an_endpoint_failing_for_24_hours_is_disabled(app, session, receiver, inviter):
    created, _ = endpoint(session, inviter, receiver)
    created.failing_since = utcnow() - timedelta(hours=24, minutes=1)
    session.add(created)
    webhooks.send_test_event(session, inviter, created, utcnow())
    session.commit()
    receiver.status = 500
    Worker(app).run_once()
    session.expire_all()
    disabled = session.get(WebhookEndpoint, created.id)
    assert disabled.enabled is False
    assert "Disabled automatically" in disabled.disabled_reason
    # Later events for it are not sent.
    webhooks.emit(session, disabled.organization_id, "INVITE_REVOKED", {}, utcnow())
    session.commit()
    assert session.exec(select(OutboxItem).where(OutboxItem.topic == "INVITE_REVOKED")).all() == []


def test_a_success_clears_the_failing_streak(app, session, receiver, inviter):
    created, _ = endpoint(session, inviter, receiver)
    created.failing_since = utcnow() - timedelta(hours=3)
    session.add(created)
    webhooks.send_test_event(session, inviter, created, utcnow())
    session.commit()
    Worker(app).run_once()
    session.expire_all()
    assert session.get(WebhookEndpoint, created.id).failing_since is None


# --- the expiry sweep ---------------------------------------------------------------------


def test_the_sweep_expires_each_invitation_once_even_when_run_twice(
    app, session, receiver, inviter
):
    endpoint(session, inviter, receiver, types=["INVITE_EXPIRED"])
    for n in range(3):
        invite(session, inviter, f"late{n}@example.org")
    fresh = invite(session, inviter, "fresh@example.org")
    later = utcnow() + timedelta(days=15)
    fresh.expires_at = later + timedelta(days=1)
    session.add(fresh)
    session.commit()
    worker = Worker(app)
    assert worker.sweep(now=later) == 3
    assert worker.sweep(now=later) == 0
    session.expire_all()
    statuses = sorted(i.status for i in session.exec(select(Invitation)).all())
    assert statuses == ["EXPIRED", "EXPIRED", "EXPIRED", "PENDING"]
    expired_events = session.exec(
        select(OutboxItem).where(OutboxItem.topic == "INVITE_EXPIRED")
    ).all()
    assert len(expired_events) == 3


# --- which URLs we call -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/hook",
        "https://192.168.0.10/x",
    ],
)
def test_private_and_local_addresses_are_refused(session, inviter, url):
    from portal.errors import Invalid

    with pytest.raises(Invalid, match="private or local network"):
        webhooks.create_endpoint(
            session,
            inviter,
            url=url,
            event_types=["INVITE_LINKED"],
            description="",
            now=utcnow(),
            rules=webhooks.UrlRules(require_https=False, allow_private=False),
        )


def test_https_is_required_outside_development(session, inviter):
    from portal.errors import Invalid

    with pytest.raises(Invalid, match="must use https"):
        webhooks.create_endpoint(
            session,
            inviter,
            url="http://example.org/hook",
            event_types=["INVITE_LINKED"],
            description="",
            now=utcnow(),
            rules=webhooks.UrlRules(require_https=True, allow_private=False),
        )


def test_the_readme_recipe_verifies_a_real_delivery(app, session, receiver, inviter):
    """The receiver-side example in the README, run as written, against a real call."""
    import re

    from portal.config import ROOT

    readme = (ROOT / "README.md").read_text()
    recipe = next(
        block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify" in block
    )
    namespace: dict = {}
    exec(compile(recipe, "README.md", "exec"), namespace)  # noqa: S102  (our own document)
    created, secret = endpoint(session, inviter, receiver)
    webhooks.send_test_event(session, inviter, created, utcnow())
    session.commit()
    Worker(app).run_once()
    call = receiver.received[0]
    assert namespace["verify"](secret, call.headers[HEADER], call.body)
    assert not namespace["verify"](secret, call.headers[HEADER], call.body + b" ")


def test_an_email_queued_before_a_revoke_is_not_sent(app, session, smtp, inviter):
    invitation = invite(session, inviter)
    invites.revoke(session, inviter, invitation, utcnow())
    session.commit()
    assert Worker(app).run_once().failed == 1
    assert smtp.messages == []
    item = item_for(session, invitation)
    assert item.status == "failed" and "revoked, accepted or resent" in item.last_error
    assert "sealed_secret" not in item.payload


def test_after_a_resend_only_the_newest_link_is_mailed(app, session, smtp, inviter):
    invitation = invite(session, inviter)
    invites.resend(session, inviter, invitation, utcnow())
    session.commit()
    outcome = Worker(app).run_once()
    assert (outcome.delivered, outcome.failed) == (1, 1)
    assert smtp.messages[0]["Message-ID"] == f"<invitation-{invitation.public_id}-2@portal.test>"
    session.refresh(invitation)
    assert invitation.delivery_status == "sent"


def test_the_sweep_forgets_replayable_api_answers_after_a_day(app, session, inviter):
    from portal.models import ApiToken, IdempotencyRecord

    token = ApiToken(
        organization_id=inviter.organization_id,
        owner_id=inviter.id,
        name="t",
        token_digest="d" * 64,
        prefix="mpt_x",
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    for age in (timedelta(hours=25), timedelta(hours=1)):
        session.add(
            IdempotencyRecord(
                token_id=token.id,
                key=str(age),
                request_hash="h",
                response_status=201,
                created_at=utcnow() - age,
            )
        )
    session.commit()
    Worker(app).sweep()
    session.expire_all()
    assert [r.key for r in session.exec(select(IdempotencyRecord)).all()] == ["1:00:00"]


# --- queries per batch --------------------------------------------------------------------


def _lookups(statements: list[str]) -> list[str]:
    """SELECTs of the rows an e-mail is rendered from (not the invitation's fresh check)."""
    tables = ("FROM member", "FROM organization", "FROM email_template")
    selects = [s for s in statements if s.lstrip().startswith("SELECT")]
    return [s for s in selects if any(table in s for table in tables)]


def test_a_batch_loads_what_its_emails_need_once_not_per_email(app, session, smtp, inviter):

    engine = app.extensions["portal.engine"]
    counts = {}
    for size in (3, 12):
        for n in range(size):
            invite(session, inviter, f"batch{size}-{n}@example.org")
        with count_queries(engine) as statements:
            assert Worker(app).run_once().delivered == size
        counts[size] = statements
    # The organisation, the inviter and the templates: one query per table, whatever the size.
    assert len(_lookups(counts[12])) == len(_lookups(counts[3])) <= 4
    # What stays per e-mail is its own bookkeeping, committed before the next one is sent (so a
    # crash re-sends at most the one in flight): the fresh revoke check, the outbox row, the
    # invitation's delivery status, and the webhook endpoints its INVITE_INVITED goes to.
    assert (len(counts[12]) - len(counts[3])) / 9 <= 4


def test_a_webhook_call_costs_two_statements_its_batch_loads_the_endpoint(
    app, session, receiver, inviter
):

    created, _ = endpoint(session, inviter, receiver)
    engine = app.extensions["portal.engine"]
    counts = {}
    for size in (3, 12):
        for _ in range(size):
            webhooks.send_test_event(session, inviter, created, utcnow())
        session.commit()
        with count_queries(engine) as statements:
            assert Worker(app).run_once().delivered == size
        counts[size] = len(statements)
    # Per call: the endpoint read afresh (it may have been switched off) and the outbox row.
    assert (counts[12] - counts[3]) / 9 <= 2
