"""An e-mail as the SMTP channel sends it, whoever rendered it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import css_inline
from jinja2 import Environment

from portal.email_addresses import one_line

# css-inline (Rust) rather than premailer: 25 µs instead of 5 ms an e-mail, which was most
# of the worker's time per e-mail in bench/delivery.py.
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Attachment:
    """A file sent beside the text and HTML (an event's .ics calendar entry)."""

    filename: str
    content_type: str  # "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class RenderedEmail:
    to: str
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


def render_email(
    env: Environment,
    name: str,
    to: str,
    subject: str,
    attachments: tuple[Attachment, ...] = (),
    **context: Any,
) -> RenderedEmail:
    """templates/emails/<name>.txt and .html with `context` (and the subject), as one e-mail.
    Names and an organisation's name reach the Subject header: rows stored before control
    characters were refused must still make a one-line subject. Mail clients ignore
    <style>, so the HTML's is inlined (no network: logos stay remote links)."""
    subject = one_line(subject)
    text = env.get_template(f"emails/{name}.txt").render(subject=subject, **context)
    html = env.get_template(f"emails/{name}.html").render(subject=subject, **context)
    return RenderedEmail(to, subject, text, _INLINER.inline(html), attachments)
