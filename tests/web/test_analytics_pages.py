"""The analytics page, its CSV downloads, the top recruiters board and its settings."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.models import AuditEvent
from portal.orgs.service import settings_for
from portal.roles import Role
from tests.conftest import csrf_token, sign_in
from tests.factories import make_invitation, make_member, make_unit, settings
from tests.query_count import count_queries


@pytest.fixture
def north(session, org):
    return make_unit(session, org, "North")


@pytest.fixture
def nora(session, org, north):
    return make_member(session, org, Role.USER, unit=north, full_name="Nora North")


def _invite(session, inviter, days_ago: float, joined_after: float | None = None, **extra):
    created = utcnow() - timedelta(days=days_ago)
    accepted = created + timedelta(days=joined_after) if joined_after is not None else None
    return make_invitation(session, inviter, created_at=created, accepted_at=accepted, **extra)


def _csv(response) -> list[list[str]]:
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_page_shows_each_chart_with_its_numbers_beside_it(session, admin_client, nora):
    _invite(session, nora, 3, joined_after=0.5)
    _invite(session, nora, 4)
    page = admin_client.get("/analytics").get_data(as_text=True)
    assert "From invitation to member" in page and "Joins per inviter" in page
    assert 'role="img"' in page and "2 sent, 2 delivered, 1 opened, 1 joined." in page
    assert "Units compared" in page  # a tenant admin compares units
    assert '<th scope="row">Nora North</th>' in page


def test_joins_through_share_links_are_counted_apart_from_emailed_invitations(
    session, admin_client, nora
):
    _invite(session, nora, 3, joined_after=0.5)
    _invite(session, nora, 2, joined_after=0, source="link")
    page = admin_client.get("/analytics").get_data(as_text=True)
    assert "1 sent, 1 delivered, 1 opened, 1 joined." in page
    assert "And 1 joined through share links." in page
    rows = _csv(admin_client.get("/analytics/inviters.csv"))
    assert rows[0][-1] == "joined through share links"
    assert rows[1] == ["Nora North", "1", "1", "1.000", "1"]


def test_a_period_with_nothing_says_so(session, admin_client, nora):
    _invite(session, nora, 100)
    page = admin_client.get("/analytics?period=30d").get_data(as_text=True)
    assert "No invitations were e-mailed in this period." in page
    assert "Download as CSV" not in page


def test_an_unknown_period_falls_back_to_the_default(admin_client):
    page = admin_client.get("/analytics?period=forever").get_data(as_text=True)
    assert '<option value="90d" selected>' in page


def test_members_may_not_open_analytics_and_are_told_why(client, nora):
    member = sign_in(client, nora)
    response = member.get("/analytics")
    assert response.status_code == 403
    assert "Invitation analytics are for HR and admins" in response.get_data(as_text=True)
    assert member.get("/analytics/funnel.csv").status_code == 403


def test_local_hr_see_their_unit_only(session, client, org, north, nora):
    other = make_member(session, org, Role.USER, full_name="Outside Person")
    _invite(session, nora, 2)
    _invite(session, other, 2)
    hr = make_member(session, org, Role.HR_LOCAL, unit=north)
    page = sign_in(client, hr).get("/analytics").get_data(as_text=True)
    assert "the North unit" in page and "Nora North" in page
    assert "Outside Person" not in page and "Units compared" not in page


def test_the_csv_downloads_hold_the_numbers(session, admin_client, nora):
    _invite(session, nora, 3, joined_after=5)
    _invite(session, nora, 4)
    funnel = _csv(admin_client.get("/analytics/funnel.csv?period=30d"))
    assert funnel == [
        ["step", "invitations"],
        ["Sent", "2"],
        ["Delivered", "2"],
        ["Link opened", "1"],
        ["Joined", "1"],
    ]
    inviters = _csv(admin_client.get("/analytics/inviters.csv"))
    assert inviters[1] == ["Nora North", "2", "1", "0.500", "0"]
    assert _csv(admin_client.get("/analytics/join-times.csv"))[3] == ["3–7 days", "1"]
    assert _csv(admin_client.get("/analytics/units.csv"))[1] == ["North", "2", "1", "0.500", "0"]
    assert admin_client.get("/analytics/secrets.csv").status_code == 404


def test_a_name_a_spreadsheet_would_run_is_written_as_text(session, admin_client, org):
    sneaky = make_member(session, org, Role.USER, full_name="=HYPERLINK(1)")
    _invite(session, sneaky, 1)
    rows = _csv(admin_client.get("/analytics/inviters.csv"))
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_the_page_costs_the_same_queries_for_few_or_many_inviters(
    session, engine, admin_client, org
):
    def fill(n: int) -> None:
        for _ in range(n):
            _invite(session, make_member(session, org, Role.USER), 1, joined_after=0.1)

    fill(2)
    admin_client.get("/analytics")
    with count_queries(engine) as small:
        assert admin_client.get("/analytics").status_code == 200
    fill(30)
    with count_queries(engine) as large:
        assert admin_client.get("/analytics").status_code == 200
    assert len(small) == len(large), large
    # The member, the organisation, the report's two passes (whole days, part-days), the
    # names, and whether adhesion is on (its "approved" step: one query more when it is).
    assert len(large) <= 6, large


# --- the top recruiters board ------------------------------------------------------------------


def test_members_see_the_board_only_once_it_is_on(session, client, org, nora):
    member = sign_in(client, nora)
    assert member.get("/leaderboard").status_code == 403
    assert "Top recruiters" not in member.get("/").get_data(as_text=True)
    settings(session, org, leaderboard_enabled=True)
    assert "Top recruiters" in member.get("/").get_data(as_text=True)
    assert member.get("/leaderboard").status_code == 200


def test_admins_preview_the_board_before_members_see_it(admin_client):
    page = admin_client.get("/leaderboard").get_data(as_text=True)
    assert "Members don't see this board" in page


def test_the_board_ranks_and_can_name_by_initials(session, client, org, north, nora):
    settings(session, org, leaderboard_enabled=True)
    sam = make_member(session, org, Role.USER, full_name="Sam South")
    _invite(session, sam, 2, joined_after=1)
    _invite(session, sam, 2, joined_after=1)
    _invite(session, nora, 2, joined_after=1)
    member = sign_in(client, nora)
    page = member.get("/leaderboard?period=all").get_data(as_text=True)
    assert page.index("Sam South") < page.index("Nora North")
    assert "(you)" in page
    mine = member.get("/leaderboard?period=all&scope=unit").get_data(as_text=True)
    assert "Nora North" in mine and "Sam South" not in mine
    settings(session, org, leaderboard_initials_only=True)
    page = member.get("/leaderboard?period=all").get_data(as_text=True)
    assert "S. S." in page and "Sam South" not in page


def test_admins_turn_the_board_on_and_it_is_audited(session, admin_client, org):
    token = csrf_token(admin_client, "/admin/settings/leaderboard")
    response = admin_client.post(
        "/admin/settings/leaderboard",
        data={"csrf_token": token, "enabled": "y", "initials_only": "y"},
    )
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Leaderboard settings saved." in page
    session.expire_all()
    saved = settings_for(session, org.id)
    assert (saved.leaderboard_enabled, saved.leaderboard_initials_only) == (True, True)
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "settings.leaderboard.updated")
    ).one()
    assert event.after == {"leaderboard_enabled": True, "leaderboard_initials_only": True}


def test_only_organisation_admins_change_the_board_settings(session, client, org):
    hr = make_member(session, org, Role.HR_TENANT)
    assert sign_in(client, hr).get("/admin/settings/leaderboard").status_code == 403
