"""Blueprint "events": the agenda, the archive and the activity pages."""

from datetime import datetime, timedelta

from flask import Blueprint, abort, current_app, make_response, render_template, request, url_for

from scheduler import dates
from scheduler.forms.fields import KIND_SLUGS
from scheduler.forms.public import AgendaFilterForm, RegistrationForm
from scheduler.headers import EMBEDDABLE_POLICY
from scheduler.htmx import is_htmx, page_or_partial, with_pushed_url
from scheduler.links import activity_url, organiser
from scheduler.models import Event, utcnow
from scheduler.response_cache import share_until
from scheduler.services import agenda, open_data, places
from scheduler.services.organisations import municipality_names

bp = Blueprint("events", __name__)


FILTER_NAMES = ("soort", "thema", "provincie", "maand")


def read_agenda_filters(now: datetime) -> tuple[AgendaFilterForm, bool]:
    """The agenda's filters from the query string, and whether they were all valid; an unknown
    value is dropped, its message kept on the field."""
    form = AgendaFilterForm(
        formdata=request.args or None,
        themes=agenda.list_themes(),
        today=dates.local(now).date(),
    )
    valid = not request.args or form.validate()
    if not valid:
        for field in form:
            if field.errors:
                field.data = field.default
    return form, valid


def chosen_filters(form: AgendaFilterForm) -> agenda.AgendaFilters:
    month = None
    if form.maand.data:
        year, number = form.maand.data.split("-")
        month = (int(year), int(number))
    return agenda.AgendaFilters(
        kind=KIND_SLUGS.get(form.soort.data or ""),
        theme=form.thema.data or None,
        province=form.provincie.data or None,
        month=month,
    )


def filter_arguments(form: AgendaFilterForm) -> dict[str, str]:
    """The chosen filters as query arguments, for links to the same selection."""
    return {name: form[name].data for name in FILTER_NAMES if form[name].data}


def upcoming_until(upcoming: agenda.Page, now: datetime) -> datetime:
    """Until when a page of upcoming activities may be served from memory."""
    return min(filter(None, [dates.next_month_start(now), upcoming.changes_at(now)]))


@bp.get("/")
def index():
    """The agenda of upcoming activities, filtered through the query string."""
    now = utcnow()
    form, valid = read_agenda_filters(now)
    status = 200 if valid else 400
    filters = chosen_filters(form)
    page = form.pagina.data or 1
    page_size = current_app.config["AGENDA_PAGE_SIZE"]
    upcoming = agenda.list_upcoming_events(filters, now, page, page_size)
    filter_args = filter_arguments(form)
    response = page_or_partial(
        "events/index.html",
        "events/_agenda.html",
        status=status,
        form=form,
        events=upcoming.events,
        seats=places.summaries(upcoming.events),
        now=now,
        page=page,
        has_more=upcoming.has_more,
        filter_args=filter_args,
    )
    if status == 200 and page == 1:
        # Later pages also shift when an activity on an earlier page ends; they are not kept.
        share_until(request.environ, upcoming_until(upcoming, now))
    canonical = url_for("events.index", **filter_args, **({"pagina": page} if page > 1 else {}))
    return with_pushed_url(response, canonical)


@bp.get("/embed")
def embed():
    """The upcoming activities as a compact list that any website may show in a frame."""
    now = utcnow()
    # A choice that no longer exists (a theme removed since the snippet was copied) is left
    # out with a notice: the intranet page keeps showing the agenda, from memory.
    form, _valid = read_agenda_filters(now)
    upcoming = agenda.list_upcoming_events(
        chosen_filters(form), now, 1, current_app.config["AGENDA_PAGE_SIZE"])
    response = make_response(render_template(
        "events/embed.html",
        form=form,
        events=upcoming.events,
        seats=places.summaries(upcoming.events),
        now=now,
        has_more=upcoming.has_more,
        agenda_url=url_for("events.index", **filter_arguments(form)),
    ))
    response.headers["Content-Security-Policy"] = EMBEDDABLE_POLICY
    share_until(request.environ, upcoming_until(upcoming, now))
    return response


@bp.get("/archief")
def archive():
    """Activities that have taken place, most recent first."""
    now = utcnow()
    page = request.args.get("pagina", 1, type=int)
    if page < 1 or page > 10_000:
        abort(404)
    page_size = current_app.config["AGENDA_PAGE_SIZE"]
    archive = agenda.list_past_events(now, page, page_size)
    return page_or_partial(
        "events/archive.html",
        "events/_archive_list.html",
        events=archive.events,
        seats=places.summaries(archive.events),
        now=now,
        page=page,
        has_more=archive.has_more,
    )


@bp.get("/activiteiten/<slug:slug>")
def detail(slug: str):
    """Everything about one activity, with its places and the registration form."""
    event = agenda.get_public_event(slug)
    if event is None:
        abort(404)
    now = utcnow()
    response = render_detail(event, form=RegistrationForm(formdata=None), now=now)
    # The places left are live: any registration changes the data version, and with it the
    # next answer. An activity that is over changes by the clock no more; a day is enough.
    share_until(request.environ, event.next_change(now) or now + timedelta(days=1))
    return response


def render_detail(event: Event, form: RegistrationForm, status: int = 200,
                  now: datetime | None = None):
    """The activity page, also when a registration form comes back with messages."""
    now = now or utcnow()
    sessions = agenda.list_sessions(event.series) if event.series else []
    seats = places.summaries([event])[event.id]
    json_ld = None if is_htmx() else open_data.event_json_ld(
        event, seats, sessions, now, activity_url, organiser())
    return page_or_partial(
        "events/detail.html",
        "events/_seats.html",
        status=status,
        event=event,
        sessions=sessions,
        seats=seats,
        availability=agenda.describe_availability(event, seats, now),
        now=now,
        form=form,
        municipalities=municipality_names(),
        json_ld=json_ld,
    )
