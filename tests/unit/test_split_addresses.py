"""Splitting what was typed into the send form into addresses, and the plain refusals."""

from __future__ import annotations

import pytest

from portal.email_addresses import normalise_email, split_addresses
from portal.errors import InvalidEmail


@pytest.mark.parametrize(
    ("typed", "addresses"),
    [
        ("", []),
        ("  \n ,, ", []),
        ("a@x.org", ["a@x.org"]),
        ("a@x.org,b@x.org", ["a@x.org", "b@x.org"]),
        ("a@x.org b@x.org\tc@x.org", ["a@x.org", "b@x.org", "c@x.org"]),
        ("a@x.org\r\nb@x.org\n\nc@x.org", ["a@x.org", "b@x.org", "c@x.org"]),
        ("a@x.org; b@x.org ,\n c@x.org,", ["a@x.org", "b@x.org", "c@x.org"]),
        ("a@x.org A@X.org a@x.org", ["a@x.org"]),  # each once, the first spelling kept
        ("x@@y", ["x@@y"]),  # not checked here: the service refuses it in plain words
    ],
)
def test_split_addresses(typed, addresses):
    assert split_addresses(typed) == addresses


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("x@@y", "such as spaces, commas or a second @"),
        ("nope", "it needs an @"),
        ("a@b", "needs a dot"),
        ("a..b@x.org", "two dots in a row"),
        ("@x.org", "nothing before the @"),
        ("a@", "nothing after the @"),
        ("Bob <a@x.org>", "without a name or angle brackets"),
        ("a@x.invalid", "reserved name"),
        ("a,b@x.org", "such as spaces, commas"),
    ],
)
def test_refusals_are_in_plain_words(typed, reason):
    with pytest.raises(InvalidEmail) as refused:
        normalise_email(typed)
    message = refused.value.message
    assert message.startswith(f"{typed} is not a valid e-mail address: ")
    assert reason in message
    for raw in ("@-sign", "SPACE", "invalid characters", "',"):
        assert raw not in message
