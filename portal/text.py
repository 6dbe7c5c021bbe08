"""Text helpers with no web framework in them (used by pages, e-mails and the sandbox)."""

from __future__ import annotations

from markupsafe import Markup, escape


def nl2br(value: str | None) -> Markup:
    """Escape user text and keep its line breaks in HTML."""
    return Markup("<br>\n").join(escape(line) for line in (value or "").splitlines())
