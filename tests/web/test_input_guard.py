"""Text no page or API may store (issue 8): control characters in single-line fields, lone
surrogates anywhere, and settings that only look valid. The full per-field sweep is
tests/web/test_bad_input.py; these are the findings, one test each, in the issue's words."""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import BooleanField, DateField, IntegerField

import portal
from portal.clock import utcnow
from portal.email_templates import service as email_templates
from portal.errors import Invalid
from portal.invites import service as invites
from portal.models import Invitation, Member, Organization
from portal.orgs.service import settings_for
from portal.orgs.settings import InvitationSettingsInput, update_invitation_settings
from portal.roles import Role
from portal.validation import PlainText, check_text, text_problem
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org, settings
from tests.web.api_support import field_errors
from tests.web.form_support import form_on_page

BCC = "Eve\r\nBcc: victim@example.org"

# --- one rule, in plain words ---------------------------------------------------------------


@pytest.mark.parametrize(
    "character", ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"]
)
def test_single_line_text_refuses_every_control_character(character):
    assert text_problem(f"Ada{character}Admin", what="A name") == (
        f"A name can't contain line breaks or control characters (it has U+{ord(character):04X})."
    )


def test_multi_line_text_keeps_line_breaks_and_tabs_and_refuses_the_rest():
    assert text_problem("Dear Ada,\r\n\r\n\tsee you!\n", what="A message", multiline=True) is None
    for character in ("\x00", "\x1b", "\x7f", "\x85", "\u2028", "\r"):  # \r alone isn't a break
        assert text_problem(f"Dear{character}Ada", what="A message", multiline=True) == (
            f"A message can't contain control characters (it has U+{ord(character):04X})."
        )


def test_lone_surrogates_are_refused_in_any_text():
    for multiline in (False, True):
        problem = text_problem("Ada\ud800", what="A name", multiline=multiline)
        assert problem and problem.startswith("A name contains a broken character (U+D800")


def test_non_ascii_names_are_plain_text():
    for name in ("Zoë Ångström", "李小龙", "Łukasz Żółć", "Ἀριστοτέλης", "محمد"):
        assert text_problem(name, what="A name") is None


def test_services_refuse_with_the_same_words_on_the_field():
    with pytest.raises(Invalid) as refused:
        check_text(BCC, field="full_name", what="A name")
    assert refused.value.field == "full_name" and refused.value.status == 422
    assert refused.value.message == text_problem(BCC, what="A name")


def portal_forms() -> list[type[FlaskForm]]:
    """Every form class in the portal package, found by importing all of it."""
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        importlib.import_module(module.name)
    found, todo = [], [FlaskForm]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith("portal."):
                found.append(cls)
    return found


# Fields whose posted text is never stored, shown or looked up, with the reason.
UNGUARDED_FIELDS = {
    # Compared with a hash only; refusing characters here could lock out a member.
    ("LoginForm", "password"),
}


def test_every_text_field_of_every_form_refuses_control_characters(app):
    """Hard to forget: a new form or field without PlainText fails here."""
    forms = portal_forms()
    assert {"InviteForm", "JoinForm", "LoginForm", "TemplateForm"} <= {f.__name__ for f in forms}
    with app.test_request_context():
        for cls in forms:
            for field in cls(meta={"csrf": False}):
                if isinstance(field, BooleanField | IntegerField | DateField):
                    continue  # not text: a box, a number or a date parses or is refused
                if (cls.__name__, field.name) in UNGUARDED_FIELDS:
                    continue
                guards = [v for v in field.validators if isinstance(v, PlainText)]
                assert guards, f"{cls.__name__}.{field.name} has no PlainText validator"
                assert field.validators[0] is guards[0], f"{cls.__name__}.{field.name}: first"


# --- no header injection: refused at the form and the API -----------------------------------


def test_a_name_that_would_add_a_bcc_header_is_refused_at_join(client, session):
    org = make_org(session)
    inviter = make_member(session, org, Role.ADMIN_TENANT)
    sent = invites.send_invitation(session, inviter, email="new@example.org", now=utcnow())
    session.commit()
    client.get(f"/join?invite_id={sent.secret}")
    response = client.post(
        "/join",
        data={
            "full_name": BCC,
            "email": "new@example.org",
            "password": "a long enough password",
            "csrf_token": csrf_token(client, "/join"),
        },
    )
    assert response.status_code == 422
    assert "A name can&#39;t contain line breaks or control characters (it has U+000D)." in (
        response.get_data(as_text=True)
    )
    assert session.exec(select(Member).where(Member.email == "new@example.org")).first() is None


def test_a_name_that_would_add_a_bcc_header_is_refused_by_the_api(api, session, admin):
    sent = invites.send_invitation(session, admin, email="new@example.org", now=utcnow())
    session.commit()
    joined = api.post(
        "/members",
        json={"inviteId": sent.secret, "email": "new@example.org", "fullName": BCC},
    )
    assert joined.status_code == 422
    assert field_errors(joined.get_json())["fullName"].startswith("A name can't contain line")
    invited = api.post("/invites", json={"email": "other@example.org", "fullName": BCC})
    assert invited.status_code == 422
    assert field_errors(invited.get_json())["fullName"].startswith("A name can't contain line")
    assert session.exec(select(Member).where(Member.email == "new@example.org")).first() is None
    assert session.exec(select(Invitation).where(Invitation.full_name == BCC)).first() is None


def test_an_invitee_name_with_a_line_break_is_refused_on_the_send_form(client, session):
    login(client, make_member(session, make_org(session)).email)
    response = client.post(
        "/invites",
        data={
            "email": "new@example.org",
            "full_name": BCC,
            "csrf_token": csrf_token(client, "/invites"),
        },
    )
    assert response.status_code == 422
    assert 'id="full_name-error">A name can&#39;t contain line breaks' in response.get_data(
        as_text=True
    )
    assert session.exec(select(Invitation)).first() is None


def test_a_template_subject_with_a_control_character_is_refused_by_the_service(session, admin):
    with pytest.raises(Invalid) as refused:
        email_templates.create(
            session,
            admin,
            email_templates.TemplateInput("Spring", "Hello\x85Bcc: x@example.org", "Hi."),
            utcnow(),
        )
    assert refused.value.details["problems"]["subject"] == [
        "The subject can't contain line breaks or control characters (it has U+0085)."
    ]


def test_a_nul_in_a_choice_is_a_field_error_not_a_database_error(client, session, admin):
    """PostgreSQL can't even compare text holding NUL: a choice must never reach a query."""
    email_templates.create(
        session, admin, email_templates.TemplateInput("Spring", "Hello", "Hi."), utcnow()
    )
    session.commit()
    login(client, admin.email)
    response = client.post(
        "/invites",
        data={
            "email": "new@example.org",
            "template_id": "tpl-\x00",
            "csrf_token": csrf_token(client, "/invites"),
        },
    )
    assert response.status_code == 422
    assert 'id="template_id-error">A template choice can&#39;t contain' in response.get_data(
        as_text=True
    )


def test_a_control_character_in_a_query_parameter_is_refused_before_any_lookup(client, session):
    login(client, make_member(session, make_org(session)).email)
    response = client.get("/invites?inviter=mb-%00")
    assert response.status_code == 422
    assert "The inviter parameter can&#39;t contain line breaks" in response.get_data(as_text=True)


# --- a lone surrogate in JSON is 422, not 500 -----------------------------------------------


@pytest.mark.parametrize("name", ["email", "fullName", "firstName", "message", "inviterId"])
def test_a_lone_surrogate_in_any_json_string_answers_422_not_500(api, session, name):
    body = {"email": "a@example.org", name: "x\ud800"}
    response = api.post(
        "/invites", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "U+D800" in field_errors(response.get_json())[name]
    assert session.exec(select(Invitation)).first() is None


def test_a_lone_surrogate_in_a_new_members_password_answers_422_not_500(api, session, admin):
    sent = invites.send_invitation(session, admin, email="new@example.org", now=utcnow())
    session.commit()
    body = {
        "inviteId": sent.secret,
        "email": "new@example.org",
        "fullName": "New Person",
        "password": "a long enough \ud800 password",
    }
    response = api.post(
        "/members", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "U+D800" in field_errors(response.get_json())["password"]


# --- settings that only looked valid --------------------------------------------------------


def _settings_form(client, **changes):
    """The settings form as the page fills it in (so fields added later keep their value)."""
    data = form_on_page(client, "/admin/settings/invitations", "brand_color")
    return {**data, **{name: [value] for name, value in changes.items()}}


@pytest.mark.parametrize("colour", ["#2f6f4f\n", "#2f6f4f\r\n", " #2f6f4f", "#2f6f4fff", "2f6f4f"])
def test_a_brand_colour_must_be_exactly_hash_and_six_hex_digits(client, session, admin, colour):
    login(client, admin.email)
    response = client.post(
        "/admin/settings/invitations", data=_settings_form(client, brand_color=colour)
    )
    assert response.status_code == 422
    assert 'id="brand_color-error">' in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Organization, admin.organization_id).brand_color != colour.lower()


def test_the_settings_service_refuses_a_brand_colour_with_a_final_line_break(session, admin):
    """The service stores the settings, so it holds the rule too (not only the form)."""
    values = InvitationSettingsInput(
        enabled=True,
        min_inviter_role=Role.USER,
        expiry_days=14,
        daily_limit_per_member=50,
        bind_invitee_email=True,
        name="Riverside",
        description="",
        brand_color="#2f6f4f\n",
        logo_url="",
    )
    with pytest.raises(Invalid) as refused:
        update_invitation_settings(session, admin, values, utcnow())
    assert refused.value.field == "brand_color"
    session.rollback()
    with pytest.raises(Invalid) as refused:
        update_invitation_settings(
            session,
            admin,
            InvitationSettingsInput(
                **{
                    **values.__dict__,
                    "brand_color": "#2F6F4F",
                    "logo_url": "http://example.org/logo.png",
                }
            ),
            utcnow(),
        )
    assert refused.value.field == "logo_url"
    assert refused.value.message == "The logo address must start with https://."


@pytest.mark.parametrize(
    "address", ["http://example.org/logo.png", "javascript://example.org/%0aalert(1)", "https://"]
)
def test_a_logo_address_must_be_https_as_the_message_says(client, session, admin, address):
    login(client, admin.email)
    response = client.post(
        "/admin/settings/invitations", data=_settings_form(client, logo_url=address)
    )
    assert response.status_code == 422
    assert 'id="logo_url-error">' in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Organization, admin.organization_id).logo_url == ""


def test_a_well_formed_colour_and_https_logo_are_saved(client, session, admin):
    login(client, admin.email)
    response = client.post(
        "/admin/settings/invitations",
        data=_settings_form(client, brand_color="#2F6F4F", logo_url="https://example.org/logo.png"),
    )
    assert response.status_code == 302
    session.expire_all()
    org = session.get(Organization, admin.organization_id)
    assert (org.brand_color, org.logo_url) == ("#2f6f4f", "https://example.org/logo.png")


def test_settings_refusals_leave_other_settings_unchanged(client, session, admin):
    settings(session, session.get(Organization, admin.organization_id), expiry_days=14)
    login(client, admin.email)
    client.post(
        "/admin/settings/invitations",
        data=_settings_form(client, expiry_days="30", brand_color="#2f6f4f\n"),
    )
    session.expire_all()
    assert settings_for(session, admin.organization_id).expiry_days == 14


def test_the_cli_refuses_an_organisation_name_that_would_add_a_header(app, session):
    """Names reach e-mail headers whichever door they came in by, the command line too."""
    result = app.test_cli_runner().invoke(args=["portal", "create-org", "--name", BCC])
    assert result.exit_code != 0
    assert "An organisation name can't contain line breaks" in result.output
    assert session.exec(select(Organization)).first() is None
