"""Settings → Delivery: how the organisation's e-mails and webhook calls are doing."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.clock import utcnow
from portal.db import get_session
from portal.delivery.status import human_age, outbox_status
from portal.web.guards import admins_only
from portal.web.htmx import render

bp = Blueprint("delivery", __name__, url_prefix="/delivery")

bp.before_request(admins_only)


@bp.route("")
def index() -> ResponseReturnValue:
    rows = outbox_status(get_session(), utcnow(), current_user.organization_id)
    return render(
        "delivery/status.html", "delivery/_status_table.html", rows=rows, human_age=human_age
    )
