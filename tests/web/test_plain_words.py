"""No page shows a person a role code (issue 13): the words are in the text, the codes stay
in option values and attributes, where the page contract and the API use them."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from portal.clock import utcnow
from portal.models import AuditEvent, MembershipApplication
from portal.roles import MemberStatus, Role
from portal.settings.webhooks import EVENT_LABELS
from portal.webhooks.service import EVENT_TYPES
from tests.conftest import sign_in
from tests.factories import make_member, make_unit, settings

CODE = re.compile(r"\b(?:USER|HR_LOCAL|HR_TENANT|ADMIN_LOCAL|ADMIN_TENANT)\b")


class _Text(HTMLParser):
    """The text a person reads: element content, not tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def role_codes_shown(page: str) -> list[str]:
    return CODE.findall(visible_text(page))


def test_the_text_finder_sees_text_and_not_attributes() -> None:
    page = '<select><option value="HR_LOCAL">Local HR</option></select><p>ADMIN_TENANT</p>'
    assert role_codes_shown(page) == ["ADMIN_TENANT"]


@pytest.fixture
def history(session, org, admin):
    """Audit rows that changed each role field, as the services record them."""
    now = utcnow()
    rows = [
        ("settings.updated", {"min_inviter_role": "USER"}, {"min_inviter_role": "ADMIN_LOCAL"}),
        ("settings.updated", {"waiver_min_role": None}, {"waiver_min_role": "HR_TENANT"}),
        ("member.updated", {"role": "HR_LOCAL"}, {"role": "ADMIN_TENANT"}),
    ]
    session.add_all(
        AuditEvent(
            organization_id=org.id,
            actor_id=admin.id,
            actor_name=admin.full_name,
            actor_email=admin.email,
            channel="web",
            action=action,
            target_type="settings",
            target_id=None,
            target_label="Invitation settings",
            before=before,
            after=after,
            ip="198.51.100.1",
            created_at=now - timedelta(minutes=n),
        )
        for n, (action, before, after) in enumerate(rows)
    )
    session.commit()


PAGES = [
    "/",
    "/admin/settings/invitations",
    "/admin/settings/membership",
    "/admin/settings/api-tokens",
    "/admin/settings/audit",
    "/admin/settings/webhooks",
    "/applications",
]


@pytest.mark.parametrize("url", PAGES)
def test_no_admin_page_shows_a_role_code(admin_client, session, org, history, url) -> None:
    settings(session, org, min_inviter_role=Role.HR_TENANT.value)
    response = admin_client.get(url)
    assert response.status_code == 200
    assert role_codes_shown(response.get_data(as_text=True)) == []


def test_the_who_can_invite_select_keeps_codes_as_values_and_words_as_labels(
    admin_client,
) -> None:
    page = admin_client.get("/admin/settings/invitations").get_data(as_text=True)
    for role in Role:
        assert f'value="{role.value}"' in page
    assert "Local admin — Only admins can invite" in page


def test_the_audit_log_names_roles_in_words(admin_client, history) -> None:
    text = visible_text(admin_client.get("/admin/settings/audit").get_data(as_text=True))
    for words in ("Local admin", "Organisation HR", "Local HR", "Organisation admin"):
        assert words in text


def test_applications_with_a_sponsor_show_no_role_code(client, session, org) -> None:
    unit = make_unit(session, org, "North")
    hr = make_member(session, org, Role.HR_TENANT, email="hugo@example.org")
    sponsor = make_member(session, org, Role.ADMIN_LOCAL, unit=unit, full_name="Sam Sponsor")
    applicant = make_member(
        session, org, unit=unit, full_name="Gina Guest",
        status=MemberStatus.PENDING_APPROVAL, invited_by_id=sponsor.id,
    )  # fmt: skip
    application = MembershipApplication(
        organization_id=org.id,
        unit_id=unit.id,
        member_id=applicant.id,
        sponsor_id=sponsor.id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(application)
    session.commit()
    sign_in(client, hr)
    for url in ("/applications", f"/applications/{application.public_id}"):
        response = client.get(url)
        assert response.status_code == 200
        assert role_codes_shown(response.get_data(as_text=True)) == []


def test_a_member_refused_invitations_reads_role_words(client, session, org) -> None:
    settings(session, org, min_inviter_role=Role.ADMIN_TENANT.value)
    member = make_member(session, org)
    sign_in(client, member)
    response = client.get("/invites")
    text = visible_text(response.get_data(as_text=True))
    assert role_codes_shown(response.get_data(as_text=True)) == []
    assert "Your role is Member" in text


def test_webhook_events_read_as_words_with_the_code_beside() -> None:
    assert set(EVENT_LABELS) == set(EVENT_TYPES)
    for code, label in EVENT_LABELS.items():
        assert label.endswith(f" ({code})")
        words = label.removesuffix(f" ({code})")
        assert words[0].isupper() and not re.search(r"\b[A-Z]+_[A-Z_]+\b", words)


def test_the_webhooks_page_explains_signing_itself(admin_client) -> None:
    text = visible_text(admin_client.get("/admin/settings/webhooks").get_data(as_text=True))
    assert "README" not in text
    assert "X-Portal-Signature" in text and "HMAC-SHA256" in text
    assert "An invitee joined (INVITE_LINKED)" in text
