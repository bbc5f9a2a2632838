"""Forms posted from another website are refused, without a cookie or a token.

The public forms (registering, a training request, my registrations, the personal pages) are
posted by people who have no session, and the pages that carry them are served from memory to
everyone: a token tied to a session would give every reader a cookie and every page its own
rendering. Instead the browser says where a request comes from, as OWASP's cross-site request
forgery cheat sheet and Go's ``CrossOriginProtection`` do it:

1. ``Sec-Fetch-Site`` (every browser since 2023): only ``same-origin`` (our own page) and
   ``none`` (typed or bookmarked) may change anything.
2. Without it, ``Origin``, or else the origin of the ``Referer``, must be this site: the host
   the request was sent to, or ``PUBLIC_BASE_URL``.
3. Without any of the three it is not a browser (a script, a monitor): a request forged in
   someone's browser carries one of them. The gap Go accepts too: a browser from before 2020
   that sends no ``Origin`` with a form, posting from a page that withholds its ``Referer``.

Staff pages keep Flask-WTF's session-bound token as well.
"""

from urllib.parse import urlsplit

from flask import current_app, request
from werkzeug.exceptions import Forbidden

SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
ALLOWED_FETCH_SITES = frozenset(("same-origin", "none"))


class CrossOriginRequest(Forbidden):
    """A form of ours posted from a page on another website."""


def _origin_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def is_cross_origin() -> bool:
    """Whether this request was sent by a browser from a page of another website."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.lower() not in ALLOWED_FETCH_SITES
    claimed = request.headers.get("Origin") or request.headers.get("Referer")
    if not claimed:
        return False
    # "null" (a sandboxed frame, a page opened from a file) comes from no site of ours.
    origin = _origin_of(claimed) if claimed != "null" else ("", "")
    configured = _origin_of(current_app.config.get("PUBLIC_BASE_URL") or "")
    # The host alone, as Go does: behind a proxy without PROXY_COUNT the scheme seen here is
    # not the one the browser used.
    return origin != configured and origin[1] != request.host.lower()


def refuse_cross_origin() -> None:
    """A ``before_request`` hook: a state-changing request from another site is a 403."""
    # A request for no route, or a method the route does not take, changes nothing: its 404
    # or 405 says more than a refusal would.
    if (request.method not in SAFE_METHODS and request.routing_exception is None
            and is_cross_origin()):
        raise CrossOriginRequest()
