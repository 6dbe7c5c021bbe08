"""Short-lived encryption for secrets that must wait in the outbox (the link in a queued e-mail).

The invitation itself stores only a digest; the outbox keeps the secret sealed with a key
derived from SECRET_KEY until the worker has sent the e-mail, then forgets it.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

_fernet: Fernet | None = None


class SealBroken(Exception):
    """The sealed value can't be opened (SECRET_KEY changed since it was queued)."""


def configure(secret_key: str) -> None:
    global _fernet
    key = hashlib.sha256(b"portal-outbox-seal:" + secret_key.encode()).digest()
    _fernet = Fernet(base64.urlsafe_b64encode(key))


def seal(value: str) -> str:
    assert _fernet is not None, "portal.sealing.configure() runs in create_app"
    return _fernet.encrypt(value.encode()).decode()


def unseal(token: str) -> str:
    assert _fernet is not None, "portal.sealing.configure() runs in create_app"
    try:
        return _fernet.decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SealBroken(
            "the queued secret can't be decrypted with the current SECRET_KEY"
        ) from exc
