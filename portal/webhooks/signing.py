"""The webhook signature (DESIGN §7): `X-Portal-Signature: t=<unix>,v1=<hex HMAC-SHA256>`.

The README shows receivers the same recipe; tests verify deliveries with `verify`.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Portal-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """True when `header` signs `body` with `secret`, made within `tolerance` seconds."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
