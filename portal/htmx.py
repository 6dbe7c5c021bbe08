"""The one "page or partial?" decision."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template
from htmx_flask import request


def wants_partial() -> bool:
    """An htmx request that swaps a fragment (not a boosted navigation or history restore)."""
    hx = request.htmx
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(page: str, partial: str, status: int = 200, **context: Any) -> Response:
    """Render `partial` for htmx fragment requests and `page` for everything else."""
    template = partial if wants_partial() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
