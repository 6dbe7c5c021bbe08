"""Calling webhook endpoints: signed, with a pooled HTTP client, reading little of the answer."""

from __future__ import annotations

import json
import time

import httpx
from flask import Flask
from sqlmodel import Session

from portal.delivery.errors import DeliveryFailed, PermanentFailure
from portal.errors import Invalid
from portal.models import OutboxItem, WebhookEndpoint
from portal.sealing import SealBroken, unseal
from portal.webhooks.signing import HEADER, sign
from portal.webhooks.urls import check_url

RESPONSE_CAP = 1024  # bytes of a receiver's answer we keep (as text, never rendered as HTML)


def url_rules(app: Flask) -> tuple[bool, bool]:
    """(require https, allow private networks) from configuration."""
    development = app.config["PORTAL_ENV"] == "development"
    return not development, bool(app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"])


class WebhookChannel:
    def __init__(self, app: Flask) -> None:
        self.require_https, self.allow_private = url_rules(app)
        self._checked: dict[str, float] = {}  # url -> until when its check holds
        self.client = httpx.Client(
            timeout=httpx.Timeout(app.config["WEBHOOK_TIMEOUT_SECONDS"]),
            follow_redirects=False,  # a redirect could lead anywhere, including inside
            headers={"User-Agent": "MemberPortal-Webhooks/1", "Content-Type": "application/json"},
        )

    def close(self) -> None:
        self.client.close()

    def _check(self, url: str) -> None:
        """Checked again at delivery, as DNS may have changed since the endpoint was saved;
        remembered for a minute so a busy endpoint isn't resolved for every event."""
        now = time.monotonic()
        if self._checked.get(url, 0.0) > now:
            return
        check_url(url, require_https=self.require_https, allow_private=self.allow_private)
        self._checked[url] = now + 60

    def send(self, session: Session, item: OutboxItem) -> int:
        """POST the event; returns the receiver's status, or raises DeliveryFailed."""
        endpoint = session.get(WebhookEndpoint, item.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            raise PermanentFailure("the endpoint is disabled")
        try:
            self._check(endpoint.url)
            secret = unseal(endpoint.sealed_secret)
        except (Invalid, SealBroken) as exc:
            raise PermanentFailure(str(exc)) from exc
        body = json.dumps(item.payload["event"], separators=(",", ":")).encode()
        headers = {
            HEADER: sign(secret, int(time.time()), body),
            "X-Portal-Event-Id": item.payload["event"]["id"],
        }
        try:
            with self.client.stream("POST", endpoint.url, content=body, headers=headers) as reply:
                snippet = b""
                for chunk in reply.iter_bytes():
                    snippet += chunk
                    if len(snippet) >= RESPONSE_CAP:
                        break
        except httpx.TimeoutException as exc:
            raise DeliveryFailed("the receiver did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"could not reach the receiver: {exc}") from exc
        if 200 <= reply.status_code < 300:
            return reply.status_code
        text = snippet[:RESPONSE_CAP].decode(errors="replace").strip()
        raise DeliveryFailed(
            f"the receiver answered {reply.status_code}: {text[:300]}",
            response_status=reply.status_code,
        )
