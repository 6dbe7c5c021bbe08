"""Calling webhook endpoints: signed, with a pooled HTTP client, reading little of the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
from flask import Flask
from sqlmodel import Session

from portal.delivery.errors import DeliveryFailed, PermanentFailure
from portal.errors import Invalid
from portal.models import OutboxItem, WebhookEndpoint
from portal.sealing import SealBroken, unseal
from portal.webhooks.signing import HEADER, sign
from portal.webhooks.urls import (
    Resolver,
    check_form,
    default_port,
    is_internal,
    refuse_internal,
    resolve,
)

MAX_POOLS = 100
RESPONSE_CAP = 1024  # bytes of a receiver's answer we keep (as text, never rendered as HTML)


def url_rules(app: Flask) -> tuple[bool, bool]:
    """(require https, allow private networks) from configuration."""
    development = app.config["PORTAL_ENV"] == "development"
    return not development, bool(app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"])


class AddressRefused(httpx.ConnectError):
    """The host resolved to an address webhooks may not call: nothing was sent."""


class PinnedTransport(httpx.BaseTransport):
    """Resolves the host once, checks the addresses, and connects to the one it checked,
    with the original Host header and TLS server name, so a DNS answer that changes between
    the check and the connection (rebinding) can't lead the request inside.

    Each host name gets its own connection pool: a connection opened (and its certificate
    checked) for one name never carries a request for another that shares its address."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = resolve,
        internal: Callable[[str], bool] = is_internal,
    ) -> None:
        self.allow_private = allow_private
        self.resolver, self.internal = resolver, internal
        self._pools: dict[tuple[str, str], httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        try:
            addresses = self.resolver(host, url.port or default_port(url.scheme))
            if not self.allow_private:
                refuse_internal(host, addresses, self.internal)
        except Invalid as exc:
            raise AddressRefused(exc.message, request=request) from exc
        if not addresses:
            raise AddressRefused(f"The host {host} can't be found.", request=request)
        pinned = httpx.Request(
            request.method,
            url.copy_with(host=addresses[0]),
            headers=request.headers,  # Host: still the name, as httpx set it
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        return self._pool(url.scheme, host).handle_request(pinned)

    def _pool(self, scheme: str, host: str) -> httpx.HTTPTransport:
        if (pool := self._pools.get((scheme, host))) is None:
            if len(self._pools) >= MAX_POOLS:  # endpoints are few; never grow without bound
                self.close()
            pool = self._pools[(scheme, host)] = httpx.HTTPTransport()
        return pool

    def close(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()


class WebhookChannel:
    def __init__(self, app: Flask, resolver: Resolver = resolve) -> None:
        self.require_https, self.allow_private = url_rules(app)
        self.client = httpx.Client(
            transport=PinnedTransport(allow_private=self.allow_private, resolver=resolver),
            timeout=httpx.Timeout(app.config["WEBHOOK_TIMEOUT_SECONDS"]),
            follow_redirects=False,  # a redirect could lead anywhere, including inside
            headers={"User-Agent": "MemberPortal-Webhooks/1", "Content-Type": "application/json"},
        )

    def close(self) -> None:
        self.client.close()

    def _check(self, url: str) -> None:
        """How the address is written is checked again here (the rules may have changed
        since it was saved); where it points, by the transport at each connection."""
        check_form(url, require_https=self.require_https)

    def send(self, session: Session, item: OutboxItem) -> int:
        """POST the event; returns the receiver's status, or raises DeliveryFailed."""
        # Afresh, though the batch loaded it: an endpoint switched off mid-batch gets no more.
        endpoint = session.get(WebhookEndpoint, item.endpoint_id, populate_existing=True)
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
        except AddressRefused as exc:
            raise PermanentFailure(str(exc)) from exc
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
