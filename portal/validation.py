"""Which characters a text we accept from people and programs may hold: one rule for the
forms, the API and the services.

Single-line text (names, addresses, subjects, URLs) reaches e-mail headers, logs and HTML
attributes, where a line break starts something new (a `Bcc:` header, a forged log line).
So it may hold no control character at all: C0 (U+0000–U+001F), DEL, C1 (U+0080–U+009F,
NEL among them) and the Unicode line and paragraph separators (U+2028, U+2029). Multi-line
text (a personal message, a template body) may break lines and indent: it keeps \n, \t and
the \r\n pairs browsers send from a textarea, and refuses every other control character.

Lone surrogates (U+D800–U+DFFF on their own) are not text at all: they can't be encoded as
UTF-8, so a database, a hash or an e-mail would fail on them. JSON can spell them ("\ud800");
forms and URLs can't, since Werkzeug decodes those as UTF-8.

This module imports no web framework: services call `check_text`, the API `text_problem`,
and forms use the WTForms validator `PlainText`, all with the same words.
"""

from __future__ import annotations

import re
from typing import Any

from wtforms.validators import StopValidation

from portal.errors import Invalid

_SURROGATE = re.compile("[\ud800-\udfff]")
# Everything Unicode calls a control character (Cc), plus the two separators (Zl, Zp).
_SINGLE_LINE_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The same, less \t and \n; \r only where it starts a \r\n pair.
_MULTI_LINE_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]|\r(?!\n)")


def text_problem(value: str, *, what: str, multiline: bool = False) -> str | None:
    """Why `value` can't be accepted, in a sentence naming the field (`what`, such as
    "A name"), or None when it can."""
    if match := _SURROGATE.search(value):
        return (
            f"{what} contains a broken character (U+{ord(match.group()):04X}, half of a "
            "character pair) that isn't valid text. Remove it and try again."
        )
    pattern = _MULTI_LINE_REFUSED if multiline else _SINGLE_LINE_REFUSED
    if match := pattern.search(value):
        kind = "control characters" if multiline else "line breaks or control characters"
        return f"{what} can't contain {kind} (it has U+{ord(match.group()[0]):04X})."
    return None


def check_text(value: str | None, *, field: str, what: str, multiline: bool = False) -> None:
    """Raise Invalid (on `field`) when `value` holds a character `text_problem` refuses."""
    if value and (problem := text_problem(value, what=what, multiline=multiline)):
        raise Invalid(problem, field=field)


class PlainText:
    """A WTForms validator: the field's text may hold no control characters (see above).

    Put it first in the field's validators, so that a refused character is the one error
    shown rather than a later validator's guess ("Invalid URL").
    """

    def __init__(self, what: str, *, multiline: bool = False) -> None:
        self.what = what
        self.multiline = multiline

    def __call__(self, _form: Any, field: Any) -> None:
        # raw_data: what was posted, before a field turned it into a date or a choice; a
        # multiple choice posts several values.
        for value in field.raw_data or ():
            if isinstance(value, str) and (
                problem := text_problem(value, what=self.what, multiline=self.multiline)
            ):
                field.errors[:] = []  # the one error that matters
                raise StopValidation(problem)
