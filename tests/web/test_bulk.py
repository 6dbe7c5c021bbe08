"""Invite from a CSV file through the pages: upload, preview, send, progress, rows not sent."""

from __future__ import annotations

import html
import io

import pytest
from sqlmodel import func, select

from portal.clock import utcnow
from portal.delivery.worker import Worker
from portal.invites import service as invites
from portal.models import BulkJob, BulkRow, Invitation, OutboxItem
from portal.roles import Role
from tests.conftest import csrf_token, sign_in
from tests.factories import make_member, make_org, settings
from tests.query_count import count_queries

HX = {"HX-Request": "true"}
GOOD = (
    "Email;Name;Message\n"
    "alma@example.org;Alma;Welcome, Alma\n"
    "bruno@example.org;Bruno;\n"
    "broken;Nobody;\n"
    "ALMA@example.org;Alma twice;\n"
)


def upload(client, data: bytes | str, filename: str = "people.csv"):
    token = csrf_token(client, "/invites/bulk")
    raw = data.encode() if isinstance(data, str) else data
    response = client.post(
        "/invites/bulk",
        data={"csrf_token": token, "file": (io.BytesIO(raw), filename)},
        content_type="multipart/form-data",
    )
    # A large body is spooled to a temporary file, which werkzeug's client closes with the
    # response only when it follows redirects.
    response.request.input_stream.close()
    return response


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def jobs(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(BulkJob)).one()


def the_job(session) -> BulkJob:
    session.expire_all()
    return session.exec(select(BulkJob)).one()


def deliver_everything(app) -> None:
    worker = Worker(app, name="test")
    while worker.run_once().total:
        pass


def test_the_dashboard_links_hr_and_admins_to_the_csv_upload(client, session, org):
    hr = make_member(session, org, Role.HR_LOCAL)
    sign_in(client, hr)
    assert "Invite from a CSV file" in text(client.get("/invites"))
    client.post("/logout", data={"csrf_token": csrf_token(client, "/invites")})
    sign_in(client, make_member(session, org, Role.USER))
    assert "Invite from a CSV file" not in text(client.get("/invites"))
    assert client.get("/invites/bulk").status_code == 403


def test_an_upload_shows_its_preview_with_counts_and_problem_rows(admin_client, session):
    response = upload(admin_client, GOOD)
    assert response.status_code == 303
    page = text(admin_client.get(response.headers["Location"]))
    assert 'id="count-valid">2<' in page and 'id="count-invalid">1<' in page
    assert 'id="count-duplicate">1<' in page
    assert "broken is not a valid e-mail address" in page
    assert "alma@example.org is also on line 2; only that line is sent." in page
    assert "Send 2 invitations" in page
    assert session.exec(select(func.count()).select_from(Invitation)).one() == 0


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ("email,name\nada@example.org,Zoë\n".encode("latin-1"), 422, "The file isn't UTF-8 text"),
        (b"name,phone\nAda,1\n", 422, "The file has no e-mail column."),
        (
            "email\n" + "".join(f"g{n}@example.org\n" for n in range(10_001)),
            422,
            "The file has more than 10,000 rows.",
        ),
    ],
    ids=["not-utf8", "no-email-column", "10001-rows"],
)
def test_a_file_that_cant_be_used_is_refused_with_its_reason_and_nothing_saved(
    admin_client, session, data, status, words
):
    response = upload(admin_client, data)
    assert response.status_code == status
    assert words in text(response)
    assert jobs(session) == 0


def test_a_file_larger_than_the_upload_limit_is_refused_with_the_limit(app, admin_client, session):
    app.config["BULK_UPLOAD_MAX_BYTES"] = 1024 * 1024
    response = upload(admin_client, "email\n" + "x" * 1024 * 1024)
    assert response.status_code == 413
    assert "The file is larger than 1 MB, the most we accept." in text(response)
    assert jobs(session) == 0


def test_ten_thousand_rows_fit_under_the_upload_limit(admin_client, session):
    rows = "".join(
        f"guest.number{n}@example.org,Guest Number {n},See you at the club night!\n"
        for n in range(10_000)
    )
    response = upload(admin_client, "email,name,message\n" + rows)
    assert response.status_code == 303
    assert the_job(session).valid_count == 10_000


def test_no_file_is_refused(admin_client, session):
    token = csrf_token(admin_client, "/invites/bulk")
    response = admin_client.post("/invites/bulk", data={"csrf_token": token})
    assert response.status_code == 422 and "Choose a CSV file to upload." in text(response)


def test_send_shows_progress_then_the_result_and_the_rows_not_sent(app, admin_client, session):
    job_url = upload(admin_client, GOOD).headers["Location"]
    token = csrf_token(admin_client, job_url)
    response = admin_client.post(f"{job_url}/send", data={"csrf_token": token})
    assert response.status_code == 303
    page = text(admin_client.get(job_url))
    assert '<progress id="bulk-progress-bar" max="2" value="0">' in page
    assert 'hx-trigger="every 1s"' in page  # it polls while sending
    assert 'role="status" aria-live="polite">Sending: 0% done.' in page
    deliver_everything(app)
    poll = text(admin_client.get(f"{job_url}/progress", headers=HX))
    assert 'hx-trigger="every 1s"' not in poll  # done: polling stops
    assert '<progress id="bulk-progress-bar" max="2" value="2">' in poll
    assert 'hx-swap-oob="innerHTML">Finished: 2 sent, 0 refused.' in poll
    assert "Download the rows not sent (CSV)" in poll
    csv = admin_client.get(f"{job_url}/not-sent.csv")
    assert csv.mimetype == "text/csv"
    assert csv.get_data(as_text=True).splitlines() == [
        "line,email,name,message,reason",
        "4,broken,Nobody,,broken is not a valid e-mail address: "
        "it needs an @ between the name and the domain.",
        "5,alma@example.org,Alma twice,,"
        "alma@example.org is also on line 2; only that line is sent.",
    ]
    emails = session.exec(select(Invitation.email).order_by(Invitation.email)).all()
    assert emails == ["alma@example.org", "bruno@example.org"]
    assert (
        session.exec(
            select(func.count()).where(OutboxItem.kind == "email", OutboxItem.status == "sent")
        ).one()
        == 2
    )


def test_a_second_send_is_refused_with_a_conflict(admin_client, session):
    job_url = upload(admin_client, GOOD).headers["Location"]
    token = csrf_token(admin_client, job_url)
    admin_client.post(f"{job_url}/send", data={"csrf_token": token})
    response = admin_client.post(f"{job_url}/send", data={"csrf_token": token})
    assert response.status_code == 409
    assert "already being sent" in text(response)
    assert session.exec(select(func.count()).where(OutboxItem.kind == "bulk")).one() == 1


def test_an_admin_over_the_daily_limit_is_offered_a_raise_and_must_tick_it(
    app, admin_client, session, org, admin
):
    settings(session, org, daily_limit_per_member=1)
    job_url = upload(admin_client, GOOD).headers["Location"]
    page = text(admin_client.get(job_url))
    assert "Your daily limit is 1 invitations" in page
    assert "Raise my daily limit for this file" in page
    token = csrf_token(admin_client, job_url)
    admin_client.post(f"{job_url}/send", data={"csrf_token": token, "raise_limit": "y"})
    deliver_everything(app)
    job = the_job(session)
    assert (job.raised_limit, job.sent_count, job.failed_count) == (2, 2, 0)


def test_hr_over_the_limit_are_told_rows_wont_all_be_sent(client, session, org):
    settings(session, org, daily_limit_per_member=1)
    sign_in(client, make_member(session, org, Role.HR_TENANT))
    page = text(client.get(upload(client, GOOD).headers["Location"]))
    assert "Rows past your limit will be listed as not sent" in page
    assert "Raise my daily limit" not in page


def test_a_preview_can_be_discarded(admin_client, session):
    job_url = upload(admin_client, GOOD).headers["Location"]
    token = csrf_token(admin_client, job_url)
    response = admin_client.post(f"{job_url}/discard", data={"csrf_token": token})
    assert response.status_code == 303
    assert jobs(session) == 0
    assert session.exec(select(func.count()).select_from(BulkRow)).one() == 0


def test_another_members_job_is_not_found(client, session, org, admin):
    sign_in(client, admin)
    job_url = upload(client, GOOD).headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/invites")})
    sign_in(client, make_member(session, org, Role.ADMIN_TENANT))
    assert client.get(job_url).status_code == 404
    assert client.get(f"{job_url}/not-sent.csv").status_code == 404
    other_org_admin = make_member(session, make_org(session), Role.ADMIN_TENANT)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/invites")})
    sign_in(client, other_org_admin)
    assert client.get(job_url).status_code == 404


def test_the_problem_rows_are_paged_by_line_at_a_fixed_query_cost(admin_client, session, engine):
    rows = "".join(f"bad{n}\n" for n in range(120))
    job_url = upload(admin_client, "email\n" + rows).headers["Location"]
    admin_client.get(job_url)
    with count_queries(engine) as first:
        page = text(admin_client.get(job_url))
    assert "Next rows with a problem" in page and "bad49 is not" in page
    assert "bad50 is not" not in page
    with count_queries(engine) as later:
        page = text(admin_client.get(f"{job_url}?after=101"))
    assert "bad100 is not" in page and "bad119 is not" in page and "bad99 " not in page
    assert len(later) == len(first)


def test_cells_a_spreadsheet_would_run_are_written_as_text(app, admin_client, session, admin):
    invites.send_invitation(session, admin, email="p@example.org", now=utcnow())
    session.commit()
    job_url = upload(admin_client, "email,name\n=HYPERLINK(1),@evil\nok@example.org,Ok\n").headers[
        "Location"
    ]
    token = csrf_token(admin_client, job_url)
    admin_client.post(f"{job_url}/send", data={"csrf_token": token})
    deliver_everything(app)
    body = admin_client.get(f"{job_url}/not-sent.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1),'@evil" in body
