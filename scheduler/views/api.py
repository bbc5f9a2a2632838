"""Blueprint "api": the read-only public JSON API, described by /api/v1/openapi.json.

Anyone may read it from any website: every answer allows any origin. It holds no personal data
and no meeting links, sets no cookie, and is kept in memory like the agenda. Errors are
``application/problem+json`` (RFC 9457).
"""

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.http import HTTP_STATUS_CODES

from scheduler.links import activity_url, public_base_url, public_url
from scheduler.models import utcnow
from scheduler.response_cache import answer_conditionally, share_until
from scheduler.services import agenda, open_data, places
from scheduler.views.events import (
    FILTER_NAMES,
    chosen_filters,
    filter_arguments,
    read_agenda_filters,
    upcoming_until,
)

PREFIX = "/api/v1"
bp = Blueprint("api", __name__, url_prefix=PREFIX)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# A row id beyond the database's integer is no cursor this API wrote.
LARGEST_ID = 2**31 - 1
# Places change with every registration: a client asks again after a minute, with its ETag.
FRESH_SECONDS = 60


def is_api_request() -> bool:
    return request.path.startswith(PREFIX + "/") or request.path == PREFIX


def allow_any_origin(response: Response) -> Response:
    """Any website may read the API from a browser, including the ETag to ask again with."""
    if is_api_request():
        headers = response.headers
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Expose-Headers"] = "ETag"
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = "GET, HEAD"
            headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
            headers["Access-Control-Max-Age"] = "86400"
    return response


def problem(status: int, detail: str, **members) -> Response:
    """An error as application/problem+json; ``members`` add fields such as per-parameter errors."""
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(status, "Error"),
            "status": status, "detail": detail, **members}
    response = current_app.json.response(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _answer(payload: dict, keep_until: datetime | None) -> Response:
    """A JSON answer that a client may keep for a minute and then revalidate with its ETag;
    kept in memory until ``keep_until`` (None: not kept)."""
    response = current_app.json.response(payload)
    response.cache_control.public = True
    response.cache_control.max_age = FRESH_SECONDS
    answer_conditionally(response)
    if keep_until is not None:
        share_until(request.environ, keep_until)
    return response


def _a_day_from_now() -> datetime:
    return utcnow() + timedelta(days=1)


@bp.get("/activities")
def activities():
    """The upcoming activities, with the agenda's filters, one page at a time."""
    now = utcnow()
    repeated = {name: ["Geef deze parameter één keer."]
                for name in (*FILTER_NAMES, "na") if len(request.args.getlist(name)) > 1}
    if repeated:
        return problem(400, "Een of meer parameters zijn ongeldig.", errors=repeated)
    form, valid = read_agenda_filters(now)
    after = _cursor(request.args.get("na"))
    errors = {field.name: field.errors for field in form
              if field.errors and field.name != "pagina"}
    if after is False:
        errors["na"] = ["Gebruik het adres in 'next' zoals het is."]
    if errors:
        return problem(400, "Een of meer parameters zijn ongeldig.", errors=errors)
    upcoming = agenda.list_upcoming_after(
        chosen_filters(form), now, after or None, current_app.config["API_PAGE_SIZE"])
    seats = places.summaries(upcoming.events)
    last = upcoming.events[-1] if upcoming.events else None
    payload = {
        "items": [open_data.activity_resource(event, seats[event.id], now, activity_url)
                  for event in upcoming.events],
        "next": public_url("api.activities", **filter_arguments(form),
                           na=f"{(last.starts_at - EPOCH) // MICROSECOND}-{last.id}")
        if upcoming.has_more else None,
    }
    return _answer(payload, upcoming_until(upcoming, now))


def _cursor(value: str | None) -> tuple[datetime, int] | None | bool:
    """The start and id after which a page begins, from ``na=<microseconds since 1970>-<id>``;
    False when the value is not one this API wrote."""
    if value is None:
        return None
    moment, _, event_id = value.partition("-")
    if not (moment.isascii() and moment.isdigit() and event_id.isascii()
            and event_id.isdigit() and len(moment) <= 17 and len(event_id) <= 10
            and int(event_id) <= LARGEST_ID):
        return False
    return EPOCH + int(moment) * MICROSECOND, int(event_id)


@bp.get("/activities/<slug:slug>")
def activity(slug: str):
    """One activity, also one that has ended or was cancelled."""
    event = agenda.get_public_event(slug)
    if event is None:
        abort(404)
    now = utcnow()
    seats = places.summaries([event])[event.id]
    payload = open_data.activity_resource(event, seats, now, activity_url)
    if event.series:
        payload["sessions"] = [open_data.session_resource(session, activity_url)
                               for session in agenda.list_sessions(event.series)]
    return _answer(payload, event.next_change(now) or now + timedelta(days=1))


@bp.get("/themes")
def themes():
    """Every theme, with the slug the filters take."""
    items = [open_data.theme_resource(theme) for theme in agenda.list_themes()]
    return _answer({"items": items}, _a_day_from_now())


@bp.get("/series")
def series():
    """Every series with at least one public session, and those sessions in date order."""
    found = agenda.list_public_series()
    return _answer({"items": [open_data.series_resource(each, sessions, activity_url)
                              for each, sessions in found]}, _a_day_from_now())


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API, with this server's address in it."""
    document = dict(_openapi_document())
    document["servers"] = [{"url": public_base_url().rstrip("/") + PREFIX}]
    return _answer(document, _a_day_from_now())


@cache
def _openapi_document() -> dict:
    return json.loads(files("scheduler").joinpath("data/openapi.json").read_text("utf-8"))
