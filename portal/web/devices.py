"""A long-lived random cookie naming the browser, so that a join from the referrer's own
browser can be told apart (the rewards' same-device check). Only its SHA-256 digest is
stored (portal.models.MemberDevice), at login and at a join: the cookie itself says nothing
about the person, and is not a session."""

from __future__ import annotations

import hashlib
import secrets

from flask import Flask, Response, current_app, g, request

COOKIE = "portal_device"
MAX_AGE = 2 * 365 * 24 * 3600
_FRESH = "portal_device_fresh"


def _value() -> str:
    value = request.cookies.get(COOKIE)
    if value and len(value) <= 100:
        return value
    if g.get(_FRESH) is None:
        setattr(g, _FRESH, secrets.token_urlsafe(32))
    return g.get(_FRESH)


def device_digest() -> str:
    """The digest of this browser's device cookie (given one now if it had none)."""
    return hashlib.sha256(_value().encode()).hexdigest()


def _set_cookie(response: Response) -> Response:
    if request.path.startswith(("/api/", "/static/")):
        return response  # API clients and files don't need one
    fresh = g.get(_FRESH)
    if fresh is None and request.cookies.get(COOKIE) is None and request.method == "GET":
        fresh = _value()  # pages give the cookie, so a later login or join already carries it
    if fresh is not None:
        response.set_cookie(
            COOKIE,
            fresh,
            max_age=MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


def install(app: Flask) -> None:
    app.after_request(_set_cookie)
