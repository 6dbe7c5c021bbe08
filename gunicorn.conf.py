"""gunicorn reads this file from the directory it starts in (the repository root).

Access logs (enabled with --access-logfile) name the path without its query string, and
leave out the Referer: the join link's secret travels in a query string and must never be
logged. This is gunicorn's default format with "%(r)s" (the request line) replaced by its
parts, %(U)s being the path without the query. A share link's code travels in the path
(`/r/<code>`): the logger below masks it (the same pattern as portal/access_log.py, which
this file can't import: it is read before the app is).
"""

import re

from gunicorn.glogging import Logger

_SHARE_CODE = re.compile(r"^(/r/)[^/]+")


class MaskingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = _SHARE_CODE.sub(r"\1[code]", atoms.get("U") or "")
        return atoms


logger_class = MaskingLogger
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
