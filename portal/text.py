"""Text helpers with no web framework in them (used by pages, e-mails and the sandbox)."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape


def when(moment: datetime | None) -> str:
    """A moment as pages, e-mails and messages show it."""
    return moment.strftime("%d %b %Y, %H:%M UTC") if moment else ""


def day(moment: datetime) -> str:
    """A date as invitations show their expiry."""
    return moment.strftime("%d %B %Y")


def nl2br(value: str | None) -> Markup:
    """Escape user text and keep its line breaks in HTML."""
    return Markup("<br>\n").join(escape(line) for line in (value or "").splitlines())
