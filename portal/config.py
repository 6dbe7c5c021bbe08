"""Configuration: defaults, then instance/config.py, then the environment.

Every setting has a safe default so that `make run` works on a fresh clone; production
sets PORTAL_ENV=production and must then provide its own SECRET_KEY.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from portal import passwords

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_PATH = ROOT / "instance"

# Environment variables read as they are (documented in the README).
ENV_SETTINGS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "PORTAL_BASE_URL",
    "PORTAL_ENV",
    "RATELIMIT_STORAGE_URI",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_DEFAULT_SENDER",
    "MAIL_SMTPUTF8",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
    "PASSWORD_HASH_TIME_COST",
    "PASSWORD_HASH_MEMORY_COST",
    "PASSWORD_HASH_PARALLELISM",
)
INT_SETTINGS = {
    "MAIL_PORT",
    "OUTBOX_LEASE_SECONDS",
    "OUTBOX_GIVE_UP_HOURS",
    "SWEEP_INTERVAL_SECONDS",
    "WEBHOOK_TIMEOUT_SECONDS",
    "WEBHOOK_DISABLE_AFTER_HOURS",
    "PASSWORD_HASH_TIME_COST",
    "PASSWORD_HASH_MEMORY_COST",
    "PASSWORD_HASH_PARALLELISM",
}
BOOL_SETTINGS = {
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "SESSION_COOKIE_SECURE",
    "EMBEDDED_WORKER",
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
}


class InsecureConfiguration(RuntimeError):
    """Raised at start-up when production would run with development secrets."""


def defaults(instance_path: Path) -> dict[str, Any]:
    return {
        # "development" enables the dev mailbox and plain-HTTP cookies; anything else is
        # treated as production.
        "PORTAL_ENV": "production",
        "DATABASE_URL": f"sqlite:///{instance_path / 'portal.sqlite3'}",
        "PORTAL_BASE_URL": "http://127.0.0.1:5000",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": None,  # None: decided by PORTAL_ENV in finalise()
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead of a clock
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "RATELIMIT_STORAGE_URI": "memory://",
        # How many reverse proxies stand in front (their X-Forwarded-* headers are trusted).
        # Behind one, set 1: otherwise per-IP limits see every client as the proxy.
        "PROXY_FIX": 0,
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_LIMIT_PER_IP": "30 per 15 minutes",
        "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
        "JOIN_LIMIT_PER_IP": "20 per 15 minutes",
        # Argon2id's cost (portal/passwords.py). Lower it only for benchmarks and tests:
        # it is what an attacker with the database pays per guess.
        "PASSWORD_HASH_TIME_COST": passwords.DEFAULT_TIME_COST,
        "PASSWORD_HASH_MEMORY_COST": passwords.DEFAULT_MEMORY_COST,  # KiB
        "PASSWORD_HASH_PARALLELISM": passwords.DEFAULT_PARALLELISM,
        # The outbox worker (see portal/delivery/worker.py).
        "EMBEDDED_WORKER": False,  # make run turns it on: one process, worker in a thread
        "OUTBOX_LEASE_SECONDS": 120,
        "OUTBOX_GIVE_UP_HOURS": 24,
        "SWEEP_INTERVAL_SECONDS": 60,
        "WEBHOOK_TIMEOUT_SECONDS": 10,
        "WEBHOOK_DISABLE_AFTER_HOURS": 24,
        # Webhooks may call loopback/private addresses only when this is set (tests, dev).
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": None,  # None: allowed in development only
        "MAIL_SERVER": None,
        "MAIL_SUPPRESS_SEND": False,  # only the worker sends, and tests send to their own server
        "MAIL_PORT": 25,
        "MAIL_DEFAULT_SENDER": "Member Portal <no-reply@portal.localhost>",
        # Whether the mail server takes addresses with non-ASCII letters before the @
        # (SMTPUTF8): "auto" asks it once per process, "yes"/"no" say so without asking.
        # Addresses it can't take are refused when they are entered.
        "MAIL_SMTPUTF8": "auto",
    }


def _coerce(key: str, value: str) -> Any:
    if key in INT_SETTINGS:
        return int(value)
    if key in BOOL_SETTINGS:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """Documented variables, plus any PORTAL_<NAME> as <NAME> for everything else."""
    found: dict[str, Any] = {}
    for key in ENV_SETTINGS:
        if environ.get(key):
            found[key] = _coerce(key, environ[key])
    for key, value in environ.items():
        if key.startswith("PORTAL_CONFIG_"):
            name = key.removeprefix("PORTAL_CONFIG_")
            found[name] = _coerce(name, value)
    return found


def instance_secret_key(instance_path: Path) -> str:
    """The development key: generated once, kept in instance/ so sessions survive restarts."""
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def finalise(config: dict[str, Any], instance_path: Path) -> None:
    """Fill in what depends on other settings, and refuse unsafe production set-ups."""
    development = config["PORTAL_ENV"] == "development" or config.get("TESTING")
    if not config.get("SECRET_KEY"):
        if not development:
            raise InsecureConfiguration(
                "SECRET_KEY is not set. In production set SECRET_KEY to a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), "
                "or set PORTAL_ENV=development for a local trial."
            )
        config["SECRET_KEY"] = instance_secret_key(instance_path)
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = not development
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if config.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS") is None:
        config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = bool(development)
    config["PORTAL_BASE_URL"] = config["PORTAL_BASE_URL"].rstrip("/")
    config["MAIL_SMTPUTF8"] = smtputf8_setting(config.get("MAIL_SMTPUTF8"))


_SMTPUTF8_SPELLINGS = {
    "auto": "auto",
    "": "auto",
    **dict.fromkeys(("yes", "true", "1", "on"), "yes"),
    **dict.fromkeys(("no", "false", "0", "off"), "no"),
}


def smtputf8_setting(value: object) -> str:
    """MAIL_SMTPUTF8 as "auto", "yes" or "no" (booleans and the usual spellings accepted)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    spelled = _SMTPUTF8_SPELLINGS.get(str(value or "").strip().lower())
    if spelled is None:
        raise ValueError(f"MAIL_SMTPUTF8 must be auto, yes or no, not {value!r}.")
    return spelled
