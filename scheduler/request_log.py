"""One JSON line per request, for whoever runs the site: what was asked, how it went, how long
it took, whether memory answered. Never an address, a token or what a form held.

The id of each request goes back in ``X-Request-ID`` and on the error page, so someone who
writes to the helpdesk can quote it and the line can be found.
"""

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from scheduler.response_cache import FROM_MEMORY

REQUEST_ID = "scheduler.request_id"
# Personal links: the token is what opens someone's registration, calendar or evaluation form,
# and an attestation's code is what shows a name.
PERSONAL_PATHS = re.compile(r"^/+(inschrijving|mijn|wachtwoord|evaluatie|attest)/+[^/]*")
# Someone typing their address into the address bar still leaves a 404 to log.
ADDRESS = re.compile(r"[^/]*@[^/]*")
# An id a proxy in front already gave the request, if it looks like one.
INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

logger = logging.getLogger("scheduler.requests")


def redacted(path: str) -> str:
    """The path with a personal token or an address replaced, e.g. /inschrijving/…/annuleren."""
    return ADDRESS.sub("…@…", PERSONAL_PATHS.sub(lambda match: f"/{match.group(1)}/…", path))


def log_line(**fields) -> None:
    logger.info(json.dumps({"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                            **fields}, ensure_ascii=False))


class RequestLog:
    """WSGI middleware, outermost: it sees the answers served from memory too."""

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if INCOMING_ID.fullmatch(incoming) else secrets.token_hex(8)
        environ[REQUEST_ID] = request_id
        began = time.perf_counter()
        status: list[str] = []

        def start(status_line: str, headers: list, exc_info=None):
            status.append(status_line)
            headers.append(("X-Request-ID", request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            log_line(
                request_id=request_id, method=environ.get("REQUEST_METHOD", ""),
                path=redacted(environ.get("PATH_INFO", "")),
                status=int(status[0].split(" ", 1)[0]) if status else 500,
                duration_ms=round((time.perf_counter() - began) * 1000, 1),
                from_memory=bool(environ.get(FROM_MEMORY)),
            )
