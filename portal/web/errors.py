"""Translating errors to pages, in one place (the API has its own problem+json handler)."""

from __future__ import annotations

import time

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.errors import DomainError
from portal.extensions import limiter
from portal.validation import check_text

MESSAGES = {
    404: ("Page not found", "There is nothing at this address. Check the link, or go home."),
    405: ("Not allowed here", "This page doesn't accept that kind of request."),
    413: ("Too large", "What you sent is larger than we accept. Shorten it and try again."),
    500: ("Something broke", "We couldn't finish that. Nothing was saved; please try again."),
}


def _page(status: int, title: str, message: str) -> ResponseReturnValue:
    return render_template("errors/error.html", title=title, message=message), status


def retry_minutes() -> int:
    """Minutes until the limit that was just hit resets (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 1
    # reset_at is a whole second past the window's end; round so 15 minutes reads "15".
    return max(1, round((current.reset_at - time.time()) / 60))


def _refuse_control_characters() -> None:
    """No query parameter or path segment of a page holds a control character (a NUL would
    even make PostgreSQL fail: a 500). Checked once here, before any view looks them up.
    Form fields are checked by their forms (portal.validation.PlainText), next to the field;
    the API checks its own parameters and JSON, to name them as its documentation does."""
    if request.blueprint == "api":
        return
    for name, value in request.args.items(multi=True):
        check_text(name, field=name, what="A parameter's name")
        check_text(value, field=name, what=f"The {name} parameter")
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            check_text(value, field=name, what="The page address")


def register(app: Flask) -> None:
    app.before_request(_refuse_control_characters)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> ResponseReturnValue:
        return _page(error.status, error.title, error.message)

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> ResponseReturnValue:
        return _page(
            400,
            "Form expired",
            "This form had expired or came from another site. Reload the page and submit it again.",
        )

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(_error: RateLimitExceeded) -> ResponseReturnValue:
        minutes = retry_minutes()
        unit = "minute" if minutes == 1 else "minutes"
        body, status = _page(
            429, "Too many attempts", f"Too many attempts. Try again in {minutes} {unit}."
        )
        return body, status, {"Retry-After": str(minutes * 60)}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        title, message = MESSAGES.get(error.code or 500, (error.name, error.description or ""))
        return _page(error.code or 500, title, message)
