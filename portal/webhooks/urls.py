"""Which webhook URLs we agree to call: https outside development, never our own network
unless WEBHOOK_ALLOW_PRIVATE_NETWORKS says so (server-side request forgery)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from portal.errors import Invalid


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port)})
    except (socket.gaierror, UnicodeError) as exc:
        raise Invalid(f"The host {host} can't be found.", field="url") from exc


def check_url(url: str, *, require_https: bool, allow_private: bool) -> str:
    """The URL, cleaned, or Invalid saying why we won't call it."""
    url = (url or "").strip()
    if len(url) > 2000:
        raise Invalid("That address is too long (at most 2,000 characters).", field="url")
    try:
        parts = urlsplit(url)
        hostname, explicit_port = parts.hostname, parts.port
    except ValueError as exc:  # a bad port, an unclosed [IPv6 bracket
        raise Invalid(
            "Enter a full address such as https://example.org/hooks.", field="url"
        ) from exc
    if parts.scheme not in ("https", "http") or not hostname:
        raise Invalid("Enter a full address such as https://example.org/hooks.", field="url")
    if require_https and parts.scheme != "https":
        raise Invalid("Webhook addresses must use https://.", field="url")
    if parts.username or parts.password:
        raise Invalid("Put credentials in the signature, not in the address.", field="url")
    if not allow_private:
        port = explicit_port or (443 if parts.scheme == "https" else 80)
        if any(_is_internal(a) for a in resolve(hostname, port)):
            raise Invalid(
                f"{hostname} points to a private or local network address; "
                "webhooks can only call public addresses.",
                field="url",
            )
    return url
