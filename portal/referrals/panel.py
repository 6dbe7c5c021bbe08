"""The share-links panel of the Invite dashboard (templates/referrals/_links.html): what
the invites dashboard includes, built here so that the dashboard knows nothing of links
beyond calling `panel_context`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import segno
from flask import current_app
from flask_login import current_user
from markupsafe import Markup, escape

from portal.clock import utcnow
from portal.db import get_session
from portal.models import InvitationSettings, Organization, ShareLink
from portal.policy import may_make_campaign_links, may_share_links
from portal.referrals import service as referrals
from portal.referrals.forms import NewLinkForm
from portal.web.organisation import current_org
from portal.web.unit_of_work import commit


@dataclass(frozen=True)
class LinkView:
    link: ShareLink
    url: str
    expires_at: datetime | None


@lru_cache(maxsize=512)
def _qr(url: str) -> str:
    # ~9 ms each on this machine, most of a dashboard's time: kept per process, by URL (a
    # regenerated link has a new URL, so nothing stale is ever shown).
    return segno.make(url, error="m").svg_inline(scale=4, border=2)


def qr_svg(url: str, label: str) -> Markup:
    """The link as an inline SVG QR code. Made by segno from our own URL (a code of ours and
    the configured base address), never from a member's text, so it may be marked safe."""
    # The picture's name for screen readers (escaped: it is text in an attribute).
    named = _qr(url).replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return Markup(named)  # noqa: S704 (segno's SVG of our own URL, see above)


def mailto(org: Organization, url: str) -> str:
    subject = f"Join me at {org.name}"
    body = f"I'd like you to join {org.name}. Sign up through my link: {url}"
    return f"mailto:?subject={quote(subject)}&body={quote(body)}"


def link_view(link: ShareLink, settings: InvitationSettings) -> LinkView:
    url = referrals.link_url(current_app.config["PORTAL_BASE_URL"], referrals.code_of(link))
    return LinkView(link, url, referrals.expires_at(link, settings))


def panel_context(form: NewLinkForm | None = None, notice: str | None = None) -> dict[str, Any]:
    """The panel for the signed-in member, or {"share_panel": None} when they may not have
    links (the dashboard then shows no panel). Makes their personal link on first visit."""
    org, settings = current_org()
    assert org is not None and settings is not None
    if not may_share_links(current_user, settings):
        return {"share_panel": None}
    session = get_session()
    links = referrals.links_of(session, current_user)
    if not any(link.is_default for link in links):  # the first visit: one query more
        commit(lambda: referrals.ensure_default_link(session, current_user, utcnow()))
        links = referrals.links_of(session, current_user)
    views = [link_view(link, settings) for link in links]
    personal = next(view for view in views if view.link.is_default)
    form = form or NewLinkForm(formdata=None)
    if not may_make_campaign_links(current_user):
        del form.campaign
    return {
        "share_panel": {
            "personal": personal,
            "links": views,
            "qr": qr_svg(personal.url, "QR code of your link"),
            "mailto": mailto(org, personal.url),
            "settings": settings,
            "notice": notice,
        },
        "link_form": form,
    }
