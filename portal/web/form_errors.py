"""Showing a DomainError where it belongs: next to its field, or at the top of the form."""

from __future__ import annotations

from flask_wtf import FlaskForm

from portal.errors import DomainError


def attach_error(form: FlaskForm, error: DomainError) -> None:
    """Each problem next to its field; a service that reports several at once passes them
    as details["problems"] ({field: [messages]})."""
    problems = error.details.get("problems")
    if not isinstance(problems, dict):
        problems = {error.field or "": [error.message]}
    for name, messages in problems.items():
        field = getattr(form, name, None) if name else None
        if field is not None:
            field.errors = [*field.errors, *messages]
        else:
            form.form_errors.extend(messages)
