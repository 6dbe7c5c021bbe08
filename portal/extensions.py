"""Flask extensions, created unbound and attached in create_app."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mail import Mail
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx


def client_ip() -> str:
    # Behind a proxy, ProxyFix (PORTAL_CONFIG_PROXY_FIX=<number of proxies>) sets remote_addr.
    return request.remote_addr or "unknown"


login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()
htmx_ext = Htmx()
limiter = Limiter(key_func=client_ip)
