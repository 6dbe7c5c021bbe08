"""gunicorn reads this file from the directory it starts in (the repository root).

Access logs (enabled with --access-logfile) name the path without its query string, and
leave out the Referer: the join link's secret travels in a query string and must never be
logged. This is gunicorn's default format with "%(r)s" (the request line) replaced by its
parts, %(U)s being the path without the query.
"""

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
