"""Password hashing with Argon2id (slow on purpose). The cost is configuration
(PASSWORD_HASH_TIME_COST, _MEMORY_COST, _PARALLELISM), set once per process by create_app;
a hash made with other parameters is replaced at the member's next login."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults: RFC 9106's second recommended profile (3 passes over 64 MiB, 4 lanes).
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_COST = 65536  # KiB
DEFAULT_PARALLELISM = 4

MIN_LENGTH = 8

_hasher = PasswordHasher()
# Verifying against this when an account doesn't exist keeps login timing uniform.
_dummy_hash = _hasher.hash("not a real password")


def configure(time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Use these parameters from now on (a process has one setting, like its database)."""
    global _hasher, _dummy_hash
    wanted = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    if wanted._parameters != _hasher._parameters:  # noqa: SLF001 (argon2 exposes no getter)
        _hasher = wanted
        _dummy_hash = _hasher.hash("not a real password")  # the same cost as a real one


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the configured ones."""
    return _hasher.check_needs_rehash(password_hash)
