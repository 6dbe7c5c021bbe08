"""Bad input, form by form and API endpoint by endpoint (issue 8).

Every text field of every form and every string of every API body gets: each control
character, a lone surrogate (the API; forms can't carry one, see below), a value one
character too long, and legitimate non-ASCII text. The refusals are 422 with the error next
to the field (forms) or in problem+json `errors` under the field's name (API), and leave the
database exactly as it was; the legitimate values are stored as typed.

`test_every_write_route_is_in_the_bad_input_suite` walks the URL map: a new POST route
fails it until it is added to a case here (or, with a reason, to the exclusions).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, select

from portal.clock import utcnow
from portal.email_templates import service as email_templates
from portal.events import service as events
from portal.invites import service as invites
from portal.models import (
    ApiToken,
    Benefit,
    EmailTemplate,
    Event,
    EventGuest,
    Invitation,
    Member,
    MembershipApplication,
    MembershipSettings,
    Organization,
    RegistrationQuestion,
    RewardGrant,
    RewardKind,
    RewardRule,
    RewardTrigger,
    ShareLink,
    WebhookEndpoint,
)
from portal.referrals import service as referrals
from portal.rewards import service as rewards
from portal.roles import MemberStatus, Role
from portal.validation import text_problem
from tests.conftest import csrf_token, sign_in
from tests.factories import make_member, make_org, settings
from tests.web.api_support import Api, make_token
from tests.web.form_support import field_error, form_on_page

# Each refused character, inserted in the middle of an otherwise good value.
CONTROL_CHARACTERS = {
    "nul": "\x00",
    "tab": "\t",
    "line-feed": "\n",
    "carriage-return": "\r",
    "escape": "\x1b",
    "delete": "\x7f",
    "next-line-c1": "\x85",
    "csi-c1": "\x9b",
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
}
# What a multi-line field keeps (a textarea sends \r\n); the rest it refuses like the others.
MULTI_LINE_KEEPS = {"tab", "line-feed"}
LONE_SURROGATE = "\ud800"
NAMES = ("Zoë Ångström", "李小龙")
LETTER = "Liebe Zoë,\r\n\r\n\tbis bald!\n李小龙"  # a textarea's \r\n, an indent, no ASCII only


@dataclass(frozen=True)
class Text:
    """One text field as the suite attacks it."""

    name: str  # as posted (form field name, or JSON key)
    what: str  # the field in plain words: refusals start with it
    max_length: int
    kind: str = "text"  # text | email | url | color | secret | id
    multiline: bool = False
    # Where an accepted value is stored, to show legitimate non-ASCII text is kept as typed.
    stored: tuple[type[SQLModel], str] | None = None

    def sample(self) -> str:
        return {
            "email": "alex@example.org",
            "url": "https://example.org/hooks",
            "color": "#2f6f4f",
            "secret": "a long enough password",
            "id": "iv-0123456789abcdef",
        }.get(self.kind, "Alex Example")

    def with_character(self, character: str, base: str | None = None) -> str:
        value = base or self.sample()
        middle = len(value) // 2
        return value[:middle] + character + value[middle:]

    def too_long(self) -> str:
        n = self.max_length + 1
        if self.kind == "email":
            # Legal labels, too long as a whole: 60 + "@" + 4 × 63 + dots + a top label.
            local, labels = "a" * 60, ".".join(["d" * 63] * 4)
            return f"{local}@{labels}." + "x" * (n - len(local) - len(labels) - 2)
        if self.kind == "url":
            return "https://example.org/" + "a" * (n - len("https://example.org/"))
        if self.kind == "color":
            return "#2f6f4f" + "0" * (n - 7)
        return "x" * n

    def legitimate(self) -> tuple[str, ...]:
        if self.stored is None:
            return ()
        return (LETTER,) if self.multiline else NAMES


def _refused(spec: Text, value: str) -> str:
    problem = text_problem(value, what=spec.what, multiline=spec.multiline)
    assert problem is not None, f"{value!r} is not bad input for {spec.name}"
    return problem


def bad_characters(spec: Text) -> list[str]:
    return [
        name for name in CONTROL_CHARACTERS if not (spec.multiline and name in MULTI_LINE_KEEPS)
    ]


# --- the database, before and after -----------------------------------------------------

# Columns a refused request may still write, each for a reason of its own.
VOLATILE_COLUMNS = {
    ("api_token", "last_used_at"),  # the API records a token's use before reading the body
}
# Tables a refusal may add to on purpose (say, a count of refused sends), each with its reason.
GROWS_ON_REFUSAL: set[str] = set()


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (less VOLATILE_COLUMNS): "nothing half-written" means
    this doesn't change, whether a refusal would have inserted or updated."""
    session.expire_all()
    tables = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in GROWS_ON_REFUSAL:
            continue
        columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
        rows = session.execute(sa_select(*columns)).all()
        tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    session.rollback()
    return tables


def is_stored(session: Session, stored: tuple[type[SQLModel], str], value: str) -> bool:
    model, column = stored
    session.expire_all()
    # As typed, or with a textarea's \r\n made \n (the services that normalise do).
    expected = {value.strip(), value.replace("\r\n", "\n").strip()}
    found = session.exec(select(model).where(getattr(model, column).in_(expected))).first()
    session.rollback()
    return found is not None


# --- forms ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormCase:
    id: str
    endpoints: frozenset[str]
    # Builds the world and signs in as needed; answers (the form's page, where it posts).
    open: Callable[[FlaskClient, Session], tuple[str, str]]
    fields: tuple[Text, ...]
    overrides: dict[str, list[str]] = field(default_factory=dict)  # what the page can't fill

    def data(self, client: FlaskClient, session: Session, name: str, value: str):
        page, target = self.open(client, session)
        data = form_on_page(client, page, self.fields[0].name)
        data.update(self.overrides)
        data[name] = [value]
        return target, data


# The page builders run inside parametrised cases with no fixtures of their own to ask for.
def as_admin(client: FlaskClient, session: Session) -> Member:
    admin = make_member(session, make_org(session, "Bad Input Club"), Role.ADMIN_TENANT)
    sign_in(client, admin)
    return admin


def _invite_page(client, session):
    as_admin(client, session)
    return "/invites", "/invites"


def _join_page(client, session):
    org = make_org(session, "Bad Input Club")
    settings(session, org, bind_invitee_email=False)  # so the posted address counts
    inviter = make_member(session, org, Role.ADMIN_TENANT)
    sent = invites.send_invitation(session, inviter, email="new.person@example.org", now=utcnow())
    session.commit()
    assert client.get(f"/join?invite_id={sent.secret}").status_code == 302
    return "/join", "/join"


def _new_share_link_page(client, session):
    as_admin(client, session)
    return "/invites", "/invites/links"


def _share_link_join_page(client, session):
    org = make_org(session, "Bad Input Club")
    owner = make_member(session, org, Role.ADMIN_TENANT)
    link = referrals.ensure_default_link(session, owner, utcnow())
    session.commit()
    assert client.get(f"/r/{referrals.code_of(link)}").status_code == 302
    return "/r", "/r"


def _login_page(_client, _session):
    return "/login", "/login"


def _new_template_page(client, session):
    as_admin(client, session)
    return "/admin/settings/email-templates/new", "/admin/settings/email-templates/new"


def _edit_template_page(client, session):
    admin = as_admin(client, session)
    template = email_templates.create(
        session,
        admin,
        email_templates.TemplateInput("Spring", "Hello from {{ organization_name }}", "Hi."),
        utcnow(),
    )
    session.commit()
    path = f"/admin/settings/email-templates/{template.public_id}"
    return path, path


def _settings_page(client, session):
    as_admin(client, session)
    return "/admin/settings/invitations", "/admin/settings/invitations"


def _tokens_page(client, session):
    as_admin(client, session)
    return "/admin/settings/api-tokens", "/admin/settings/api-tokens"


def _webhooks_page(client, session):
    as_admin(client, session)
    return "/admin/settings/webhooks", "/admin/settings/webhooks"


def _rewards_page(client, session):
    as_admin(client, session)
    return "/admin/settings/rewards", "/admin/settings/rewards/rules"


def _rule_edit_page(client, session):
    admin = as_admin(client, session)
    rule = rewards.create_rule(
        session,
        admin,
        rewards.RuleInput(
            "Welcome",
            RewardTrigger.JOINED,
            rewards.RewardInput(RewardKind.TIER, tier="Gold"),
            rewards.RewardInput(),
        ),
        utcnow(),
    )
    session.commit()
    path = f"/admin/settings/rewards/rules/{rule.public_id}/edit"
    return path, path


def _benefits_page(client, session):
    as_admin(client, session)
    return "/admin/settings/rewards", "/admin/settings/rewards/benefits"


def _codes_page(client, session):
    admin = as_admin(client, session)
    benefit = rewards.create_benefit(
        session, admin, name="Voucher", description="", codes="", now=utcnow()
    )
    session.commit()
    path = f"/admin/settings/rewards/benefits/{benefit.public_id}/codes"
    return path, path


def _review_page(client, session):
    admin = as_admin(client, session)
    rewards.create_rule(
        session,
        admin,
        rewards.RuleInput(
            "Welcome",
            RewardTrigger.JOINED,
            rewards.RewardInput(RewardKind.POINTS, points=10),
            rewards.RewardInput(),
        ),
        utcnow(),
    )
    sent = invites.send_invitation(
        session, admin, email=admin.email.replace("@", "+alt@"), now=utcnow()
    )
    session.commit()
    invites.accept(
        session,
        invites.digest(sent.secret),
        email=sent.invitation.email,
        full_name="Alias",
        password="long password",
        now=utcnow(),
    )
    session.commit()
    held = session.exec(select(RewardGrant)).one()
    path = f"/rewards/review/{held.public_id}"
    return path, path


def _adhesion_org(session, **values) -> Organization:
    org = make_org(session, "Bad Input Club")
    session.add(MembershipSettings(organization_id=org.id, **values))
    session.commit()
    return org


def _register_page(client, session):
    org = _adhesion_org(session, open_registration=True, approval_required=True)
    session.add(
        RegistrationQuestion(
            public_id="rq-badinput",
            organization_id=org.id,
            label="Your boat",
            created_at=utcnow(),
        )
    )
    session.commit()
    return f"/register/{org.slug}", f"/register/{org.slug}"


def _membership_page(client, session):
    as_admin(client, session)
    return "/admin/settings/membership", "/admin/settings/membership/questions"


def _question_page(client, session):
    admin = as_admin(client, session)
    session.add(
        RegistrationQuestion(
            public_id="rq-badinput",
            organization_id=admin.organization_id,
            label="Level",
            kind="choice",
            options=["Novice", "Skipper"],
            created_at=utcnow(),
        )
    )
    session.commit()
    path = "/admin/settings/membership/questions/rq-badinput"
    return path, path


def _application_page(client, session):
    admin = as_admin(client, session)
    org = session.get(Organization, admin.organization_id)
    applicant = make_member(session, org, status=MemberStatus.PENDING_APPROVAL)
    application = MembershipApplication(
        organization_id=org.id,
        member_id=applicant.id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(application)
    session.commit()
    path = f"/applications/{application.public_id}"
    return path, path


QUESTION_FIELDS = (
    Text("label", "A question", 200, stored=(RegistrationQuestion, "label")),
    # One option a line, each at most 100 characters; kept as a list (not as typed).
    Text("options", "The options", 100, multiline=True),
)


def _an_event(session, admin):
    later = utcnow() + timedelta(days=10)
    event = events.create_event(
        session,
        admin,
        events.EventInput(
            "Summer party",
            later.strftime("%Y-%m-%dT18:00"),
            later.strftime("%Y-%m-%dT22:00"),
            "Europe/Berlin",
            place="Town hall",
            capacity=10,
            guests_per_member=3,
        ),
        utcnow(),
    )
    session.commit()
    return event


def _new_event_page(client, session):
    as_admin(client, session)
    return "/events/new", "/events/new"


def _edit_event_page(client, session):
    event = _an_event(session, as_admin(client, session))
    path = f"/events/{event.public_id}/edit"
    return path, path


def _invite_guest_page(client, session):
    event = _an_event(session, as_admin(client, session))
    return f"/events/{event.public_id}", f"/events/{event.public_id}/guests"


def _guest_answer_page(client, session):
    admin = make_member(session, make_org(session, "Bad Input Club"), Role.ADMIN_TENANT)
    event = _an_event(session, admin)
    _guest, token = events.invite_guest(
        session, admin, event, email="guest@example.org", full_name="", message="", now=utcnow()
    )
    session.commit()
    assert client.get(f"/guest?token={token}").status_code == 302
    return "/guest", "/guest/accept"


def _guest_join_page(client, session):
    page, _target = _guest_answer_page(client, session)
    guest = session.exec(select(EventGuest)).one()
    # Adhesion and a question: the guest's join form is the registration form too.
    org = session.exec(select(Organization)).one()
    session.add(MembershipSettings(organization_id=org.id, approval_required=True))
    session.add(
        RegistrationQuestion(
            public_id="rq-badinput", organization_id=org.id, label="Your boat", created_at=utcnow()
        )
    )
    events.accept(session, guest.token_digest, email=guest.email, full_name="Guest", now=utcnow())
    session.commit()
    return page, "/guest/join"


_LATER = (utcnow() + timedelta(days=10)).strftime("%Y-%m-%d")
EVENT_FIELDS = (
    Text("title", "A title", 200, stored=(Event, "title")),
    Text("starts_at", "A time", 16),
    Text("place", "The place", 300, stored=(Event, "place")),
    Text("online_url", "The online link", 500, kind="url"),
    Text("description", "The description", 4000, multiline=True, stored=(Event, "description")),
)
EVENT_OVERRIDES = {
    "title": ["Summer party"],
    "starts_at": [f"{_LATER}T18:00"],
    "ends_at": [f"{_LATER}T22:00"],
    "place": ["Town hall"],
    "capacity": ["10"],
    "guests_per_member": ["2"],
}

EMAIL = Text("email", "An e-mail address", 320, kind="email")
FULL_NAME = Text("full_name", "A name", 200)
TEMPLATE_FIELDS = (
    Text("name", "A template name", 120, stored=(EmailTemplate, "name")),
    Text("subject", "The subject", 300, stored=(EmailTemplate, "subject")),
    Text("body", "The message", 20000, multiline=True, stored=(EmailTemplate, "body")),
)

FORM_CASES = [
    FormCase(
        "send-invitation",
        frozenset({"invites.send"}),
        _invite_page,
        (
            # Several addresses may be pasted one per line (line breaks separate them).
            Text("email", "The e-mail addresses", 320, kind="email", multiline=True),
            Text("full_name", "A name", 200, stored=(Invitation, "full_name")),
            Text(
                "message",
                "The personal message",
                1000,
                multiline=True,
                stored=(Invitation, "message"),
            ),
        ),
        overrides={"email": ["new.person@example.org"], "full_name": ["Alex Example"]},
    ),
    FormCase(
        "join",
        frozenset({"join.join"}),
        _join_page,
        (
            Text("full_name", "A name", 200, stored=(Member, "full_name")),
            EMAIL,
            Text("password", "A password", 1024, kind="secret"),
        ),
        overrides={"full_name": ["Alex Example"], "password": ["a long enough password"]},
    ),
    FormCase(
        "share-link-join",
        frozenset({"referrals.join"}),
        _share_link_join_page,
        (
            Text("full_name", "A name", 200, stored=(Member, "full_name")),
            EMAIL,
            Text("password", "A password", 1024, kind="secret"),
        ),
        overrides={
            "full_name": ["Alex Example"],
            "email": ["new.person@example.org"],
            "password": ["a long enough password"],
        },
    ),
    FormCase(
        "new-share-link",
        frozenset({"referrals.create"}),
        _new_share_link_page,
        (Text("label", "A label", 60, stored=(ShareLink, "label")),),
        overrides={"label": ["Newsletter"]},
    ),
    FormCase(
        "login",
        frozenset({"auth.login"}),
        _login_page,
        # The password is only compared with a hash (see portal/auth/forms.py).
        (EMAIL,),
        overrides={"email": ["someone@example.org"], "password": ["a long enough password"]},
    ),
    FormCase(
        "new-email-template",
        frozenset({"settings.email_templates.create"}),
        _new_template_page,
        TEMPLATE_FIELDS,
        overrides={"name": ["Welcome"]},
    ),
    FormCase(
        "edit-email-template",
        frozenset({"settings.email_templates.edit"}),
        _edit_template_page,
        TEMPLATE_FIELDS,
    ),
    FormCase(
        "invitation-settings",
        frozenset({"settings.invitations.index"}),
        _settings_page,
        (
            Text("name", "An organisation name", 120, stored=(Organization, "name")),
            Text(
                "description",
                "A description",
                2000,
                multiline=True,
                stored=(Organization, "description"),
            ),
            Text("brand_color", "A brand colour", 7, kind="color"),
            Text("logo_url", "A logo address", 500, kind="url"),
        ),
    ),
    FormCase(
        "api-token",
        frozenset({"settings.api_tokens.create"}),
        _tokens_page,
        (Text("name", "A token name", 120, stored=(ApiToken, "name")),),
        overrides={"name": ["CRM"], "scopes": ["read-invites"]},
    ),
    FormCase(
        "webhook-endpoint",
        frozenset({"settings.webhooks.index"}),
        _webhooks_page,
        (
            Text("url", "A webhook address", 2000, kind="url"),
            Text("description", "A description", 500, stored=(WebhookEndpoint, "description")),
        ),
        overrides={"url": ["https://example.org/hooks"]},
    ),
    FormCase(
        "reward-rule",
        frozenset({"settings.rewards.create_rule"}),
        _rewards_page,
        (
            Text("name", "A rule name", 120, stored=(RewardRule, "name")),
            Text("referrer_tier", "A tier name", 60, stored=(RewardRule, "referrer_tier")),
            Text("referee_tier", "A tier name", 60, stored=(RewardRule, "referee_tier")),
        ),
        overrides={
            "name": ["Welcome"],
            "referrer_kind": ["tier"],
            "referrer_tier": ["Gold"],
            "referee_kind": ["tier"],
            "referee_tier": ["Silver"],
        },
    ),
    FormCase(
        "reward-rule-edit",
        frozenset({"settings.rewards.edit_rule"}),
        _rule_edit_page,
        (
            Text("name", "A rule name", 120, stored=(RewardRule, "name")),
            Text("referrer_tier", "A tier name", 60, stored=(RewardRule, "referrer_tier")),
            Text("referee_tier", "A tier name", 60, stored=(RewardRule, "referee_tier")),
        ),
        overrides={"referee_kind": ["tier"], "referee_tier": ["Silver"]},
    ),
    FormCase(
        "benefit",
        frozenset({"settings.rewards.create_benefit"}),
        _benefits_page,
        (
            Text("benefit_name", "A benefit name", 120, stored=(Benefit, "name")),
            Text("description", "A description", 500, stored=(Benefit, "description")),
            # One code a line: a code is at most 200 characters (blank lines are refused, so
            # the multi-line sample text can't be stored as typed).
            Text("codes", "The codes", 200, multiline=True),
        ),
        overrides={"benefit_name": ["Voucher"]},
    ),
    FormCase(
        "benefit-codes",
        frozenset({"settings.rewards.add_codes"}),
        _codes_page,
        (Text("codes", "The codes", 200, multiline=True),),
        overrides={"codes": ["CODE-1"]},
    ),
    FormCase(
        "reward-review",
        frozenset({"rewards.decide"}),
        _review_page,
        (Text("note", "The note", 1000, multiline=True, stored=(RewardGrant, "review_note")),),
        overrides={"decision": ["deny"]},
    ),
    FormCase(
        "register",
        frozenset({"applications.register_post"}),
        _register_page,
        (
            Text("full_name", "A name", 200, stored=(Member, "full_name")),
            EMAIL,
            Text("password", "A password", 1024, kind="secret"),
            Text("q_rq-badinput", "Your answer", 200),
            Text("reason", "Your answer", 2000, multiline=True),
        ),
        overrides={
            "full_name": ["Alex Example"],
            "email": ["new.person@example.org"],
            "password": ["a long enough password"],
        },
    ),
    FormCase(
        "add-registration-question",
        frozenset({"settings.membership.add_question"}),
        _membership_page,
        QUESTION_FIELDS,
        overrides={"label": ["Level"], "kind": ["choice"], "options": ["Novice\r\nSkipper"]},
    ),
    FormCase(
        "edit-registration-question",
        frozenset({"settings.membership.edit_question"}),
        _question_page,
        QUESTION_FIELDS,
    ),
    FormCase(
        "application-decision",
        frozenset({"applications.decide"}),
        _application_page,
        (
            Text(
                "note",
                "The note",
                1000,
                multiline=True,
                stored=(MembershipApplication, "decision_note"),
            ),
        ),
        overrides={"decision": ["reject"]},
    ),
    FormCase(
        "new-event",
        frozenset({"events.new"}),
        _new_event_page,
        EVENT_FIELDS,
        overrides=EVENT_OVERRIDES,
    ),
    FormCase(
        "edit-event",
        frozenset({"events.edit"}),
        _edit_event_page,
        EVENT_FIELDS,
        overrides={"starts_at": EVENT_OVERRIDES["starts_at"]},
    ),
    FormCase(
        "invite-guest",
        frozenset({"events.invite"}),
        _invite_guest_page,
        (
            EMAIL,
            Text("full_name", "A name", 200, stored=(EventGuest, "full_name")),
            Text(
                "message",
                "The personal message",
                1000,
                multiline=True,
                stored=(EventGuest, "message"),
            ),
        ),
        overrides={"email": ["guest@example.org"], "full_name": ["Alex Example"]},
    ),
    FormCase(
        # Accept and Decline are the two buttons of one form: the same fields, the same rules.
        "guest-answer",
        frozenset({"events.guest_accept", "events.guest_decline"}),
        _guest_answer_page,
        (Text("full_name", "A name", 200, stored=(EventGuest, "full_name")), EMAIL),
        overrides={"full_name": ["Alex Example"], "email": ["guest@example.org"]},
    ),
    FormCase(
        "guest-join",
        frozenset({"events.guest_join"}),
        _guest_join_page,
        (
            Text("join-full_name", "A name", 200, stored=(Member, "full_name")),
            Text("join-password", "A password", 1024, kind="secret"),
            Text("join-q_rq-badinput", "Your answer", 200),
            Text("join-reason", "Your answer", 2000, multiline=True),
        ),
        overrides={"join-full_name": ["Alex Example"], "join-password": ["a long enough password"]},
    ),
]


def _form_params(kinds: Callable[[Text], list[str]]):
    return [
        pytest.param(case, spec, kind, id=f"{case.id}-{spec.name}-{kind}")
        for case in FORM_CASES
        for spec in case.fields
        for kind in kinds(spec)
    ]


@pytest.mark.parametrize(("case", "spec", "character"), _form_params(bad_characters))
def test_forms_refuse_control_characters_next_to_the_field(
    client, session, case: FormCase, spec: Text, character: str
):
    target, data = case.data(client, session, spec.name, "")
    value = spec.with_character(CONTROL_CHARACTERS[character], data.get(spec.name, [""])[0] or None)
    data[spec.name] = [value]
    before = snapshot(session)
    response = client.post(target, data=data)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert field_error(response.get_data(as_text=True), spec.name) == _refused(spec, value)
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("case", "spec", "kind"), _form_params(lambda spec: ["one-character-too-long"])
)
def test_forms_refuse_over_long_values_next_to_the_field(
    client, session, case: FormCase, spec: Text, kind: str
):
    target, data = case.data(client, session, spec.name, spec.too_long())
    before = snapshot(session)
    response = client.post(target, data=data)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert field_error(response.get_data(as_text=True), spec.name)
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("case", "spec", "value"),
    [
        pytest.param(case, spec, value, id=f"{case.id}-{spec.name}-{n}")
        for case in FORM_CASES
        for spec in case.fields
        for n, value in enumerate(spec.legitimate())
    ],
)
def test_forms_keep_non_ascii_text_as_typed(client, session, case: FormCase, spec: Text, value):
    target, data = case.data(client, session, spec.name, value)
    response = client.post(target, data=data)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:2000]
    assert field_error(response.get_data(as_text=True), spec.name) is None
    assert spec.stored is not None and is_stored(session, spec.stored, value)


def test_a_form_body_that_is_not_utf8_is_refused_whole_never_a_500(client, session):
    """A lone surrogate can't travel in a form: its UTF-8-like bytes (ED A0 80) are not
    UTF-8, so Werkzeug drops the whole body (then the CSRF check refuses it), and their
    percent-encoded spelling stays the literal text "%ED%A0%80"."""
    as_admin(client, session)
    before = snapshot(session)
    response = client.post(
        "/invites",
        data=b"email=x%40example.org&full_name=\xed\xa0\x80",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert snapshot(session) == before


# --- the API --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCase:
    id: str
    endpoint: str
    # Builds the world; answers (an Api for a token with every scope, path, a good body).
    open: Callable[[FlaskClient, Session], tuple[Api, str, dict[str, str]]]
    fields: tuple[Text, ...]


def _api_invite(client, session):
    admin = make_member(session, make_org(session, "Bad Input Club"), Role.ADMIN_TENANT)
    # An HR member may invite whatever the settings say, so each field's rule is reached.
    colleague = make_member(
        session, session.get(Organization, admin.organization_id), Role.HR_TENANT
    )
    template = email_templates.create(
        session, admin, email_templates.TemplateInput("Spring", "Hello", "Hi."), utcnow()
    )
    session.commit()
    body = {
        "email": "new.person@example.org",
        "fullName": "Alex Example",
        "firstName": "Alex",
        "lastName": "Example",
        "message": "Hello",
        "templateId": template.public_id,
        "inviterId": colleague.public_id,
    }
    return Api(client, make_token(session, admin)), "/invites", body


def _api_member(client, session):
    admin = make_member(session, make_org(session, "Bad Input Club"), Role.ADMIN_TENANT)
    sent = invites.send_invitation(session, admin, email="new.person@example.org", now=utcnow())
    session.commit()
    body = {
        "inviteId": sent.secret,
        "email": "new.person@example.org",
        "fullName": "Alex Example",
        "password": "a long enough password",
    }
    return Api(client, make_token(session, admin)), "/members", body


def _api_decision(client, session):
    admin = make_member(session, make_org(session, "Bad Input Club"), Role.ADMIN_TENANT)
    org = session.get(Organization, admin.organization_id)
    applicant = make_member(session, org, status=MemberStatus.PENDING_APPROVAL)
    application = MembershipApplication(
        organization_id=org.id, member_id=applicant.id, created_at=utcnow(), updated_at=utcnow()
    )
    session.add(application)
    session.commit()
    path = f"/applications/{application.public_id}/decision"
    return Api(client, make_token(session, admin)), path, {"decision": "reject", "note": "No"}


def _api_event(client, session):
    admin = make_member(session, make_org(session, "Bad Input Club"), Role.ADMIN_TENANT)
    body = {
        "title": "Summer party",
        "startsAt": f"{_LATER}T18:00",
        "endsAt": f"{_LATER}T22:00",
        "timeZone": "Europe/Berlin",
        "place": "Town hall",
        "onlineUrl": "https://example.org/call",
        "description": "Bring a friend.",
        "capacity": 10,
        "guestsPerMember": 2,
    }
    return Api(client, make_token(session, admin)), "/events", body


API_CASES = [
    ApiCase(
        "decide-application",
        "api.decide_application",
        _api_decision,
        (
            Text(
                "note",
                "The note",
                1000,
                multiline=True,
                stored=(MembershipApplication, "decision_note"),
            ),
        ),
    ),
    ApiCase(
        "create-invite",
        "api.create_invite",
        _api_invite,
        (
            Text("email", "An e-mail address", 320, kind="email"),
            Text("fullName", "A name", 200, stored=(Invitation, "full_name")),
            Text("firstName", "A first name", 100, stored=(Invitation, "first_name")),
            Text("lastName", "A last name", 100, stored=(Invitation, "last_name")),
            Text(
                "message",
                "The personal message",
                1000,
                multiline=True,
                stored=(Invitation, "message"),
            ),
            Text("templateId", "A template id", 40, kind="id"),
            Text("inviterId", "A member id", 40, kind="id"),
        ),
    ),
    ApiCase(
        "create-member",
        "api.create_member",
        _api_member,
        (
            Text("inviteId", "An invitation id", 100, kind="id"),
            Text("email", "An e-mail address", 320, kind="email"),
            Text("fullName", "A name", 200, stored=(Member, "full_name")),
            Text("password", "A password", 1024, kind="secret"),
        ),
    ),
    ApiCase(
        "create-event",
        "api.create_event",
        _api_event,
        (
            Text("title", "A title", 200, stored=(Event, "title")),
            Text("startsAt", "A time", 40),
            Text("endsAt", "A time", 40),
            Text("timeZone", "A time zone", 60),
            Text("place", "The place", 300, stored=(Event, "place")),
            Text("onlineUrl", "The online link", 500, kind="url"),
            Text(
                "description",
                "The description",
                4000,
                multiline=True,
                stored=(Event, "description"),
            ),
        ),
    ),
]


def post_json(api: Api, path: str, body: dict[str, Any]):
    # json.dumps writes a lone surrogate as the escape "\ud800", as any JSON encoder would.
    return api.post(path, data=json.dumps(body), headers={"Content-Type": "application/json"})


def api_errors(response) -> dict[str, str]:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == response.status_code
    return {error["field"]: error["message"] for error in body.get("errors", [])}


def _api_params(kinds: Callable[[Text], list[str]]):
    return [
        pytest.param(case, spec, kind, id=f"{case.id}-{spec.name}-{kind}")
        for case in API_CASES
        for spec in case.fields
        for kind in kinds(spec)
    ]


@pytest.mark.parametrize(
    ("case", "spec", "character"),
    _api_params(lambda spec: [*bad_characters(spec), "lone-surrogate"]),
)
def test_the_api_refuses_control_characters_and_lone_surrogates_by_field(
    client, session, case: ApiCase, spec: Text, character: str
):
    api, path, body = case.open(client, session)
    bad = LONE_SURROGATE if character == "lone-surrogate" else CONTROL_CHARACTERS[character]
    body[spec.name] = spec.with_character(bad, body[spec.name])
    before = snapshot(session)
    response = post_json(api, path, body)
    assert response.status_code == 422
    assert api_errors(response)[spec.name] == _refused(spec, body[spec.name])
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("case", "spec", "kind"), _api_params(lambda spec: ["one-character-too-long"])
)
def test_the_api_refuses_over_long_values_by_field(client, session, case, spec, kind):
    api, path, body = case.open(client, session)
    body[spec.name] = spec.too_long()
    before = snapshot(session)
    response = post_json(api, path, body)
    assert response.status_code == 422
    assert api_errors(response).get(spec.name)
    assert snapshot(session) == before


@pytest.mark.parametrize(
    ("case", "spec", "value"),
    [
        pytest.param(case, spec, value, id=f"{case.id}-{spec.name}-{n}")
        for case in API_CASES
        for spec in case.fields
        for n, value in enumerate(spec.legitimate())
    ],
)
def test_the_api_keeps_non_ascii_text_as_sent(client, session, case: ApiCase, spec: Text, value):
    api, path, body = case.open(client, session)
    body[spec.name] = value
    response = post_json(api, path, body)
    # 201 for what creates a row; 200 for a decision on one that exists.
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    assert spec.stored is not None and is_stored(session, spec.stored, value)


def test_the_api_refuses_a_lone_surrogate_in_a_field_name(client, session):
    api, path, body = _api_invite(client, session)
    before = snapshot(session)
    response = post_json(api, path, {**body, LONE_SURROGATE: "x"})
    assert response.status_code == 422
    assert "no such field" in api_errors(response)[LONE_SURROGATE]
    assert snapshot(session) == before


@pytest.mark.parametrize("character", [*CONTROL_CHARACTERS, "lone-surrogate-bytes"])
@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_the_api_refuses_control_characters_in_path_and_query_parameters(
    client, session, action, character
):
    api, _path, _body = _api_invite(client, session)
    sent = post_json(api, "/invites", {"email": "someone@example.org"}).get_json()
    before = snapshot(session)
    if character == "lone-surrogate-bytes":
        # A URL can't carry a lone surrogate (its bytes aren't UTF-8): the id is then
        # U+FFFD, or the literal text, and no such invitation exists.
        response = api.post(f"/invites/{sent['id']}%ED%A0%80/{action}")
        assert response.status_code == 404 and api_errors(response) == {}
    else:
        bad = quote(CONTROL_CHARACTERS[character])
        response = api.post(f"/invites/{sent['id']}{bad}/{action}")
        assert response.status_code == 422
        assert api_errors(response)["id"].startswith("The id can't contain line breaks")
        response = api.post(f"/invites/{sent['id']}/{action}?note=a{bad}b")
        assert response.status_code == 422
        assert api_errors(response)["note"].startswith("The note parameter can't contain")
    assert snapshot(session) == before


@pytest.mark.parametrize("parameter", ["inviterId", "email", "status", "cursor", "createdAfter"])
def test_the_api_refuses_control_characters_in_list_parameters(client, session, parameter):
    api, _path, _body = _api_invite(client, session)
    response = api.get(f"/invites?{parameter}=a%0Ab")
    assert response.status_code == 422
    assert api_errors(response)[parameter] == (
        f"The {parameter} parameter can't contain line breaks or control characters "
        "(it has U+000A)."
    )


# --- routes whose only text is their address ------------------------------------------------


# Write routes with no text field: their path parameters are the only text they take, and
# the app-wide guard refuses control characters there before any view runs.
PATH_ONLY = {
    "settings.api_tokens.revoke",
    "settings.email_templates.make_default",
    "settings.email_templates.delete",
    "settings.email_templates.duplicate",
    "settings.webhooks.retry",
    "settings.rewards.set_enabled",
    "settings.webhooks.set_enabled",
    "settings.webhooks.roll_secret",
    "settings.webhooks.send_test",
    "invites.act",
    "referrals.regenerate",
    "referrals.switch",
    "settings.membership.move_question",
    "settings.membership.remove_question",
    "bulk.send",  # a checkbox and the CSRF token: nothing but its address is text
    "bulk.discard",
}
API_PATH_ONLY = {"api.resend_invite", "api.revoke_invite"}  # tested above, with the API's names
# Write routes that take no text at all, each with its reason.
EXCLUDED = {
    "settings.email_templates.use_builtin": (
        "no fields and no parameters: it only clears the default"
    ),
    "join.request_new": "no fields: it reads the link's digest from the signed session",
    "auth.logout": "no fields: it ends the session",
    "settings.leaderboard.index": "two checkboxes and no text (any value is a tick)",
    "settings.membership.index": (
        "two checkboxes and two selects from fixed lists (a value off the list is refused:"
        " tests/web/test_applications.py)"
    ),
    "settings.share_links.index": (
        "a checkbox and two numbers, no text: tested in tests/web/test_share_links.py"
    ),
    "api.unknown": "answers 404/405 as problem+json to anything, reads and writes nothing",
    "bulk.upload": (
        "a file, not a text field: each row goes through invites.service.check_fields (the "
        "send form's rules, control characters included); tested in tests/unit/test_bulk_*.py "
        "and tests/web/test_bulk.py"
    ),
    # Writes nothing and answers 200 so htmx swaps the problems in; tested below.
    "settings.email_templates.preview": (
        "tested by test_the_template_preview_names_refused_characters"
    ),
}


@pytest.mark.parametrize("endpoint", sorted(PATH_ONLY))
@pytest.mark.parametrize("character", ["nul", "line-feed", "next-line-c1", "line-separator"])
def test_page_addresses_with_control_characters_are_refused(
    app: Flask, client, session, endpoint, character
):
    as_admin(client, session)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    bad = f"x{CONTROL_CHARACTERS[character]}y"
    values = {name: 1 if name == "item_id" else bad for name in rule.arguments}
    with app.test_request_context():
        path = url_for(endpoint, **values)
    token = csrf_token(client, "/invites")
    before = snapshot(session)
    response = client.post(path, data={"csrf_token": token})
    assert response.status_code == 422, (path, response.status_code)
    assert "The page address can&#39;t contain line breaks" in response.get_data(as_text=True)
    assert snapshot(session) == before


@pytest.mark.parametrize("name", ["subject", "body"])
def test_the_template_preview_names_refused_characters(client, session, name):
    as_admin(client, session)
    data = form_on_page(client, "/admin/settings/email-templates/new", "subject")
    data[name] = ["Hello\x1b there"]
    before = snapshot(session)
    page = client.post("/admin/settings/email-templates/preview", data=data)
    assert page.status_code == 200  # a partial htmx swaps in as the admin types
    problems = html.unescape(page.get_data(as_text=True))
    what = "The subject" if name == "subject" else "The message"
    assert f"{what} can't contain" in problems and "U+001B" in problems
    assert snapshot(session) == before


def test_every_write_route_is_in_the_bad_input_suite(app: Flask):
    covered = (
        {endpoint for case in FORM_CASES for endpoint in case.endpoints}
        | {case.endpoint for case in API_CASES}
        | PATH_ONLY
        | API_PATH_ONLY
        | set(EXCLUDED)
    )
    writes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.methods and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert writes - covered == set(), "add these routes to a case in tests/web/test_bad_input.py"
    assert covered - writes == set(), "these routes no longer exist"
