"""Showing a DomainError where it belongs: next to its field, or at the top of the form."""

from __future__ import annotations

from flask_wtf import FlaskForm

from portal.errors import DomainError


def attach_error(form: FlaskForm, error: DomainError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
