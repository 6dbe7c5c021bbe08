"""Which webhook URLs we agree to call: https outside development, never our own network
unless WEBHOOK_ALLOW_PRIVATE_NETWORKS says so (server-side request forgery)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from portal.errors import Invalid

# host, port -> the addresses it resolves to (socket.getaddrinfo, or a test's own).
Resolver = Callable[[str, int], list[str]]


def is_internal(address: str) -> bool:
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


def default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def refuse_internal(
    hostname: str, addresses: list[str], internal: Callable[[str], bool] = is_internal
) -> None:
    if not addresses or any(internal(a) for a in addresses):
        raise Invalid(
            f"{hostname} points to a private or local network address; "
            "webhooks can only call public addresses.",
            field="url",
        )


def check_form(url: str, *, require_https: bool) -> tuple[str, str, int]:
    """The URL cleaned, its host name and port; or Invalid saying what is wrong with how it
    is written. Where it points is checked apart (check_url, and at each delivery)."""
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
    return url, hostname, explicit_port or default_port(parts.scheme)


def check_url(url: str, *, require_https: bool, allow_private: bool) -> str:
    """The URL, cleaned, or Invalid saying why we won't call it."""
    url, hostname, port = check_form(url, require_https=require_https)
    if not allow_private:
        refuse_internal(hostname, resolve(hostname, port))
    return url
