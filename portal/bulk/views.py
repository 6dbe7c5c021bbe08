"""Invite from a CSV file: upload → preview → send → progress → the rows not sent."""

from __future__ import annotations

import csv
import io
import re

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from portal.bulk import csvfile, queries
from portal.bulk import service as bulk
from portal.bulk.forms import DiscardForm, SendForm, UploadForm
from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.smtp import reach
from portal.errors import DomainError, Invalid
from portal.models import BulkJob, BulkJobStatus
from portal.policy import may_raise_bulk_limit, may_see_bulk_job, may_send_bulk, require
from portal.web.htmx import render
from portal.web.organisation import current_org
from portal.web.unit_of_work import commit, or_flash, submit

bp = Blueprint("bulk", __name__, url_prefix="/invites/bulk")

# A 10,000-row file with names and short messages is about 1.5 MB; the app-wide limit
# (MAX_CONTENT_LENGTH) is for forms of typed text, so uploads here get their own.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


def _max_bytes() -> int:
    return int(current_app.config.get("BULK_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, _values: object) -> None:
    # URL preprocessors run before any before_request function, and the CSRF check (one of
    # those) is what first reads the body: the upload's own limit must be set before it.
    if endpoint == "bulk.upload":
        request.max_content_length = _max_bytes()


@bp.app_context_processor
def _dashboard_link() -> dict[str, object]:
    # A function, so only the page that shows the link (the Invite dashboard) pays for it.
    def may_invite_from_csv() -> bool:
        if not current_user.is_authenticated:
            return False
        _org, settings = current_org()
        return bool(may_send_bulk(current_user, settings))

    return {"may_invite_from_csv": may_invite_from_csv}


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here is for members; the policy decides the rest."""


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> ResponseReturnValue:
    megabytes = _max_bytes() / (1024 * 1024)
    error = Invalid(
        f"The file is larger than {megabytes:g} MB, the most we accept. Split it into smaller "
        "files (at most 10,000 rows each) and upload them one by one.",
        field="file",
    )
    return _index(UploadForm(formdata=None), error, 413)


def _require_may_bulk() -> None:
    _org, settings = current_org()
    require(may_send_bulk(current_user, settings))


def _index(
    form: UploadForm, error: DomainError | None = None, status: int = 200
) -> ResponseReturnValue:
    jobs = queries.recent_jobs(get_session(), current_user)
    page = render_template(
        "bulk/index.html", form=form, error=error, jobs=jobs, max_rows=csvfile.MAX_ROWS
    )
    return page, status


@bp.route("")
def index() -> ResponseReturnValue:
    _require_may_bulk()
    return _index(UploadForm())


@bp.route("", methods=["POST"])
def upload() -> ResponseReturnValue:
    _require_may_bulk()
    form = UploadForm()
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _index(form, Invalid("Choose a CSV file to upload.", field="file"), 422)
    try:
        now, data, name = utcnow(), upload.read(), upload.filename
    finally:
        upload.close()  # a large upload is spooled to a temporary file: let it go now
    try:
        lines = csvfile.read_lines(data)
    except DomainError as error:
        return _index(form, error, error.status)
    try:
        job = commit(
            lambda: bulk.create_preview(
                get_session(),
                current_user,
                lines,
                filename=name,
                now=now,
                reach=reach(current_app),
            )
        )
    except DomainError as error:
        return _index(form, error, error.status)
    return redirect(url_for("bulk.job", public_id=job.public_id), 303)


def _job_or_404(public_id: str) -> BulkJob:
    job = queries.find_job(get_session(), current_user, public_id)
    if job is None or not may_see_bulk_job(current_user, job):
        abort(404)
    return job


def _after() -> int:
    after = request.args.get("after", "")
    return int(after) if re.fullmatch(r"[0-9]{1,9}", after) else 0


def _job_context(job: BulkJob, form: SendForm | None = None) -> dict[str, object]:
    session, now = get_session(), utcnow()
    needed = (
        bulk.limit_needed(session, current_user, job, now)
        if job.status == BulkJobStatus.PREVIEW
        else None
    )
    _org, settings = current_org()
    return {
        "job": job,
        "problems": queries.problems(session, job, _after()),
        "form": form or SendForm(),
        "discard_form": DiscardForm(),
        "limit_needed": needed,
        "daily_limit": settings.daily_limit_per_member,
        "used_today": bulk.used_today(session, current_user, now),
        "may_raise": bool(may_raise_bulk_limit(current_user)),
        "progress": bulk.progress(job),
    }


@bp.route("/<public_id>")
def job(public_id: str) -> ResponseReturnValue:
    job = _job_or_404(public_id)
    return render("bulk/job.html", "bulk/_problems.html", **_job_context(job))


@bp.route("/<public_id>/progress")
def progress(public_id: str) -> ResponseReturnValue:
    """What the page polls (every second while sending): the bar, and the result once done."""
    job = _job_or_404(public_id)
    return render("bulk/job.html", "bulk/_progress_poll.html", **_job_context(job))


@bp.route("/<public_id>/send", methods=["POST"])
def send(public_id: str) -> ResponseReturnValue:
    job = _job_or_404(public_id)
    form = SendForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = submit(
        form,
        lambda: bulk.start_sending(
            get_session(), current_user, job, raise_limit=bool(form.raise_limit.data), now=utcnow()
        ),
    )
    if outcome.error is not None:
        get_session().refresh(job)
        return render_template("bulk/job.html", **_job_context(job, form)), outcome.status
    return redirect(url_for("bulk.job", public_id=job.public_id), 303)


@bp.route("/<public_id>/discard", methods=["POST"])
def discard(public_id: str) -> ResponseReturnValue:
    job = _job_or_404(public_id)
    if not DiscardForm().validate_on_submit():
        abort(400)
    if or_flash(lambda: bulk.discard(get_session(), current_user, job)).ok:
        flash(f"The preview of {job.filename or 'your file'} was discarded.", "success")
        return redirect(url_for("bulk.index"), 303)
    return redirect(url_for("bulk.job", public_id=job.public_id), 303)


def _cell(value: object) -> object:
    """A value a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.route("/<public_id>/not-sent.csv")
def not_sent(public_id: str) -> ResponseReturnValue:
    """Every row that wasn't sent, with why, in the upload's own columns: fix and re-upload."""
    job = _job_or_404(public_id)
    # Built whole (10,000 rows are a few hundred kB): a streamed body would hold the
    # request's database connection until the client finished reading.
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "email", "name", "message", "reason"])
    for row in queries.not_sent(get_session(), job):
        writer.writerow(
            [_cell(v) for v in (row.line, row.email, row.full_name, row.message, row.reason)]
        )
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", job.filename.rsplit(".", 1)[0])[:60] or "invitations"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{stem}-not-sent.csv"'},
    )
