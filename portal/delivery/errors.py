"""How a channel reports a failed delivery to the worker."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """Worth another try later (server down, 4xx, timeout)."""

    def __init__(self, message: str, response_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response_status = response_status


class PermanentFailure(DeliveryFailed):
    """Retrying won't help (a 5xx rejection, a disabled endpoint, a broken payload)."""


class Obsolete(PermanentFailure):
    """Nothing to deliver any more (the invitation was revoked, accepted or resent first)."""
