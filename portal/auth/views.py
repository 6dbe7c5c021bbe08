"""Login and logout."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth.forms import LoginForm
from portal.auth.service import LoginRefused, authenticate, end_sessions, login_key
from portal.db import get_session
from portal.extensions import client_ip, limiter
from portal.safe_urls import safe_next
from portal.web.unit_of_work import commit

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    # Account and client together: five wrong guesses from elsewhere must not lock the owner
    # out (the per-IP limit still caps what one client can try across accounts).
    return f"login-account:{login_key(request.form.get('email') or '')}:{client_ip()}"


def _rotate_csrf_token() -> None:
    """A token seen before the session changed hands (a shared computer, a planted cookie)
    must not validate after it. The next page generates a fresh one."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)
    g.pop(field, None)


def _failed(response: object) -> bool:
    # Only failed attempts count: a member who logs in and out often is never locked out.
    return getattr(response, "status_code", 200) != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-ip",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_failed,
    scope="login-account",
)
def login() -> ResponseReturnValue:
    target = safe_next(request.args.get("next"), url_for("main.home"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        try:
            email, password = form.email.data or "", form.password.data or ""
            member = commit(lambda: authenticate(get_session(), email, password))
        except LoginRefused as refused:
            form.form_errors.append(refused.message)
        else:
            # Forced: Flask-Login refuses inactive users, and an applicant awaiting approval
            # is one (authenticate let only active and pending members through).
            login_user(member, force=True)
            _rotate_csrf_token()
            return redirect(target)
    # A field the form refused is 422, as on every form; wrong credentials are 401.
    refused_field = any(field.errors for field in form)
    status = 200 if request.method == "GET" else 422 if refused_field else 401
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def logout() -> ResponseReturnValue:
    if request.method == "GET":  # a link can't log you out; a CSRF-protected form can
        return render_template("auth/logout.html")
    db = get_session()
    end_sessions(db, current_user._get_current_object())  # copies of this cookie stop working
    db.commit()
    logout_user()
    _rotate_csrf_token()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
