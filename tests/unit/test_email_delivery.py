"""E-mail delivery that no single item can poison, against the tests' real SMTP server
(aiosmtpd), with and without SMTPUTF8: addresses the server can't take, failures in the middle
of a message, and stored text that would otherwise add a header."""

from __future__ import annotations

import logging
import smtplib

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.delivery.worker import UNEXPECTED, Worker
from portal.email_addresses import EVERY_ADDRESS
from portal.invites import service as invites
from portal.models import Invitation, Member, OutboxItem

HEADERS = ["Content-Type", "MIME-Version", "Subject", "From", "To", "Date", "Message-ID"]


def invite(session, inviter, email: str, **extra) -> Invitation:
    """An invitation as stored before addresses were checked against the mail server."""
    sent = invites.send_invitation(
        session, inviter, email=email, now=utcnow(), reach=EVERY_ADDRESS, **extra
    )
    session.commit()
    return sent.invitation


def fresh(session, invitation: Invitation) -> Invitation:
    session.expire_all()
    return session.get(Invitation, invitation.id)


def outbox_item(session, invitation: Invitation) -> OutboxItem:
    session.expire_all()
    return session.exec(
        select(OutboxItem).where(
            OutboxItem.invitation_id == invitation.id, OutboxItem.topic == "invitation"
        )
    ).one()


# --- addresses ----------------------------------------------------------------------------


def test_an_address_the_server_cant_take_fails_alone_and_the_next_email_is_delivered(
    app, session, smtp, inviter
):
    smtp.smtputf8 = False
    stored = invite(session, inviter, "zoë@example.org")
    good = invite(session, inviter, "guest@example.org")
    outcome = Worker(app).run_once()
    assert (outcome.delivered, outcome.failed, outcome.retrying) == (1, 1, 0)
    assert [e.rcpt_tos for e in smtp.envelopes] == [["guest@example.org"]]
    stored = fresh(session, stored)
    assert stored.delivery_status == "failed"
    assert stored.delivery_error == (
        "Our mail server can't deliver to addresses with accents or other non-ASCII letters "
        "before the @."
    )
    assert fresh(session, good).delivery_status == "sent"


def test_a_server_offering_smtputf8_gets_the_address_as_it_is(app, session, smtp, inviter):
    smtp.smtputf8 = True
    invitation = invite(session, inviter, "zoë@example.org")
    assert Worker(app).run_once().delivered == 1
    (envelope,) = smtp.envelopes
    assert envelope.rcpt_tos == ["zoë@example.org"]
    assert "SMTPUTF8" in envelope.mail_options
    assert smtp.messages[0]["To"] == "zoë@example.org"
    assert fresh(session, invitation).delivery_status == "sent"


def test_a_non_ascii_domain_travels_in_its_idna_form(app, session, smtp, inviter):
    smtp.smtputf8 = False
    invitation = invites.send_invitation(
        session, inviter, email="guest@bücher.de", now=utcnow()
    ).invitation
    session.commit()
    assert invitation.email == "guest@bücher.de"  # stored and shown as typed
    assert Worker(app).run_once().delivered == 1
    (envelope,) = smtp.envelopes
    assert envelope.rcpt_tos == ["guest@xn--bcher-kva.de"]
    assert "SMTPUTF8" not in envelope.mail_options
    assert smtp.messages[0]["To"] == "guest@xn--bcher-kva.de"


def test_a_stored_address_with_a_line_break_fails_alone_with_a_reason(app, session, smtp, inviter):
    broken = invite(session, inviter, "eve@example.org")
    broken.email = "eve\r\nRCPT TO:<victim@example.org>@example.org"  # stored under older rules
    session.add(broken)
    session.commit()
    good = invite(session, inviter, "guest@example.org")
    outcome = Worker(app).run_once()
    assert (outcome.delivered, outcome.failed) == (1, 1)
    assert [e.rcpt_tos for e in smtp.envelopes] == [["guest@example.org"]]
    error = fresh(session, broken).delivery_error
    assert error.startswith("eve RCPT TO:<victim@example.org>@example.org isn't an address")
    assert fresh(session, good).delivery_status == "sent"


# --- failures in the middle of a message ------------------------------------------------------


def test_a_refused_recipient_reads_as_a_sentence_and_the_next_email_is_delivered(
    app, session, smtp, inviter
):
    smtp.refuse["nobody@example.org"] = "550 5.1.1 No such user here"
    refused = invite(session, inviter, "nobody@example.org")
    good = invite(session, inviter, "guest@example.org")
    outcome = Worker(app).run_once()
    assert (outcome.delivered, outcome.failed) == (1, 1)
    assert fresh(session, refused).delivery_error == (
        "The mail server refused this address. It said: “550 5.1.1 No such user here”."
    )
    assert fresh(session, good).delivery_status == "sent"


def test_a_server_that_hangs_up_after_a_refusal_does_not_fail_the_next_email(
    app, session, smtp, inviter
):
    smtp.refuse["busy@example.org"] = "421 4.7.0 Too many errors, closing the connection"
    busy = invite(session, inviter, "busy@example.org")
    good = invite(session, inviter, "guest@example.org")
    outcome = Worker(app).run_once()
    assert (outcome.delivered, outcome.retrying) == (1, 1)
    assert fresh(session, good).delivery_status == "sent"
    assert fresh(session, busy).delivery_error.startswith(
        "The mail server can't take e-mail for this address just now."
    )


def test_an_unexpected_error_mid_message_is_logged_and_the_next_email_is_delivered(
    app, session, smtp, inviter, monkeypatch, caplog
):
    """The server has accepted MAIL FROM and RCPT TO when our side fails: it must be told to
    start over (RSET) before the next e-mail, and the member sees a sentence, not a repr."""
    real_data = smtplib.SMTP.data
    calls = []

    def data_failing_once(self, msg):
        calls.append(msg)
        if len(calls) == 1:
            raise RuntimeError("a bug while sending")
        return real_data(self, msg)

    monkeypatch.setattr(smtplib.SMTP, "data", data_failing_once)
    first = invite(session, inviter, "first@example.org")
    second = invite(session, inviter, "second@example.org")
    with caplog.at_level(logging.ERROR, logger="portal.delivery.worker"):
        outcome = Worker(app).run_once()
    assert (outcome.delivered, outcome.retrying, outcome.failed) == (1, 1, 0)
    assert [e.rcpt_tos for e in smtp.envelopes] == [["second@example.org"]]
    first = fresh(session, first)
    assert first.delivery_status == "queued"
    assert first.delivery_error == UNEXPECTED["email"]
    assert outbox_item(session, first).last_error == UNEXPECTED["email"]
    assert "RuntimeError" not in first.delivery_error
    assert "RuntimeError: a bug while sending" in caplog.text  # the detail is in the log
    assert fresh(session, second).delivery_status == "sent"


def test_a_delivery_error_is_never_an_exception_repr(app, session, smtp, inviter):
    """The issue's case: a header the classic email API refused showed as
    `HeaderParseError(...)` on the invitation."""
    inviter.full_name = "Eve\nBcc: victim@example.org"
    session.add(inviter)
    session.commit()
    invitation = invite(session, inviter, "guest@example.org")
    Worker(app).run_once()
    invitation = fresh(session, invitation)
    assert "Error(" not in invitation.delivery_error
    assert invitation.delivery_status == "sent"


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("Eve\r\nBcc: victim@example.org", "Eve Bcc: victim@example.org"),
        ("Eve\nReply-To: eve@evil.example", "Eve Reply-To: eve@evil.example"),
        ("Eve\rBcc: victim@example.org", "Eve Bcc: victim@example.org"),
        (
            "Eve\x1b\x07Bcc: victim@example.org",
            "Eve Bcc: victim@example.org",
        ),  # no NUL: PostgreSQL refuses it
        ("Zoë\r\nBcc: victim@example.org", "Zoë Bcc: victim@example.org"),
        ("Eve\u2028Bcc: victim@example.org", "Eve Bcc: victim@example.org"),
        ("Eve\x85Bcc: victim@example.org", "Eve Bcc: victim@example.org"),
    ],
)
def test_a_stored_inviter_name_cant_add_a_header_and_the_email_is_still_delivered(
    app, session, smtp, inviter, name, subject
):
    inviter.full_name = name  # stored before control characters were refused
    session.add(inviter)
    session.commit()
    invitation = invite(session, inviter, "guest@example.org", full_name="Gina")
    invitation.full_name = "Gina\r\nBcc: x@y.z"  # so is the invitee's, in the e-mail's body
    session.add(invitation)
    session.commit()
    assert Worker(app).run_once().delivered == 1
    (message,) = smtp.messages
    assert list(message.keys()) == HEADERS
    assert message["Subject"] == f"{subject} invited you to join Harbour Club"
    assert message["To"] == "guest@example.org"
    assert [e.rcpt_tos for e in smtp.envelopes] == [["guest@example.org"]]
    head = smtp.envelopes[0].content.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\nbcc:" not in head and b"\nreply-to:" not in head
    assert fresh(session, invitation).delivery_status == "sent"


def test_a_stored_organisation_name_cant_add_a_header(app, session, smtp, org, inviter):
    org.name = "Harbour\r\nBcc: victim@example.org"
    session.add(org)
    session.commit()
    invite(session, inviter, "guest@example.org")
    assert Worker(app).run_once().delivered == 1
    (message,) = smtp.messages
    assert list(message.keys()) == HEADERS
    assert message["Subject"] == "Ines Inviter invited you to join Harbour Bcc: victim@example.org"


def test_a_stored_member_name_cant_add_a_header_to_the_accepted_email(app, session, smtp, inviter):
    sent = invites.send_invitation(session, inviter, email="gina@example.org", now=utcnow())
    session.commit()
    member = invites.accept(
        session,
        invites.digest(sent.secret),
        email="gina@example.org",
        full_name="Gina",
        password="long enough password",
        now=utcnow(),
    )
    session.commit()
    member = session.get(Member, member.id)
    member.full_name = "Gina\r\nBcc: victim@example.org"
    session.add(member)
    session.commit()
    while Worker(app).run_once().total:
        pass
    accepted = smtp.to("ines@example.org")
    assert len(accepted) == 1
    assert list(accepted[0].keys()) == HEADERS
    assert accepted[0]["Subject"] == "Gina Bcc: victim@example.org accepted your invitation"


def test_the_sender_is_built_from_its_parts(app, session, smtp, inviter):
    app.config["MAIL_DEFAULT_SENDER"] = "Zoë's Portal <no-reply@portal.test>"
    invite(session, inviter, "guest@example.org")
    assert Worker(app).run_once().delivered == 1
    (message,) = smtp.messages
    assert message["From"].addresses[0].display_name == "Zoë's Portal"
    assert message["From"].addresses[0].addr_spec == "no-reply@portal.test"
    assert smtp.envelopes[0].mail_from == "no-reply@portal.test"
