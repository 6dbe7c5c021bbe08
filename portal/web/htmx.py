"""The one "page or partial?" decision."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, render_template
from htmx_flask import request


def wants_partial() -> bool:
    """An htmx request that swaps a fragment (not a boosted navigation or history restore)."""
    hx = request.htmx
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(
    page_template: str, partial_template: str, status: int = 200, **context: Any
) -> Response:
    """Render the partial for htmx fragment requests and the page for everything else."""
    template = partial_template if wants_partial() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response
