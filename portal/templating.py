"""Jinja filters shared by pages and e-mails."""

from __future__ import annotations

from flask import Flask

from portal.roles import role_label
from portal.text import nl2br, when


def register(app: Flask) -> None:
    app.jinja_env.filters["nl2br"] = nl2br
    app.jinja_env.filters["when"] = when
    # Templates show roles through this, never the code.
    app.jinja_env.filters["role_label"] = role_label
    app.jinja_env.globals["role_label"] = role_label
