"""Webhook calls connect to the address that was checked, not to a fresh DNS answer
(rebinding). The resolver is the transport's collaborator, so each test brings its own;
every address involved is on loopback, and the tests' own receiver listens on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from portal import create_app
from portal.clock import utcnow
from portal.delivery.errors import PermanentFailure
from portal.invites import service as invites
from portal.models import OutboxItem
from portal.webhooks import service as webhooks
from portal.webhooks.channel import AddressRefused, PinnedTransport, WebhookChannel
from portal.webhooks.urls import is_internal
from tests.conftest import app_config

# 127.0.0.2 plays a public address: nothing listens there, so "connected to it" shows as a
# refused connection, and no packet leaves the machine. Every other address keeps the real
# rule, so 127.0.0.1 (where the receiver is) is local.
STAND_IN_PUBLIC = "127.0.0.2"


def internal_but_the_stand_in(address: str) -> bool:
    return address != STAND_IN_PUBLIC and is_internal(address)


class Rebinding:
    """Answers the stand-in public address first, then 127.0.0.1: what a rebinding DNS
    server does between a check and the connection."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return [STAND_IN_PUBLIC] if len(self.calls) == 1 else ["127.0.0.1"]


def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_the_receiver(receiver):
    resolver = Rebinding()
    transport = PinnedTransport(
        allow_private=False, resolver=resolver, internal=internal_but_the_stand_in
    )
    with (
        httpx.Client(transport=transport, timeout=5) as client,
        pytest.raises(httpx.ConnectError) as failed,
    ):
        client.post(f"http://hooks.example.test:{receiver.port}/hook", content=b"{}")
    assert not isinstance(failed.value, AddressRefused)  # checked, allowed, connected there
    assert resolver.calls == [("hooks.example.test", receiver.port)]  # resolved once
    assert receiver.received == []


def test_a_name_that_points_inside_is_refused_before_any_connection(receiver):
    transport = PinnedTransport(allow_private=False, resolver=lambda host, port: ["127.0.0.1"])
    with (
        httpx.Client(transport=transport, timeout=5) as client,
        pytest.raises(AddressRefused, match="private or local network address"),
    ):
        client.post(f"http://hooks.example.test:{receiver.port}/hook", content=b"{}")
    assert receiver.received == []


def test_a_pinned_call_reaches_the_checked_address_with_the_original_host_name(receiver):
    transport = PinnedTransport(
        allow_private=False,
        resolver=lambda host, port: ["127.0.0.1"],
        internal=lambda address: False,  # here the receiver plays the public endpoint
    )
    with httpx.Client(transport=transport, timeout=5) as client:
        reply = client.post(f"http://hooks.example.test:{receiver.port}/hook", content=b"{}")
    assert reply.status_code == 200
    assert [call.path for call in receiver.received] == ["/hook"]
    assert receiver.received[0].headers["Host"] == f"hooks.example.test:{receiver.port}"


def test_the_worker_channel_refuses_for_good_a_name_that_now_points_inside(
    database_url, smtp, session, receiver, admin
):
    """Saved while it pointed outside; at delivery the name answers loopback: nothing is
    sent, and the failure is permanent (retrying would only knock again)."""
    app = create_app(
        app_config(
            database_url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=smtp.port,
            WEBHOOK_ALLOW_PRIVATE_NETWORKS=False,
        )
    )
    webhooks.create_endpoint(
        session,
        admin,
        url=f"http://hooks.example.test:{receiver.port}/hook",
        event_types=["INVITE_REVOKED"],
        description="",
        rules=webhooks.UrlRules(require_https=False, allow_private=True),
        now=utcnow(),
    )
    invitation = invites.send_invitation(
        session, admin, email="guest@example.org", now=utcnow()
    ).invitation
    invites.revoke(session, admin, invitation, utcnow())
    session.commit()
    item = session.exec(select(OutboxItem).where(OutboxItem.kind == "webhook")).one()
    channel = WebhookChannel(app, resolver=lambda host, port: ["127.0.0.1"])
    try:
        with pytest.raises(PermanentFailure, match="private or local network address"):
            channel.send(session, item)
    finally:
        channel.close()
        app.extensions["portal.engine"].dispose()
    assert receiver.received == []
