from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField


class UploadForm(FlaskForm):
    """The CSRF token only: the file is read from request.files by the view, because its
    text is checked row by row (portal.bulk.csvfile, then invites.service.check_fields)."""


class SendForm(FlaskForm):
    raise_limit = BooleanField("Raise my daily limit for this file")


class DiscardForm(FlaskForm):
    """The CSRF token only."""
