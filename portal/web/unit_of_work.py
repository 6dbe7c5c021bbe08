"""One unit of work per page request: run the operation, commit once, show a refusal.

A view reads load → check → call → commit → render. `commit` is the core (the API can use
it too): a context manager could not re-run the block when a concurrent request wins a
unique index, so the operation is a callable. `submit` and `or_flash` add the two ways a
page shows a DomainError: next to a form field (the caller renders with `outcome.status`,
422 and friends), or as a flash before a redirect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash
from flask_wtf import FlaskForm

from portal.db import commit_once_more_on_conflict, get_session
from portal.errors import DomainError
from portal.web.form_errors import attach_error

T = TypeVar("T")


def commit(operation: Callable[[], T]) -> T:
    """Run `operation` and commit the request's session (once more on a unique-index
    conflict). A DomainError rolls everything back, so nothing half-done is saved, and
    propagates to the caller."""
    session = get_session()
    try:
        return commit_once_more_on_conflict(session, operation)
    except DomainError:
        session.rollback()
        raise


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a form submission came to: the operation's result, or the refusal."""

    value: T | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def status(self) -> int:
        return 200 if self.error is None else self.error.status


def submit(form: FlaskForm, operation: Callable[[], T]) -> Outcome[T]:
    """`commit`, with a refusal attached to the form (its field, or the top of the form)."""
    try:
        return Outcome(value=commit(operation))
    except DomainError as error:
        attach_error(form, error)
        return Outcome(error=error)


def or_flash(operation: Callable[[], T]) -> Outcome[T]:
    """`commit`, with a refusal flashed for the page the caller redirects to."""
    try:
        return Outcome(value=commit(operation))
    except DomainError as error:
        flash(error.message, "error")
        return Outcome(error=error)
