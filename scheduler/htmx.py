"""The only place that reads or writes HX-* headers."""

import json
from urllib.parse import urlsplit

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    """True when htmx asks for a fragment; boosted navigation still wants a whole page."""
    return request.headers.get("HX-Request") == "true" and "HX-Boosted" not in request.headers


def page_or_partial(
    page_template: str, partial_template: str, status: int = 200, **context
) -> Response:
    """Render the fragment for htmx and the full page otherwise; caches must tell them apart."""
    template = partial_template if is_htmx() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def with_trigger(response: Response, event: str, detail: dict | None = None) -> Response:
    """Ask htmx to fire ``event`` on the page once the response is swapped in."""
    response.headers["HX-Trigger"] = json.dumps({event: detail or {}})
    return response


def with_pushed_url(response: Response, url: str) -> Response:
    """Make htmx put ``url`` in the address bar instead of the raw form query."""
    if is_htmx():
        response.headers["HX-Push-Url"] = url
    return response


def retarget(response: Response, selector: str) -> Response:
    """Swap this response into ``selector`` instead of the element the request named."""
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def whole_page_to(url: str, status: int = 401) -> Response:
    """Send the whole page to ``url`` rather than swapping a response into a fragment."""
    response = make_response("", status)
    response.headers["HX-Redirect"] = url
    return response


def reload_whole_page(status: int = 409) -> Response:
    """Show the page again from the server, e.g. with a message flashed on top."""
    response = make_response("", status)
    response.headers["HX-Refresh"] = "true"
    return response


def current_page() -> str:
    """The path and query of the page htmx asked from (empty when not told)."""
    shown = urlsplit(request.headers.get("HX-Current-URL", ""))
    return shown.path + (f"?{shown.query}" if shown.query else "")
