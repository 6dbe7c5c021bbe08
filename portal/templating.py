"""Jinja filters shared by pages and e-mails."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from portal.text import nl2br


def when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y, %H:%M UTC") if moment else ""


def register(app: Flask) -> None:
    app.jinja_env.filters["nl2br"] = nl2br
    app.jinja_env.filters["when"] = when
