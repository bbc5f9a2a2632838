"""Public responses kept in memory and served before Flask runs, while the data is unchanged.

A view opts in with ``share_until(moment)``: its response may be served again to anyone until
``moment`` (the next time the clock alone would change it, e.g. a registration deadline), as
long as no transaction has committed anything to the database since it was rendered. The data
version is read from the database on every request without touching a table (SQLite's
``PRAGMA data_version``, PostgreSQL's current snapshot), so a new registration shows in the
places left of the very next request, in every process.

Only GET and HEAD requests without a session or remember cookie are served from memory: those
are the anonymous visitors and calendar programs for whom every response is the same. A response
that sets a cookie, or has any status but 200, is never kept.
"""

import contextlib
import os
import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime

from cachetools import LRUCache
from flask import Response, request
from sqlalchemy import Engine, event
from werkzeug.datastructures import Headers
from werkzeug.http import (
    is_resource_modified,
    parse_accept_header,
    parse_cookie,
    parse_date,
    remove_entity_headers,
    unquote_etag,
)

SHARE_UNTIL = "scheduler.share_until"
# Set on a request answered from memory, for the request log.
FROM_MEMORY = "scheduler.from_memory"
CONDITIONAL_HEADERS = (
    "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE", "HTTP_RANGE",
)
# Bodies larger than this are not kept; a feed of the whole programme is about 1.5 MB.
LARGEST_BODY = 8 * 1024 * 1024


def answer_conditionally(response: Response) -> Response:
    """Give the response an ETag of its body, and make it a 304 when the client has that one."""
    response.add_etag()
    response.make_conditional(request.environ)
    # make_conditional stamps a Date; the server adds its own, and a kept copy would be stale.
    response.headers.pop("Date", None)
    return response


def share_until(environ: dict, moment: datetime) -> None:
    """Let this response be served to every anonymous visitor until ``moment``."""
    environ[SHARE_UNTIL] = moment


class DataVersion:
    """A value that changes whenever any transaction commits, read on one dedicated connection.

    The probe is driver-level SQL because neither statement has a SQLAlchemy construct, and it
    has to cost microseconds: it runs on every request the cache answers.
    """

    PROBES = {
        "sqlite": "PRAGMA data_version",
        # Any commit ends a transaction id that the snapshot listed as running, or moves xmax.
        "postgresql": "SELECT pg_current_snapshot()::text",
    }

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.probe = self.PROBES.get(engine.dialect.name)
        self.lock = threading.Lock()
        self.connection = None
        self.pid: int | None = None
        self.opened = 0
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def current(self) -> Hashable | None:
        """The version now, or None when it cannot be read (then nothing is served from memory)."""
        if self.probe is None:
            return None
        with self.lock:
            try:
                value = self._read()
            except Exception:  # noqa: BLE001 - a broken probe only means no cache hits
                self._close()
                return None
            # Values from different connections are not comparable.
            return (self.opened, value)

    def close(self) -> None:
        """Let go of the probe's connection; the next probe opens a new one."""
        with self.lock:
            self._close()

    def _read(self):
        if self.connection is None or self.pid != os.getpid():
            # A connection is never shared with a forked worker.
            self.connection = None
            pooled = self.engine.raw_connection()
            pooled.detach()
            self.connection, self.pid = pooled.dbapi_connection, os.getpid()
            self.opened += 1
            if self.engine.dialect.name == "postgresql":
                self.connection.rollback()
                self.connection.autocommit = True
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.probe)
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def _close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # it is being thrown away
                self.connection.close()
        self.connection = None


@dataclass(frozen=True)
class StoredResponse:
    """A kept 200 response, valid while the data version is ``version`` and before ``expires``."""

    version: Hashable
    expires: float
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    etag: str | None
    last_modified: datetime | None

    def answer(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not is_resource_modified(environ, etag=self.etag, last_modified=self.last_modified):
            headers = Headers(self.headers)
            remove_entity_headers(headers)
            start_response("304 NOT MODIFIED", headers.to_wsgi_list())
            return []
        start_response(self.status, list(self.headers))
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [self.body]


class ResponseCache:
    """WSGI middleware around the Flask app; see the module docstring."""

    def __init__(
        self,
        wsgi_app: Callable,
        data_version: DataVersion,
        clock: Callable[[], datetime],
        size: int = 256,
        personal_cookies: tuple[str, ...] = ("session", "remember_token"),
        bypass: tuple[str, ...] = (),
    ) -> None:
        self.wsgi_app = wsgi_app
        # Paths that must answer whatever the database does (a monitor's probes).
        self.bypass = frozenset(bypass)
        self.data_version = data_version
        self.clock = clock
        self.size = size
        self.personal_cookies = personal_cookies
        self.entries: LRUCache[Hashable, StoredResponse] = LRUCache(maxsize=max(size, 1))
        # Requests whose view shared its response before, so a miss may render it in full.
        self.shareable: LRUCache[Hashable, bool] = LRUCache(maxsize=max(size, 1))
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if (self.size <= 0 or method not in ("GET", "HEAD") or self._is_personal(environ)
                or environ.get("PATH_INFO") in self.bypass):
            return self.wsgi_app(environ, start_response)
        version = self.data_version.current()
        if version is None:
            return self.wsgi_app(environ, start_response)
        key = self._key(environ)
        now = self.clock().timestamp()
        with self.lock:
            entry = self.entries.get(key)
        if entry is not None and entry.version == version and now < entry.expires:
            environ[FROM_MEMORY] = True
            return entry.answer(environ, start_response)
        if method == "HEAD":
            return self.wsgi_app(environ, start_response)
        return self._render_and_keep(key, version, environ, start_response)

    def _render_and_keep(self, key, version, environ, start_response) -> Iterable[bytes]:
        conditional = {}
        with self.lock:
            shared_before = key in self.shareable
        if shared_before:
            # The client's conditional headers are answered from the kept response, so Flask
            # is asked for the whole one. Elsewhere (static files, …) Flask answers them itself.
            conditional = {name: environ.pop(name) for name in CONDITIONAL_HEADERS
                           if name in environ}
        captured: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            if SHARE_UNTIL in environ and status.startswith("200"):
                return lambda data: None
            captured["passed_on"] = True
            return start_response(status, headers, exc_info)

        body_parts = self.wsgi_app(environ, capture)
        if SHARE_UNTIL in environ:
            with self.lock:
                self.shareable[key] = True
        if captured.get("passed_on"):
            environ.update(conditional)
            return body_parts
        try:
            body = b"".join(body_parts)
        finally:
            if hasattr(body_parts, "close"):
                body_parts.close()
        environ.update(conditional)
        status, headers = captured["status"], captured["headers"]
        entry = self._storable(version, environ, status, headers, body)
        if entry is None:
            start_response(status, headers)
            return [body]
        with self.lock:
            self.entries[key] = entry
        return entry.answer(environ, start_response)

    def _storable(self, version, environ, status, headers, body) -> StoredResponse | None:
        if len(body) > LARGEST_BODY:
            return None
        header_map = Headers(headers)
        if "Set-Cookie" in header_map:
            return None
        etag = unquote_etag(header_map.get("ETag"))[0]
        last_modified = header_map.get("Last-Modified")
        return StoredResponse(
            version=version,
            expires=environ[SHARE_UNTIL].timestamp(),
            status=status,
            headers=list(headers),
            body=body,
            etag=etag,
            last_modified=parse_date(last_modified) if last_modified else None,
        )

    def _is_personal(self, environ: dict) -> bool:
        if "HTTP_COOKIE" not in environ:
            return False
        cookies = parse_cookie(environ)
        return any(name in cookies for name in self.personal_cookies)

    @staticmethod
    def _key(environ: dict) -> Hashable:
        # Every request header a kept view reads; anything else a view reads must not vary.
        wants_fragment = (
            environ.get("HTTP_HX_REQUEST") == "true" and "HTTP_HX_BOOSTED" not in environ
        )
        encodings = environ.get("HTTP_ACCEPT_ENCODING", "")
        accepts_gzip = "gzip" in encodings and parse_accept_header(encodings)["gzip"] > 0
        return (
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            wants_fragment,
            accepts_gzip,
        )
