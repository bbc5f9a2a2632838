"""Event queries for the public pages: the agenda, the archive, one activity and its places."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from scheduler import dates
from scheduler.extensions import db
from scheduler.models import (
    ACTIVE_STATUSES,
    Event,
    EventKind,
    EventStatus,
    Organisation,
    Registration,
    RegistrationStatus,
    Series,
    Theme,
)


@dataclass(frozen=True)
class AgendaFilters:
    """The agenda's filters; None means 'all'."""

    kind: EventKind | None = None
    theme: str | None = None
    province: str | None = None
    month: tuple[int, int] | None = None


@dataclass(frozen=True)
class Seats:
    """The places of an activity, or of the series it belongs to."""

    capacity: int | None
    confirmed: int = 0
    pending: int = 0
    waiting: int = 0

    @property
    def taken(self) -> int:
        """Confirmed and awaiting-approval registrations both hold a place."""
        return self.confirmed + self.pending

    @property
    def left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.taken, 0)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.taken >= self.capacity


@dataclass(frozen=True)
class Availability:
    """What the agenda tells about registering: a code for styling and a Dutch label."""

    code: str
    label: str


def _public_events() -> Select:
    return select(Event).where(Event.status != EventStatus.draft).options(
        joinedload(Event.municipality),
        joinedload(Event.series),
        selectinload(Event.themes),
    )


def list_upcoming_events(
    filters: AgendaFilters, now: datetime, page: int = 1, page_size: int = 20
) -> tuple[list[Event], bool]:
    """Published and cancelled activities that have not ended, soonest first.

    Returns one page and whether another page follows.
    """
    query = _public_events().where(Event.ends_at > now)
    if filters.kind:
        query = query.where(Event.kind == filters.kind)
    if filters.theme:
        query = query.where(Event.themes.any(Theme.slug == filters.theme))
    if filters.province:
        query = query.where(
            Event.municipality_id.in_(
                select(Organisation.id).where(Organisation.province == filters.province)
            )
        )
    if filters.month:
        start, end = dates.month_bounds(*filters.month)
        query = query.where(Event.starts_at >= start, Event.starts_at < end)
    query = query.order_by(Event.starts_at, Event.id)
    return _page(query, page, page_size)


def list_past_events(now: datetime, page: int = 1, page_size: int = 20) -> tuple[list[Event], bool]:
    """Activities that have ended, most recent first, one page at a time."""
    query = _public_events().where(Event.ends_at <= now).order_by(
        Event.starts_at.desc(), Event.id.desc()
    )
    return _page(query, page, page_size)


def _page(query: Select, page: int, page_size: int) -> tuple[list[Event], bool]:
    # One row more than the page tells whether a next page exists without a COUNT query.
    rows = list(
        db.session.scalars(query.offset((page - 1) * page_size).limit(page_size + 1)).unique()
    )
    return rows[:page_size], len(rows) > page_size


def get_public_event(slug: str) -> Event | None:
    """The activity with this slug unless it is a draft."""
    return db.session.scalars(_public_events().where(Event.slug == slug)).unique().one_or_none()


def list_sessions(series: Series) -> list[Event]:
    """The public sessions of a series in date order."""
    query = (
        select(Event)
        .where(Event.series_id == series.id, Event.status != EventStatus.draft)
        .order_by(Event.starts_at)
    )
    return list(db.session.scalars(query))


def list_themes() -> list[Theme]:
    """All themes by name, for filters and feed choices."""
    return list(db.session.scalars(select(Theme).order_by(Theme.name)))


def seat_summaries(events: list[Event]) -> dict[int, Seats]:
    """The places of each activity in one query; sessions of a series share the series' places."""
    event_ids = [event.id for event in events if event.series_id is None]
    series_ids = {event.series_id for event in events if event.series_id is not None}
    if not events:
        return {}
    counts: Counter = Counter()
    query = (
        select(Registration.event_id, Registration.series_id, Registration.status, func.count())
        .where(
            Registration.status.in_(ACTIVE_STATUSES),
            or_(Registration.event_id.in_(event_ids), Registration.series_id.in_(series_ids)),
        )
        .group_by(Registration.event_id, Registration.series_id, Registration.status)
    )
    for event_id, series_id, status, number in db.session.execute(query):
        key = ("series", series_id) if series_id is not None else ("event", event_id)
        counts[key, status] += number
    summaries = {}
    for event in events:
        if event.series is not None:
            key, capacity = ("series", event.series_id), event.series.capacity
        else:
            key, capacity = ("event", event.id), event.capacity
        summaries[event.id] = Seats(
            capacity=capacity,
            confirmed=counts[key, RegistrationStatus.confirmed],
            pending=counts[key, RegistrationStatus.pending],
            waiting=counts[key, RegistrationStatus.waiting],
        )
    return summaries


def describe_availability(event: Event, seats: Seats, now: datetime) -> Availability:
    """The agenda's one-line answer to 'can I still register?'."""
    if event.is_cancelled:
        return Availability("cancelled", "Geannuleerd")
    if event.has_ended(now):
        return Availability("past", "Afgelopen")
    window = event.registration_window_state(now)
    if window == "not_yet":
        opens = dates.format_short_datetime(event.registration_opens_at)
        return Availability("not-yet", f"Inschrijving opent op {opens}")
    if window == "closed":
        return Availability("closed", "Inschrijving gesloten")
    if seats.left is None:
        return Availability("open", "Plaatsen vrij")
    if seats.is_full:
        return Availability("full", "Volzet – wachtlijst")
    noun = "plaats" if seats.left == 1 else "plaatsen"
    return Availability("open", f"Nog {seats.left} {noun}")
