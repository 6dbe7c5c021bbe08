"""The dashboard's send form with several addresses at once: one answer per address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from portal.clock import utcnow
from portal.invites import service as invites
from portal.models import Invitation
from portal.roles import Role
from tests.conftest import csrf_token
from tests.factories import make_member

HX = {"HX-Request": "true"}


@pytest.fixture
def inviter(session, org, unit):
    return make_member(
        session, org, Role.USER, unit=unit, email="ines@example.org", full_name="Ines Inviter"
    )


def post(client, email, headers=None, **data):
    return client.post(
        "/invites",
        data={"email": email, **data, "csrf_token": csrf_token(client, "/invites")},
        headers=headers or {},
    )


def emails(session):
    return sorted(i.email for i in session.exec(select(Invitation)))


@pytest.mark.parametrize("headers", [HX, None], ids=["htmx", "no-js"])
def test_valid_addresses_are_sent_and_each_address_gets_its_answer(
    inviter_client, session, inviter, headers
):
    invites.send_invitation(
        session, inviter, email="old@example.org", now=utcnow() - timedelta(hours=1)
    )
    session.commit()
    response = post(
        inviter_client,
        "one@example.org, old@example.org x@@y\ntwo@example.org",
        headers,
        full_name="Only One",
        list="pending",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert emails(session) == ["old@example.org", "one@example.org", "two@example.org"]
    # The full name is one person's: not given to any of several.
    assert {i.full_name for i in session.exec(select(Invitation))} == {""}
    answers = page.split('id="send-answers"')[1].split("</ul>")[0]
    assert answers.count("<li") == 4
    assert "Sent to one@example.org." in answers and "Sent to two@example.org." in answers
    assert "old@example.org already has a pending invitation" in answers
    assert "Resend to old@example.org" in answers
    assert "x@@y is not a valid e-mail address" in answers
    assert "2 of 4 invitations sent." in page
    # The refused addresses stay in the field to be corrected.
    field = page.split('name="email"')[1].split("</textarea>")[0]
    assert "old@example.org\nx@@y" in field and "one@example.org" not in field


def test_htmx_send_of_several_puts_every_new_row_at_the_top_of_the_list(
    inviter_client, session, inviter
):
    invites.send_invitation(session, inviter, email="old@example.org", now=utcnow())
    session.commit()
    page = post(inviter_client, "a@example.org b@example.org", HX, list="pending").get_data(
        as_text=True
    )
    new_rows = page.split('<tbody hx-swap-oob="afterbegin:#rows-pending">')[1].split("</tbody>")[0]
    assert new_rows.count("<tr ") == 2
    assert new_rows.index("b@example.org") < new_rows.index("a@example.org")  # newest first
    assert '<span class="count" id="count-pending" hx-swap-oob="true">(3)</span>' in page


@pytest.mark.parametrize(
    "typed",
    [
        "a@example.org,b@example.org",
        "a@example.org b@example.org",
        "a@example.org\r\nb@example.org",
        " a@example.org ;\n\n b@example.org , ",
    ],
    ids=["comma", "space", "newline", "mixed"],
)
def test_commas_spaces_and_new_lines_all_separate(inviter_client, session, typed):
    assert post(inviter_client, typed, HX).status_code == 200
    assert emails(session) == ["a@example.org", "b@example.org"]


def test_more_than_fifty_addresses_are_refused_as_a_whole(inviter_client, session):
    typed = " ".join(f"guest{n}@example.org" for n in range(51))
    response = post(inviter_client, typed, HX)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That is 51 addresses: up to 50 can be invited at once." in page
    assert emails(session) == []


def test_fifty_addresses_are_taken(inviter_client, session):
    typed = "\n".join(f"guest{n}@example.org" for n in range(50))
    assert post(inviter_client, typed, HX).status_code == 200
    assert len(emails(session)) == 50


def test_when_none_is_sent_the_answer_is_a_refusal(inviter_client, session):
    response = post(inviter_client, "nope, ines@example.org", HX)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "None of the 2 invitations was sent." in page
    assert "You can&#39;t invite yourself." in page
    assert emails(session) == []


@pytest.mark.parametrize("typed", ["x@@y", "a b,c@example.org", "<a@example.org>", "zo @x"])
def test_the_validators_own_words_are_never_shown(inviter_client, typed):
    page = post(inviter_client, typed, HX).get_data(as_text=True)
    assert "is not a valid e-mail address" in page
    for raw in ("invalid characters", "SPACE", "@-sign", "IDNA", "quoted"):
        assert raw not in page


def test_one_address_with_a_stray_separator_is_sent_with_its_full_name(inviter_client, session):
    response = post(inviter_client, " guest@example.org,\n", HX, full_name="Gina")
    assert response.status_code == 200
    assert "Invitation sent to guest@example.org." in response.get_data(as_text=True)
    assert session.exec(select(Invitation)).one().full_name == "Gina"
