"""The audit log's writing side: what record() keeps, what it never keeps, and that each
change of issue 8's list writes its row in the change's own transaction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from portal import sealing
from portal.api import tokens
from portal.audit import service as audit
from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.email_templates import service as templates
from portal.errors import Invalid
from portal.invites import service as invites
from portal.models import ApiToken, AuditEvent, Member, WebhookEndpoint
from portal.orgs.settings import InvitationSettingsInput, update_invitation_settings
from portal.roles import Role
from portal.webhooks import service as webhooks
from tests.factories import make_member

RULES = webhooks.UrlRules(require_https=False, allow_private=True)


@pytest.fixture
def admin(session, org, unit):
    return make_member(
        session, org, Role.ADMIN_TENANT, unit=unit, email="ada@example.org", full_name="Ada Admin"
    )


def events(session: Session, action: str | None = None) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.exec(query).all())


def settings_input(**changes) -> InvitationSettingsInput:
    values = {
        "enabled": True,
        "min_inviter_role": Role.USER,
        "expiry_days": 14,
        "daily_limit_per_member": 50,
        "bind_invitee_email": True,
        "name": "Harbour Club",
        "description": "",
        "brand_color": "#3b5bdb",
        "logo_url": "",
        **changes,
    }
    return InvitationSettingsInput(**values)


def new_endpoint(session, admin, url="http://127.0.0.1:9/hook"):
    endpoint, secret = webhooks.create_endpoint(
        session,
        admin,
        url=url,
        event_types=["INVITE_LINKED"],
        description="CRM",
        rules=RULES,
        now=utcnow(),
    )
    session.commit()
    return endpoint, secret


# --- record() --------------------------------------------------------------------------------


def test_record_keeps_only_the_fields_that_changed_with_who_and_when(session, admin):
    now = utcnow()
    audit.record(
        session,
        admin,
        "template.updated",
        audit.Target("template", "tpl-1", "Friendly"),
        before={"name": "Friendly", "subject": "Hi", "body": "Same"},
        after={"name": "Friendly", "subject": "Hello", "body": "Same"},
        now=now,
    )
    session.commit()
    (event,) = events(session)
    assert (event.before, event.after) == ({"subject": "Hi"}, {"subject": "Hello"})
    assert (event.actor_id, event.actor_name, event.actor_email) == (
        admin.id,
        "Ada Admin",
        "ada@example.org",
    )
    assert event.organization_id == admin.organization_id
    assert event.created_at == now
    assert event.public_id.startswith("ae-") and len(event.public_id) == 35
    # Outside a request: no address, and the portal itself as the channel.
    assert (event.ip, event.channel) == (None, "system")


def test_saving_without_changing_anything_writes_no_row(session, admin):
    update_invitation_settings(session, admin, settings_input(), utcnow())
    session.commit()
    assert events(session) == []


def test_an_unknown_action_is_a_programming_error_not_a_silent_row(session, admin):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(session, admin, "settings.typo", audit.Target("x", "", ""), now=utcnow())


def test_the_actor_keeps_the_name_and_address_they_had(session, admin):
    update_invitation_settings(session, admin, settings_input(expiry_days=30), utcnow())
    session.commit()
    admin.full_name, admin.email = "Ada Renamed", "ada.new@example.org"
    session.add(admin)
    session.commit()
    (event,) = events(session)
    assert (event.actor_name, event.actor_email) == ("Ada Admin", "ada@example.org")


def test_secret_fields_never_keep_their_values_whoever_passes_them(session, admin):
    audit.record(
        session,
        admin,
        "webhook.secret_rolled",
        audit.Target("webhook", "we-1", "https://example.org"),
        before={"sealed_secret": "old-sealed", "password_hash": "$argon2id$old"},
        after={"sealed_secret": "new-sealed", "password_hash": "$argon2id$new"},
        now=utcnow(),
    )
    session.commit()
    (event,) = events(session)
    assert event.before == {}
    assert event.after == {"sealed_secret": "changed", "password_hash": "changed"}


# --- one transaction -------------------------------------------------------------------------


def test_the_row_is_part_of_the_changes_transaction(session, engine, admin):
    update_invitation_settings(session, admin, settings_input(expiry_days=30), utcnow())
    session.flush()
    with Session(engine) as elsewhere:  # another connection sees neither yet
        assert elsewhere.exec(select(AuditEvent)).all() == []
    session.commit()
    with Session(engine) as elsewhere:
        assert len(elsewhere.exec(select(AuditEvent)).all()) == 1


def test_a_change_rolled_back_leaves_no_audit_row(session, admin, org):
    update_invitation_settings(session, admin, settings_input(expiry_days=30), utcnow())
    session.rollback()
    assert events(session) == []


def test_a_refused_change_writes_no_row(session, admin):
    with pytest.raises(Invalid):
        templates.create(session, admin, templates.TemplateInput("", "Hi", "Body"), utcnow())
    session.rollback()
    template = templates.create(
        session, admin, templates.TemplateInput("Friendly", "Hi", "Body"), utcnow()
    )
    session.commit()
    with pytest.raises(Invalid):  # an edit that empties the name
        templates.update_template(
            session, admin, template, templates.TemplateInput("", "Hi", "Body"), utcnow()
        )
    session.rollback()
    assert [e.action for e in events(session)] == ["template.created"]


# --- every change of the list --------------------------------------------------------


def test_invitation_settings_changes_are_logged_before_and_after(session, admin, org):
    update_invitation_settings(
        session,
        admin,
        settings_input(min_inviter_role=Role.HR_LOCAL, expiry_days=30, name="Harbour Rowing"),
        utcnow(),
    )
    session.commit()
    (event,) = events(session, "settings.invitations.updated")
    assert event.before == {"min_inviter_role": "USER", "expiry_days": 14, "name": "Harbour Club"}
    assert event.after == {
        "min_inviter_role": "HR_LOCAL",
        "expiry_days": 30,
        "name": "Harbour Rowing",
    }
    assert (event.target_type, event.target_id, event.target_label) == (
        "organization",
        org.slug,
        "Harbour Rowing",
    )


def test_every_template_change_is_logged(session, admin):
    now = utcnow()
    first = templates.create(session, admin, templates.TemplateInput("Friendly", "Hi", "B"), now)
    templates.update_template(
        session, admin, first, templates.TemplateInput("Friendly", "Hello", "B"), now
    )
    copy = templates.duplicate(session, admin, first, now)
    templates.set_default(session, admin, copy, now)
    templates.set_default(session, admin, None, now)
    templates.delete(session, admin, first, now)
    session.commit()
    logged = events(session)
    assert [e.action for e in logged] == [
        "template.created",
        "template.updated",
        "template.duplicated",
        "template.default_changed",
        "template.default_changed",
        "template.deleted",
    ]
    created, updated, duplicated, chosen, reset, deleted = logged
    assert created.after == {"name": "Friendly", "subject": "Hi", "body": "B"}
    assert (updated.before, updated.after) == ({"subject": "Hi"}, {"subject": "Hello"})
    assert duplicated.target_id == copy.public_id
    assert duplicated.after["copied_from"] == "Friendly"
    assert chosen.before == {"default": "the built-in e-mail"}
    assert chosen.after == {"default": f"Copy of Friendly ({copy.public_id})"}
    assert reset.after == {"default": "the built-in e-mail"}
    assert deleted.target_id == first.public_id and deleted.before["name"] == "Friendly"


def test_choosing_the_default_that_already_is_writes_nothing(session, admin):
    now = utcnow()
    first = templates.create(session, admin, templates.TemplateInput("Friendly", "Hi", "B"), now)
    templates.set_default(session, admin, first, now)
    session.commit()
    templates.set_default(session, admin, first, now)
    session.commit()
    assert len(events(session, "template.default_changed")) == 1


def test_webhook_creation_enabling_disabling_and_rolling_are_logged(session, admin):
    endpoint, _secret = new_endpoint(session, admin)
    webhooks.set_enabled(session, admin, endpoint, False, utcnow())
    session.commit()
    webhooks.set_enabled(session, admin, endpoint, True, utcnow())
    session.commit()
    webhooks.roll_secret(session, admin, endpoint, utcnow())
    session.commit()
    created, disabled, enabled, rolled = events(session)
    assert created.action == "webhook.created"
    assert created.after == {
        "url": "http://127.0.0.1:9/hook",
        "description": "CRM",
        "event_types": ["INVITE_LINKED"],
        "enabled": True,
        "secret": "changed",
    }
    assert (disabled.action, disabled.before["enabled"], disabled.after["enabled"]) == (
        "webhook.disabled",
        True,
        False,
    )
    assert (enabled.action, enabled.after["enabled"]) == ("webhook.enabled", True)
    assert (rolled.action, rolled.before, rolled.after) == (
        "webhook.secret_rolled",
        {},
        {"secret": "changed"},
    )
    assert {e.target_id for e in (created, disabled, enabled, rolled)} == {endpoint.public_id}


def test_a_rolled_secret_appears_in_no_audit_row(session, admin):
    endpoint, first_secret = new_endpoint(session, admin)
    rolled = webhooks.roll_secret(session, admin, endpoint, utcnow())
    session.commit()
    created = tokens.create_token(
        session,
        admin,
        name="CRM",
        owner_public_id=admin.public_id,
        scopes=["read-invites"],
        expires_on=None,
        now=utcnow(),
    )
    session.commit()
    session.expire_all()
    sealed = session.get(WebhookEndpoint, endpoint.id).sealed_secret
    digest = session.get(ApiToken, created.token.id).token_digest
    password_hash = session.get(Member, admin.id).password_hash
    assert sealing.unseal(sealed) == rolled
    logged = json.dumps([e.model_dump(mode="json") for e in events(session)])
    assert "webhook.secret_rolled" in logged and "token.created" in logged
    for secret in (first_secret, rolled, sealed, created.secret, digest, password_hash):
        assert secret not in logged
    # Nor any recognisable piece of them (the token's shown prefix included).
    assert created.secret[len(tokens.TOKEN_PREFIX) :][:8] not in logged
    assert rolled.removeprefix("whsec_")[:8] not in logged


def test_token_creation_and_revocation_are_logged_once(session, admin, org):
    owner = make_member(session, org, Role.USER, full_name="Olga Owner")
    created = tokens.create_token(
        session,
        admin,
        name="Website",
        owner_public_id=owner.public_id,
        scopes=["read-invites", "create-invites"],
        expires_on=None,
        now=utcnow(),
    )
    session.commit()
    tokens.revoke_token(session, admin, created.token, utcnow())
    session.commit()
    tokens.revoke_token(session, admin, created.token, utcnow())  # twice: nothing new
    session.commit()
    made, revoked = events(session)
    assert (made.action, made.target_id, made.target_label) == (
        "token.created",
        created.token.public_id,
        "Website",
    )
    assert made.after == {
        "owner": f"Olga Owner ({owner.public_id})",
        "scopes": ["read-invites", "create-invites"],
        "expires_at": None,
        "token": "changed",
    }
    assert revoked.action == "token.revoked"
    assert revoked.before == {"revoked_at": None} and revoked.after["revoked_at"]


def test_a_revoke_by_someone_other_than_the_inviter_is_logged(session, org, unit, admin):
    member = make_member(session, org, Role.USER, unit=unit, full_name="Max Member")
    hr = make_member(session, org, Role.HR_LOCAL, unit=unit, full_name="Hana HR")
    own = invites.send_invitation(session, member, email="a@example.org", now=utcnow())
    other = invites.send_invitation(session, member, email="b@example.org", now=utcnow())
    session.commit()
    invites.revoke(session, member, own.invitation, utcnow())  # the inviter: their own business
    invites.revoke(session, hr, other.invitation, utcnow())
    session.commit()
    (event,) = events(session)
    assert (event.action, event.actor_id, event.target_id) == (
        "invitation.revoked",
        hr.id,
        other.invitation.public_id,
    )
    assert event.target_label == "b@example.org, invited by Max Member"
    assert (event.before, event.after) == ({"status": "PENDING"}, {"status": "REVOKED"})


def test_a_member_created_on_the_command_line_is_logged_without_an_actor(app, session, org):
    result = app.test_cli_runner().invoke(
        args=[
            "portal",
            "create-member",
            "--org",
            org.slug,
            "--email",
            "Kim@Example.org",
            "--name",
            "Kim",
            "--role",
            "HR_TENANT",
            "--password",
            "long enough",
        ]
    )
    assert result.exit_code == 0, result.output
    (event,) = events(session)
    member = session.exec(select(Member).where(Member.email == "kim@example.org")).one()
    assert (event.action, event.actor_id, event.channel, event.ip) == (
        "member.created",
        None,
        "cli",
        None,
    )
    assert (event.organization_id, event.target_id) == (org.id, member.public_id)
    assert event.after == {
        "email": "kim@example.org",
        "full_name": "Kim",
        "role": "HR_TENANT",
        "status": "active",
        "unit_id": None,
        "password": "changed",
    }
    assert member.password_hash not in json.dumps(event.after)


def test_the_worker_switching_off_a_failing_endpoint_is_logged_as_the_portal(
    app, session, receiver, admin
):
    endpoint, _ = new_endpoint(session, admin, url=receiver.url)
    endpoint.failing_since = utcnow() - timedelta(hours=24, minutes=1)
    session.add(endpoint)
    webhooks.send_test_event(session, admin, endpoint, utcnow())
    session.commit()
    receiver.status = 500
    Worker(app).run_once()
    (event,) = events(session, "webhook.disabled")
    assert (event.actor_id, event.channel, event.organization_id) == (
        None,
        "system",
        admin.organization_id,
    )
    assert event.after["enabled"] is False
    assert "Disabled automatically" in event.after["disabled_reason"]
