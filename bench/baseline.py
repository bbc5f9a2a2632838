"""The ceiling: a WSGI app that answers ?size=N with N bytes from memory, nothing else."""

from urllib.parse import parse_qs

_BODIES: dict[int, bytes] = {}


def app(environ, start_response):
    size = int(parse_qs(environ.get("QUERY_STRING", "")).get("size", ["1000"])[0])
    body = _BODIES.get(size)
    if body is None:
        body = _BODIES.setdefault(size, b"x" * size)
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
