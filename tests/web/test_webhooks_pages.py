"""Settings → Webhooks and Settings → Delivery through the test client."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from portal.delivery.worker import Worker
from portal.models import OutboxItem, WebhookEndpoint
from portal.roles import Role
from portal.sealing import unseal
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org

URL = "/admin/settings/webhooks"
SECRET = re.compile(r'id="signing-secret" class="secret" value="(whsec_[^"]+)"')
COPY_SECRET = (
    '<button type="button" class="button small" hidden data-copy="signing-secret"'
    ' data-copy-status="secret-copy-status">Copy secret</button>'
)


def add_endpoint(client, url, events=("INVITE_LINKED",)):
    return client.post(
        URL,
        data={
            "url": url,
            "event_types": list(events),
            "description": "CRM",
            "csrf_token": csrf_token(client, URL),
        },
    )


def test_adding_an_endpoint_shows_its_secret_once(admin_client, session, receiver):
    response = add_endpoint(admin_client, receiver.url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    secret = SECRET.search(page).group(1)
    endpoint = session.exec(select(WebhookEndpoint)).one()
    assert unseal(endpoint.sealed_secret) == secret and secret not in endpoint.sealed_secret
    again = admin_client.get(f"{URL}/{endpoint.public_id}").get_data(as_text=True)
    assert secret not in again and COPY_SECRET not in again
    assert all(secret not in value for _, value in response.headers)  # not in any cookie


def test_the_shown_secret_has_a_copy_button_and_an_announcing_status(admin_client, receiver):
    page = add_endpoint(admin_client, receiver.url).get_data(as_text=True)
    # One copy script for the whole portal (static/js/portal.js): it reads the field the
    # button names, and announces "Copied" in the live region the button names.
    assert '<label for="signing-secret">Signing secret</label>' in page
    assert COPY_SECRET in page
    status = '<p id="secret-copy-status" class="copy-status" role="status" aria-live="polite">'
    assert status in page


def test_rolling_the_secret_shows_a_new_one(admin_client, session, receiver):
    add_endpoint(admin_client, receiver.url)
    endpoint = session.exec(select(WebhookEndpoint)).one()
    old = unseal(endpoint.sealed_secret)
    page = admin_client.post(
        f"{URL}/{endpoint.public_id}/roll-secret",
        data={"csrf_token": csrf_token(admin_client, URL)},
    ).get_data(as_text=True)
    session.refresh(endpoint)
    new = unseal(endpoint.sealed_secret)
    assert new != old and SECRET.search(page).group(1) == new and COPY_SECRET in page


def test_invalid_endpoints_are_refused_with_a_reason(admin_client, session):
    response = add_endpoint(admin_client, "not a url")
    assert response.status_code == 422
    assert "Enter a full address" in response.get_data(as_text=True)
    response = add_endpoint(admin_client, "https://example.org/hook", events=())
    assert "Choose at least one" in response.get_data(as_text=True)
    assert session.exec(select(WebhookEndpoint)).all() == []


def test_private_addresses_are_refused_outside_development(app, admin_client, session):
    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = False
    response = add_endpoint(admin_client, "http://127.0.0.1:8080/hook")
    assert response.status_code == 422
    assert "private or local network" in response.get_data(as_text=True)


def test_a_test_event_is_delivered_and_listed_with_the_status(app, admin_client, session, receiver):
    add_endpoint(admin_client, receiver.url)
    endpoint = session.exec(select(WebhookEndpoint)).one()
    admin_client.post(
        f"{URL}/{endpoint.public_id}/test", data={"csrf_token": csrf_token(admin_client, URL)}
    )
    Worker(app).run_once()
    assert len(receiver.received) == 1
    page = admin_client.get(f"{URL}/{endpoint.public_id}").get_data(as_text=True)
    assert "INVITE_TEST" in page and "<td>200</td>" in page
    assert "&lt;b&gt;ok" not in page and "<b>ok" not in page  # receiver bodies aren't shown


def test_a_failed_delivery_can_be_retried_by_hand(app, admin_client, session, receiver):
    add_endpoint(admin_client, receiver.url)
    endpoint = session.exec(select(WebhookEndpoint)).one()
    admin_client.post(
        f"{URL}/{endpoint.public_id}/test", data={"csrf_token": csrf_token(admin_client, URL)}
    )
    app.config["OUTBOX_GIVE_UP_HOURS"] = 0  # fail for good on the first error
    receiver.status = 500
    Worker(app).run_once()
    item = session.exec(select(OutboxItem)).one()
    assert item.status == "failed"
    page = admin_client.get(f"{URL}/{endpoint.public_id}").get_data(as_text=True)
    assert "the receiver answered 500" in page and ">Retry</button>" in page
    admin_client.post(
        f"{URL}/{endpoint.public_id}/deliveries/{item.id}/retry",
        data={"csrf_token": csrf_token(admin_client, URL)},
    )
    receiver.status = 200
    app.config["OUTBOX_GIVE_UP_HOURS"] = 24
    assert Worker(app).run_once().delivered == 1


def test_a_disabled_endpoint_is_explained(admin_client, session, receiver):
    add_endpoint(admin_client, receiver.url)
    endpoint = session.exec(select(WebhookEndpoint)).one()
    endpoint.enabled = False
    endpoint.disabled_reason = "Disabled automatically: every delivery has failed since …"
    session.add(endpoint)
    session.commit()
    for path in (URL, f"{URL}/{endpoint.public_id}"):
        assert "Disabled automatically" in admin_client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("path", [URL, "/admin/settings/delivery"])
def test_only_organisation_admins_reach_these_pages(client, session, path):
    org = make_org(session)
    login(client, make_member(session, org, Role.ADMIN_LOCAL).email)
    assert client.get(path).status_code == 403


def test_endpoints_of_another_organisation_are_not_found(client, session, receiver):
    other = make_org(session)
    from portal.clock import utcnow
    from portal.webhooks import service as webhooks

    foreign, _ = webhooks.create_endpoint(
        session,
        make_member(session, other, Role.ADMIN_TENANT),
        url=receiver.url,
        event_types=["INVITE_LINKED"],
        description="",
        now=utcnow(),
        rules=webhooks.UrlRules(require_https=False, allow_private=True),
    )
    session.commit()
    login(client, make_member(session, make_org(session), Role.ADMIN_TENANT).email)
    assert client.get(f"{URL}/{foreign.public_id}").status_code == 404


def test_the_delivery_page_counts_the_queue(app, admin_client, session, smtp, admin):
    from portal.clock import utcnow
    from portal.invites import service as invites

    for n in range(3):
        invites.send_invitation(session, admin, email=f"g{n}@example.org", now=utcnow())
    session.commit()
    smtp.stop()
    Worker(app).run_once()
    page = admin_client.get("/admin/settings/delivery").get_data(as_text=True)
    assert "<td>E-mails</td><td>0</td><td>3</td><td>0</td><td>0</td>" in page
    result = app.test_cli_runner().invoke(args=["portal", "outbox", "status"])
    assert re.search(r"email\s+0\s+3\s+0\s+0\s+\d+ s", result.output), result.output
