"""Settings → E-mail templates through the test client, choosing a template when sending,
and a custom template's e-mail as it arrives over real SMTP."""

from __future__ import annotations

import html
import logging
import re
import threading
import time

import pytest
from sqlmodel import Session, select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.email_templates import service as templates
from portal.invites import service as invites
from portal.models import EmailTemplate, Invitation
from portal.roles import Role
from tests.conftest import csrf_token, login
from tests.factories import make_member, make_org, make_unit
from tests.mailserver import body

URL = "/admin/settings/email-templates"
HX = {"HX-Request": "true"}
PUBLIC_ID = re.compile(r"^tpl-[0-9a-f]{32}$")


@pytest.fixture
def org(session):
    return make_org(
        session,
        "Harbour Club",
        description="Sailing & friends.",
        brand_color="#aa3300",
        logo_url="https://example.org/logo.png",
    )


def make_template(
    session,
    actor,
    name="Warm welcome",
    subject="Hi {{ invitee_name }}",
    body="Dear {{ invitee_name }},\n\nCome sail with {{ organization_name }}.",
    default=False,
) -> EmailTemplate:
    template = templates.create(
        session, actor, templates.TemplateInput(name, subject, body), utcnow()
    )
    if default:
        templates.set_default(session, actor, template, utcnow())
    session.commit()
    return template


def stored(session) -> list[EmailTemplate]:
    session.expire_all()
    return list(session.exec(select(EmailTemplate).order_by(EmailTemplate.id)).all())


def post(client, path, data=None, headers=None, token_from=URL):
    data = {**(data or {}), "csrf_token": csrf_token(client, token_from)}
    return client.post(path, data=data, headers=headers or {})


# --- the list and the editor ----------------------------------------------------------------


def test_the_screen_is_a_settings_tab_and_starts_with_the_built_in_default(admin_client):
    page = admin_client.get(URL).get_data(as_text=True)
    assert f'href="{URL}" aria-current="page">E-mail templates</a>' in page
    built_in = page.split('id="template-built-in"')[1].split("</tr>")[0]
    assert "Built-in invitation" in built_in and "Default" in built_in
    assert "No templates yet" in page


def test_new_starts_from_the_built_in_wording_and_previews_it(admin_client):
    page = admin_client.get(f"{URL}/new").get_data(as_text=True)
    for label in (
        '<label for="name">Name</label>',
        '<label for="subject">Subject</label>',
        '<label for="body">Message</label>',
        ">Save</button>",
    ):
        assert label in page
    assert 'value="{{ inviter_name }} invited you to join {{ organization_name }}"' in page
    assert '<span id="preview-subject">Ada Admin invited you to join Harbour Club</span>' in page


def test_creating_a_template_stores_it_with_a_public_id(admin_client, session, org):
    response = post(
        admin_client,
        f"{URL}/new",
        {
            "name": "  Warm welcome ",
            "subject": "Hi {{ invitee_name }}",
            "body": "Dear {{ invitee_name }},\n\nWelcome.",
        },
        token_from=f"{URL}/new",
    )
    assert response.status_code == 302 and response.headers["Location"] == URL
    [template] = stored(session)
    assert PUBLIC_ID.match(template.public_id)
    assert (template.organization_id, template.name, template.subject, template.is_default) == (
        org.id,
        "Warm welcome",
        "Hi {{ invitee_name }}",
        False,
    )
    page = admin_client.get(URL).get_data(as_text=True)
    assert "Template “Warm welcome” created." in page
    assert f'href="{URL}/{template.public_id}">Warm welcome</a>' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body", "Hello\n\n{{ config }}", "Line 3: {{ config }} is not a placeholder."),
        ("body", "Hi\n{{ ''.__class__ }}", "Line 2: {{ &#39;&#39;… }} isn&#39;t allowed"),
        ("body", "{{ self.__init__ }}", "Line 1: {{ self… }} isn&#39;t allowed"),
        ("body", "{% for x in invitee_name %}{% endfor %}", "Line 1: {% for %} isn&#39;t allowed"),
        ("body", "Hi\n{{ invitee_name }", "Line 2: this isn&#39;t valid template syntax"),
        ("subject", "Hi {{ guest }}", "{{ guest }} is not a placeholder."),
        ("subject", "Join {{ join_url }}", "{{ join_url }} can&#39;t be in the subject"),
        ("name", "", "Give the template a name."),
    ],
)
def test_a_refused_template_is_not_saved_and_the_field_says_why(
    admin_client, session, field, value, message
):
    data = {"name": "Welcome", "subject": "Hi", "body": "Hello", field: value}
    response = post(admin_client, f"{URL}/new", data, token_from=f"{URL}/new")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    error = page.split(f'id="{field}-error">')[1].split("</p>")[0]
    assert message in error
    assert stored(session) == []


def test_editing_saves_the_new_wording(admin_client, session, admin):
    template = make_template(session, admin)
    page = admin_client.get(f"{URL}/{template.public_id}").get_data(as_text=True)
    assert 'value="Warm welcome"' in page and "Come sail with {{ organization_name }}." in page
    response = post(
        admin_client,
        f"{URL}/{template.public_id}",
        {
            "name": "Warmer",
            "subject": "Ahoy {{ invitee_name }}",
            "body": "Ahoy!",
        },
    )
    assert response.status_code == 302
    [saved] = stored(session)
    assert (saved.name, saved.subject, saved.body) == ("Warmer", "Ahoy {{ invitee_name }}", "Ahoy!")


def test_names_are_unique_within_an_organisation(admin_client, session, admin):
    make_template(session, admin, name="Welcome")
    response = post(admin_client, f"{URL}/new", {"name": "welcome", "subject": "s", "body": "b"})
    assert response.status_code == 422
    assert "There is already a template named “welcome”." in response.get_data(as_text=True)


def test_duplicate_makes_a_copy_to_edit_that_is_not_the_default(admin_client, session, admin):
    original = make_template(session, admin, default=True)
    response = post(admin_client, f"{URL}/{original.public_id}/duplicate")
    first, copy = stored(session)
    assert response.headers["Location"] == f"{URL}/{copy.public_id}"
    assert (copy.name, copy.subject, copy.body) == (
        "Copy of Warm welcome",
        original.subject,
        original.body,
    )
    assert copy.public_id != first.public_id and not copy.is_default and first.is_default
    post(admin_client, f"{URL}/{original.public_id}/duplicate")
    assert stored(session)[-1].name == "Copy of Warm welcome (2)"


def test_delete_asks_first_and_invitations_that_named_it_fall_back(admin_client, session, admin):
    template = make_template(session, admin, default=True)
    sent = invites.send_invitation(
        session,
        admin,
        email="guest@example.org",
        template_public_id=template.public_id,
        now=utcnow(),
    )
    session.commit()
    question = admin_client.get(f"{URL}/{template.public_id}/delete").get_data(as_text=True)
    assert "Delete the template “Warm welcome”?" in question
    assert "It is your organisation's default" in question
    assert stored(session)  # asking deletes nothing
    response = post(admin_client, f"{URL}/{template.public_id}/delete")
    assert response.status_code == 302
    assert stored(session) == []
    assert session.get(Invitation, sent.invitation.id).template_id is None
    assert "Template “Warm welcome” deleted." in admin_client.get(URL).get_data(as_text=True)


def test_there_is_at_most_one_default_and_the_built_in_can_be_chosen_back(
    admin_client, session, admin, org
):
    first = make_template(session, admin, name="First")
    second = make_template(session, admin, name="Second")
    post(admin_client, f"{URL}/{first.public_id}/default")
    assert [t.is_default for t in stored(session)] == [True, False]
    post(admin_client, f"{URL}/{second.public_id}/default")
    assert [t.is_default for t in stored(session)] == [False, True]
    assert templates.default_template(session, org.id).id == second.id
    page = admin_client.get(URL).get_data(as_text=True)
    assert "Default" not in page.split('id="template-built-in"')[1].split("</tr>")[0]
    post(admin_client, f"{URL}/built-in/default")
    assert [t.is_default for t in stored(session)] == [False, False]
    assert templates.default_template(session, org.id) is None


# --- who may, and forged requests -----------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN_TENANT])
def test_only_organisation_admins_reach_templates(client, session, org, admin, role):
    template = make_template(session, admin)
    login(client, make_member(session, org, role).email)
    token = csrf_token(client, "/")
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{template.public_id}").status_code == 403
    for path in (
        f"{URL}/new",
        f"{URL}/preview",
        f"{URL}/{template.public_id}/delete",
        f"{URL}/{template.public_id}/default",
    ):
        response = client.post(
            path, data={"name": "x", "subject": "s", "body": "b", "csrf_token": token}
        )
        assert response.status_code == 403, path
    [unchanged] = stored(session)
    assert unchanged.name == "Warm welcome" and not unchanged.is_default


def test_another_organisations_template_is_not_found(admin_client, session):
    other_org = make_org(session, "Elsewhere")
    other_admin = make_member(session, other_org, Role.ADMIN_TENANT)
    theirs = make_template(session, other_admin)
    assert admin_client.get(f"{URL}/{theirs.public_id}").status_code == 404
    assert post(admin_client, f"{URL}/{theirs.public_id}/delete").status_code == 404
    assert post(admin_client, f"{URL}/{theirs.public_id}/default").status_code == 404
    assert "Elsewhere" not in admin_client.get(URL).get_data(as_text=True)
    assert len(stored(session)) == 1 and not stored(session)[0].is_default


def test_posts_without_the_csrf_token_are_refused(admin_client, session, admin):
    template = make_template(session, admin)
    for path in (
        f"{URL}/new",
        f"{URL}/preview",
        f"{URL}/{template.public_id}/delete",
        f"{URL}/{template.public_id}/duplicate",
        f"{URL}/{template.public_id}/default",
    ):
        response = admin_client.post(path, data={"name": "x", "subject": "s", "body": "b"})
        assert response.status_code == 400, path
    assert [(t.name, t.is_default) for t in stored(session)] == [("Warm welcome", False)]


# --- the live preview -----------------------------------------------------------------------


def test_the_preview_renders_subject_html_and_text_with_sample_data(admin_client):
    response = post(
        admin_client,
        f"{URL}/preview",
        {
            "subject": "{{ inviter_name }} would love {{ invitee_name }} aboard",
            "body": "Ahoy {{ invitee_name }}!\n\n{{ personal_message }}\n\n<b>bold?</b>",
        },
        headers=HX,
    )
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="template-preview"')
    assert '<span id="preview-subject">Ada Admin would love Alex Example aboard</span>' in fragment
    text = html.unescape(fragment.split('id="preview-text">')[1].split("</pre>")[0])
    assert text.startswith("Ahoy Alex Example!\n\nIt would be great to have you with us.\n")
    assert "<b>bold?</b>" in text
    assert "Join: http://portal.test/join?invite_id=sample-link-for-the-preview" in text
    # The HTML lives in a sandboxed iframe (no scripts), escaped into its srcdoc attribute.
    frame = re.search(r'<iframe [^>]*title="HTML preview"[^>]*>', fragment).group(0)
    assert " sandbox " in frame and "allow-scripts" not in frame
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert "<p>Ahoy Alex Example!</p>" in srcdoc
    assert "&lt;b&gt;bold?&lt;/b&gt;" in srcdoc and "<b>bold?</b>" not in srcdoc
    assert ">Join Harbour Club</a>" in srcdoc  # the layout's button, although the body has no link
    assert "Sailing &amp; friends." not in srcdoc  # the body decides what it says


def test_the_preview_shows_problems_instead_of_the_email(admin_client):
    response = post(
        admin_client,
        f"{URL}/preview",
        {
            "subject": "Hi",
            "body": "Hello\n{{ config.SECRET_KEY }}",
        },
        headers=HX,
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="preview-problems"' in fragment and "Message: Line 2: {{ config… }}" in fragment
    assert "<iframe" not in fragment and "test-secret-key" not in fragment


def test_update_preview_without_javascript_renders_the_page_and_saves_nothing(
    admin_client, session
):
    response = post(
        admin_client,
        f"{URL}/new",
        {
            "name": "Draft",
            "subject": "Draft for {{ invitee_name }}",
            "body": "Hi",
            "action": "preview",
        },
    )
    assert response.status_code == 200
    assert '<span id="preview-subject">Draft for Alex Example</span>' in response.get_data(
        as_text=True
    )
    assert stored(session) == []


# --- choosing a template when sending -------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.USER, False),
        (Role.HR_LOCAL, True),
        (Role.HR_TENANT, True),
        (Role.ADMIN_LOCAL, True),
        (Role.ADMIN_TENANT, True),
    ],
)
def test_the_send_form_offers_templates_to_hr_and_admins_only(
    client, session, org, admin, role, offered
):
    make_template(session, admin, name="Formal")
    make_template(session, admin, name="Casual", default=True)
    login(client, make_member(session, org, role, unit=make_unit(session, org)).email)
    page = client.get("/invites").get_data(as_text=True)
    assert ('<label for="template_id">Template</label>' in page) is offered
    if offered:
        select_html = page.split('<select id="template_id"')[1].split("</select>")[0]
        options = re.findall(r"<option[^>]*>([^<]*)</option>", select_html)
        assert options == ["Default (Casual)", "Casual", "Formal"]
        assert '<option selected value="">Default (Casual)' in select_html


def test_no_select_while_there_are_no_templates(admin_client):
    assert "Template</label>" not in admin_client.get("/invites").get_data(as_text=True)


def test_the_default_option_names_the_built_in_when_there_is_no_default(
    admin_client, session, admin
):
    make_template(session, admin)
    assert "Default (built-in e-mail)" in admin_client.get("/invites").get_data(as_text=True)


def send_form(client, **data):
    data = {"email": "guest@example.org", "full_name": "Gina Guest", **data}
    return post(client, "/invites", data, token_from="/invites")


def test_hr_picks_a_template_and_the_invitation_records_it(client, session, org, admin):
    template = make_template(session, admin)
    login(client, make_member(session, org, Role.HR_TENANT).email)
    assert send_form(client, template_id=template.public_id).status_code == 302
    assert session.exec(select(Invitation)).one().template_id == template.id


def test_the_default_option_leaves_the_choice_to_delivery(admin_client, session, admin):
    make_template(session, admin, default=True)
    assert send_form(admin_client, template_id="").status_code == 302
    assert session.exec(select(Invitation)).one().template_id is None


def test_a_member_gets_the_default_whatever_they_post(client, session, org, admin):
    template = make_template(session, admin)
    login(client, make_member(session, org, Role.USER).email)
    assert send_form(client, template_id=template.public_id).status_code == 302
    assert session.exec(select(Invitation)).one().template_id is None


def test_an_unknown_or_foreign_template_is_refused_on_the_field(admin_client, session, admin):
    make_template(session, admin)
    theirs = make_template(session, make_member(session, make_org(session), Role.ADMIN_TENANT))
    for value in (theirs.public_id, "tpl-" + "0" * 32):
        response = send_form(admin_client, template_id=value)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert 'id="template_id-error">There is no such e-mail template. Pick another one.' in page
    assert session.exec(select(Invitation)).all() == []


# --- the e-mail over real SMTP --------------------------------------------------------------


def test_a_custom_templates_subject_and_body_arrive_in_the_email(
    app, admin_client, session, admin, smtp
):
    template = make_template(
        session,
        admin,
        name="Crew",
        subject="{{ invitee_name | upper }}, {{ inviter_name }} wants you on the crew",
        body=(
            "Ahoy {{ invitee_name }},\n\n{% if personal_message %}{{ inviter_name }} says:\n"
            "{{ personal_message }}\n{% endif %}\n\nSee you before {{ expires_on }}.\n"
            "Sign up here: {{ join_url }}"
        ),
    )
    send_form(
        admin_client,
        template_id=template.public_id,
        message="Bring boots <script>alert(1)</script>\nAnd a hat",
    )
    assert Worker(app).run_once().delivered == 1
    [message] = smtp.messages
    assert message["Subject"] == "GINA GUEST, Ada Admin wants you on the crew"
    text = body(message, "plain").replace("\r\n", "\n")
    expires = session.exec(select(Invitation)).one().expires_at.strftime("%d %B %Y")
    link = re.search(r"Sign up here: (http://portal\.test/join\?invite_id=\S+)", text).group(1)
    assert text.startswith(
        "Ahoy Gina Guest,\n\nAda Admin says:\nBring boots <script>alert(1)</script>\nAnd a hat\n\n"
        f"See you before {expires}.\nSign up here: {link}\n\n"
        f"This invitation expires on {expires}."
    )
    assert text.count(link) == 1  # the body has the link: the layout doesn't repeat it
    page = body(message, "html").replace("\r\n", "\n")
    assert "<p>Ahoy Gina Guest,</p>" in page
    assert "Bring boots &lt;script&gt;alert(1)&lt;/script&gt;<br>\nAnd a hat" in page
    assert "<script>" not in page
    assert f'href="{link}"' in page and ">Join Harbour Club</a>" in page  # the layout's button
    assert 'src="https://example.org/logo.png"' in page  # the layout's header
    assert re.search(r"background:\s*#(aa3300|a30)\b", page)
    assert "<style" not in page  # CSS inlined, as for the built-in e-mail
    # The link works (for the invitee, not signed in).
    response = app.test_client().get(link.removeprefix("http://portal.test"))
    assert response.status_code == 302 and response.headers["Location"] == "/join"


def test_the_organisations_default_template_words_unpicked_invitations(
    app, session, org, admin, smtp
):
    make_template(
        session,
        admin,
        name="House style",
        subject="Welcome aboard, {{ invitee_name }}",
        body="Hello from {{ organization_name }}.",
        default=True,
    )
    member = make_member(session, org, Role.USER, full_name="Max Member")
    invites.send_invitation(
        session, member, email="guest@example.org", full_name="Gina", now=utcnow()
    )
    session.commit()
    assert Worker(app).run_once().delivered == 1
    [message] = smtp.messages
    assert message["Subject"] == "Welcome aboard, Gina"
    text = body(message, "plain")
    assert text.startswith("Hello from Harbour Club.")
    assert "Join: http://portal.test/join?invite_id=" in text  # added: the body had no link


def test_a_template_broken_under_todays_rules_falls_back_to_the_built_in_email(
    app, session, org, admin, smtp, caplog
):
    # Written straight to the table, as if saved before a rule existed.
    now = utcnow()
    legacy = EmailTemplate(
        organization_id=org.id,
        name="Legacy",
        subject="{{ config }}",
        body="{{ ''.__class__.__mro__ }}",
        is_default=True,
        created_at=now,
        updated_at=now,
    )
    session.add(legacy)
    session.commit()
    invites.send_invitation(session, admin, email="guest@example.org", now=now)
    session.commit()
    with caplog.at_level(logging.WARNING, logger="portal.invites.mail"):
        assert Worker(app).run_once().delivered == 1
    [message] = smtp.messages
    assert message["Subject"] == "Ada Admin invited you to join Harbour Club"
    assert "object" not in body(message, "plain")
    assert f"e-mail template {legacy.public_id} can't be used" in caplog.text


def test_choosing_a_default_while_another_admin_does_answers_with_a_message(
    admin_client, session, admin, org, engine
):
    """Another admin's choice, made but not yet committed when ours runs. PostgreSQL then
    refuses ours (409, with the reason on the list); SQLite makes ours wait and apply after
    theirs. Never a 500, and always exactly one default."""
    first = make_template(session, admin, name="First")
    second = make_template(session, admin, name="Second")
    token = csrf_token(admin_client, URL)
    answer = {}

    def choose_second() -> None:
        answer["response"] = admin_client.post(
            f"{URL}/{second.public_id}/default", data={"csrf_token": token}
        )

    with Session(engine) as other_admin:
        templates.set_default(
            other_admin, admin, other_admin.get(EmailTemplate, first.id), utcnow()
        )
        thread = threading.Thread(target=choose_second)
        thread.start()
        time.sleep(0.3)  # ours is now waiting on theirs
        other_admin.commit()
    thread.join(timeout=60)
    response = answer["response"]
    if engine.dialect.name == "postgresql":
        assert response.status_code == 409
        page = html.unescape(response.get_data(as_text=True))
        assert "so “Second” was not made the default" in page
        assert [t.is_default for t in stored(session)] == [True, False]
    else:  # SQLite: one writer at a time, so ours simply came second
        assert response.status_code == 302
        assert [t.is_default for t in stored(session)] == [False, True]
