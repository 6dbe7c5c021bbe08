"""Member Portal: an organisation grows by invitation."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import access_log, cli, db, passwords, sealing, templating
from portal.config import INSTANCE_PATH, ROOT, defaults, finalise, from_environment
from portal.extensions import csrf, htmx_ext, limiter, login_manager, mail
from portal.web import errors as web_errors

# Pages load only our own scripts and styles; logos may come from any https host.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "https:", "data:"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "script-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
}


def create_app(config_overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_PATH),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(defaults(INSTANCE_PATH))
    app.config.from_pyfile(str(INSTANCE_PATH / "config.py"), silent=True)
    app.config.update(from_environment(os.environ))
    app.config.update(config_overrides or {})
    finalise(app.config, INSTANCE_PATH)
    access_log.install()  # before any request can be logged

    if app.config["PROXY_FIX"]:
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    db.init_app(app)
    sealing.configure(app.config["SECRET_KEY"])
    passwords.configure(
        app.config["PASSWORD_HASH_TIME_COST"],
        app.config["PASSWORD_HASH_MEMORY_COST"],
        app.config["PASSWORD_HASH_PARALLELISM"],
    )
    templating.register(app)
    _init_extensions(app)
    _register_blueprints(app)
    web_errors.register(app)
    cli.register(app)
    _register_outbox(app)
    if app.config["EMBEDDED_WORKER"]:
        from portal.delivery.worker import start_in_thread

        app.extensions["portal.stop_worker"] = start_in_thread(app)
    return app


def _register_outbox(app: Flask) -> None:
    """What the outbox worker delivers and runs: each capability says so itself, so the
    engine in portal/delivery/ imports none of them."""
    from portal.api import outbox as api_outbox
    from portal.applications import outbox as applications_outbox
    from portal.bulk import outbox as bulk_outbox
    from portal.delivery.registry import registry_of
    from portal.events import outbox as events_outbox
    from portal.invites import outbox as invites_outbox
    from portal.rewards import outbox as rewards_outbox
    from portal.webhooks import outbox as webhooks_outbox

    registry = registry_of(app)
    invites_outbox.register(registry)
    webhooks_outbox.register(registry)
    api_outbox.register(registry)
    rewards_outbox.register(registry)
    applications_outbox.register(registry)
    events_outbox.register(registry)
    bulk_outbox.register(registry)


def _init_extensions(app: Flask) -> None:
    csrf.init_app(app)
    mail.init_app(app)
    htmx_ext.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    Talisman(
        app,
        force_https=False,  # TLS is the reverse proxy's job; cookies are still Secure there
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        strict_transport_security=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        referrer_policy="same-origin",  # invite links must never leak through Referer
    )

    from portal.auth.service import load_member
    from portal.db import get_session

    @login_manager.user_loader
    def _load(user_id: str) -> Any:
        return load_member(get_session(), user_id)


def _register_blueprints(app: Flask) -> None:
    from portal.analytics.views import bp as analytics_bp
    from portal.api.views import bp as api_bp
    from portal.applications import views as applications_views
    from portal.auth.views import bp as auth_bp
    from portal.bulk.views import bp as bulk_bp
    from portal.devmail.views import bp as devmail_bp
    from portal.events.views import bp as events_bp
    from portal.invites.views import bp as invites_bp
    from portal.join.views import bp as join_bp
    from portal.main.views import bp as main_bp
    from portal.referrals.views import bp as referrals_bp
    from portal.rewards import views as rewards_views
    from portal.settings import bp as settings_bp
    from portal.web import devices

    blueprints = [
        main_bp,
        auth_bp,
        settings_bp,
        invites_bp,
        bulk_bp,
        analytics_bp,
        join_bp,
        referrals_bp,
        rewards_views.bp,
        applications_views.bp,
        events_bp,
        api_bp,
    ]
    devices.install(app)
    rewards_views.install(app)
    applications_views.install(app)
    if app.config["PORTAL_ENV"] == "development":  # in production /dev/mailbox doesn't exist
        blueprints.append(devmail_bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
