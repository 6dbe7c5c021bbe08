"""Access logs without query strings.

The join link's secret travels in a query string (`/join?invite_id=…`) and must never be
logged. The development server (werkzeug, behind `flask run` and `make run`) logs each
request line as it came; this filter cuts the query off every path in its records. In
production gunicorn writes the access log: gunicorn.conf.py sets a format without the
query string (and without the Referer, which can carry the same address).

A share link's code travels in the path (`/r/<code>`): it is masked the same way, in both
logs (gunicorn.conf.py keeps its own copy of the pattern, as it loads before the app).
"""

from __future__ import annotations

import logging
import re

# A path, then "?" and the rest of that word: the query string to drop.
_QUERY = re.compile(r"(/[^\s?\"']*)\?[^\s\"']*")


# A share link's code: the segment after a path that starts /r/.
_SHARE_CODE = re.compile(r"(?<![^\s\"'])(/r/)[^\s?\"'/]+")
MASK = "[code]"


def without_query(text: str) -> str:
    """`text` without query strings, and with share-link codes masked."""
    return _SHARE_CODE.sub(r"\1" + MASK, _QUERY.sub(r"\1", text))


class DropQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                without_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif isinstance(record.msg, str) and not record.args:
            record.msg = without_query(record.msg)
        return True


_FILTER = DropQueryStrings()


def install() -> None:
    """Idempotent: a logger keeps one copy of a filter however often create_app runs."""
    logging.getLogger("werkzeug").addFilter(_FILTER)
