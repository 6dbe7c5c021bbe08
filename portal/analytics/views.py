"""Analytics (/analytics, HR and admins) and the top recruiters board (/leaderboard)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from portal.analytics import charts, queries
from portal.analytics.service import initials
from portal.clock import utcnow
from portal.db import get_session
from portal.models import Unit
from portal.policy import may_view_analytics, may_view_leaderboard, require
from portal.web.guards import signed_in
from portal.web.organisation import current_org

bp = Blueprint("analytics", __name__)

bp.before_request(signed_in)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"percent": charts.percent}


def _period() -> str:
    chosen = request.args.get("period", queries.DEFAULT_PERIOD)
    return chosen if chosen in queries.PERIODS else queries.DEFAULT_PERIOD


def _report(period: str) -> dict[str, Any]:
    found = queries.report(get_session(), current_user, queries.window(period, utcnow()))
    funnel, inviters = found.funnel, found.inviters[: queries.TOP_INVITERS]
    return {
        "funnel": funnel,
        "funnel_chart": charts.funnel(funnel),
        "delays_chart": charts.delays(funnel),
        "inviters": inviters,
        "inviters_chart": charts.tallies("Joins per inviter", inviters),
        "overall_rate": queries.rate(funnel.joined, funnel.sent),
        "units": found.units,
        "units_chart": charts.tallies("Joins per unit", found.units) if found.units else None,
    }


@bp.route("/analytics")
def index() -> ResponseReturnValue:
    require(may_view_analytics(current_user))
    period = _period()
    return render_template(
        "analytics/index.html",
        period=period,
        periods=queries.PERIODS,
        scope_name=_scope_name(),
        **_report(period),
    )


def _scope_name() -> str:
    if current_user.role_enum.is_tenant_wide or current_user.unit_id is None:
        return "your organisation"
    unit = get_session().get(Unit, current_user.unit_id)
    return f"the {unit.name} unit" if unit else "your unit"


# --- CSV downloads ---------------------------------------------------------------------------

CSV_REPORTS = ("funnel", "inviters", "units", "join-times")


@bp.route("/analytics/<report>.csv")
def download(report: str) -> ResponseReturnValue:
    require(may_view_analytics(current_user))
    if report not in CSV_REPORTS:
        abort(404)
    period = _period()
    found = queries.report(get_session(), current_user, queries.window(period, utcnow()))
    rows: Iterable[Sequence[object]]
    if report == "funnel":
        header, rows = ("step", "invitations"), found.funnel.steps
    elif report == "join-times":
        words = [w for w, _upper in queries.JOIN_DELAYS]
        header, rows = ("time to join", "members"), zip(words, found.funnel.delays, strict=True)
    else:
        every = found.inviters if report == "inviters" else found.units
        who = "inviter" if report == "inviters" else "unit"
        header = (who, "sent", "joined", "rate", "joined through share links")
        rows = [(t.label, t.sent, t.joined, _rate_cell(t.rate), t.link_joins) for t in every]
    return _csv(f"invitations-{report}-{period}.csv", header, rows)


def _rate_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _cell(value: object) -> object:
    """A name a spreadsheet would run as a formula (=, +, -, @) is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- the top recruiters board ----------------------------------------------------------------


@bp.route("/leaderboard")
def leaderboard() -> ResponseReturnValue:
    session = get_session()
    _org, settings = current_org()
    assert settings is not None  # signed in
    require(may_view_leaderboard(current_user, settings.leaderboard_enabled))
    period = request.args.get("period", "month")
    if period not in queries.BOARD_PERIODS:
        period = "month"
    has_unit = current_user.unit_id is not None
    scope = "unit" if has_unit and request.args.get("scope") == "unit" else "organisation"
    places = queries.leaderboard(
        session,
        current_user.organization_id,
        current_user.unit_id if scope == "unit" else None,
        queries.board_since(period, utcnow()),
    )
    name = initials if settings.leaderboard_initials_only else (lambda full: full)
    return render_template(
        "analytics/leaderboard.html",
        places=[(place, name(place.name)) for place in places],
        period=period,
        periods=queries.BOARD_PERIODS,
        scope=scope,
        has_unit=has_unit,
    )
