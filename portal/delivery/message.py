"""An e-mail as the SMTP channel sends it, whoever rendered it."""

from __future__ import annotations

from dataclasses import dataclass


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
