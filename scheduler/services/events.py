"""Activities: the queries of the public pages, and the changes staff make."""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from scheduler import dates
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    ACTIVE_STATUSES,
    Audience,
    Event,
    EventKind,
    EventStatus,
    Organisation,
    Registration,
    RegistrationStatus,
    Series,
    StaffUser,
    Theme,
)
from scheduler.services import audit, mail, registrations
from scheduler.services import requests as training_requests


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


@dataclass(frozen=True)
class Page:
    """One page of activities, and the first activity of the page after it, if any."""

    events: list[Event]
    following: Event | None

    @property
    def has_more(self) -> bool:
        return self.following is not None

    def changes_at(self, now: datetime) -> datetime | None:
        """When the clock alone changes this page: an activity opens, closes, starts or ends.

        The following activity counts too: when it ends, the page may lose its 'more' link.
        """
        rows = [*self.events, *([self.following] if self.following else [])]
        return min(filter(None, (event.next_change(now) for event in rows)), default=None)


def _public_events() -> Select:
    return select(Event).where(Event.status != EventStatus.draft).options(
        joinedload(Event.municipality),
        joinedload(Event.series),
        selectinload(Event.themes),
    )


def list_upcoming_events(
    filters: AgendaFilters, now: datetime, page: int = 1, page_size: int = 20
) -> Page:
    """One page of the published and cancelled activities that have not ended, soonest first."""
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


def list_past_events(now: datetime, page: int = 1, page_size: int = 20) -> Page:
    """Activities that have ended, most recent first, one page at a time."""
    query = _public_events().where(Event.ends_at <= now).order_by(
        Event.starts_at.desc(), Event.id.desc()
    )
    return _page(query, page, page_size)


def _page(query: Select, page: int, page_size: int) -> Page:
    # One row more than the page tells whether a next page exists without a COUNT query.
    rows = list(
        db.session.scalars(query.offset((page - 1) * page_size).limit(page_size + 1)).unique()
    )
    return Page(rows[:page_size], rows[page_size] if len(rows) > page_size else None)


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
    # Only the branches that have ids: an empty IN inside an OR makes SQLite scan every row.
    branches = []
    if event_ids:
        branches.append(Registration.event_id.in_(event_ids))
    if series_ids:
        branches.append(Registration.series_id.in_(series_ids))
    query = (
        select(Registration.event_id, Registration.series_id, Registration.status, func.count())
        .where(Registration.status.in_(ACTIVE_STATUSES), or_(*branches))
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


class SlugTakenError(SchedulerError):
    message = "Dit webadres is al in gebruik voor een andere activiteit."


class NotDeletableError(SchedulerError):
    message = "Alleen een ontwerp zonder inschrijvingen kan verwijderd worden."


@dataclass(frozen=True)
class EventFields:
    """Everything staff fill in about an activity."""

    kind: EventKind
    title: str
    slug: str
    starts_at: datetime
    ends_at: datetime
    summary: str = ""
    description: str = ""
    venue: str = ""
    address: str = ""
    municipality: str = ""
    online_url: str = ""
    capacity: int | None = None
    max_per_organisation: int | None = None
    is_moderated: bool = False
    audience: Audience = Audience.both
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    theme_ids: tuple[int, ...] = ()
    series_id: int | None = None


def list_for_staff(section: str, now: datetime, limit: int = 200) -> list[Event]:
    """'upcoming', 'past' or 'drafts', with places and series loaded."""
    query = select(Event).options(joinedload(Event.series), joinedload(Event.municipality))
    if section == "drafts":
        query = query.where(Event.status == EventStatus.draft).order_by(Event.starts_at)
    elif section == "past":
        query = query.where(Event.status != EventStatus.draft, Event.ends_at <= now).order_by(
            Event.starts_at.desc()
        )
    else:
        query = query.where(Event.status != EventStatus.draft, Event.ends_at > now).order_by(
            Event.starts_at
        )
    return list(db.session.scalars(query.limit(limit)))


def save_event(event: Event | None, fields: EventFields, staff: StaffUser) -> Event:
    """Create or edit an activity. A published activity whose time or place changes is
    announced to everyone registered (and its SEQUENCE rises, see models). Raises
    SlugTakenError when another activity has the slug."""
    clash = db.session.scalar(
        select(Event.id).where(Event.slug == fields.slug, Event.id != (event.id if event else -1))
    )
    if clash is not None:
        raise SlugTakenError()
    municipality = registrations.find_municipality(fields.municipality)
    themes = list(db.session.scalars(select(Theme).where(Theme.id.in_(fields.theme_ids))))
    is_new = event is None
    if is_new:
        event = Event(status=EventStatus.draft)
        db.session.add(event)
    before = _schedule_of(event)
    for name in ("kind", "title", "slug", "starts_at", "ends_at", "summary", "description",
                 "venue", "address", "capacity", "max_per_organisation", "is_moderated",
                 "audience", "registration_opens_at", "registration_closes_at", "series_id"):
        setattr(event, name, getattr(fields, name))
    event.online_url = fields.online_url or None
    event.municipality = municipality
    event.themes = themes
    db.session.flush()
    changed = not is_new and before != _schedule_of(event)
    if changed and event.is_published:
        for registration in _active_registrations(event):
            mail.queue("event_changed", registration, event=event,
                       with_calendar=registration.status is RegistrationStatus.confirmed)
    audit.record(staff, "event.create" if is_new else "event.edit", "event", event.id,
                 event.title + (" (tijd of plaats gewijzigd)" if changed else ""))
    db.session.commit()
    return event


def _schedule_of(event: Event) -> tuple:
    return (event.starts_at, event.ends_at, event.venue, event.address,
            event.municipality.id if event.municipality else None, event.online_url)


def _active_registrations(event: Event) -> list[Registration]:
    return [person for person in registrations.list_for_event(event) if person.is_active]


def set_published(event: Event, published: bool, staff: StaffUser) -> None:
    """Publish a draft, or take an activity back to draft (then it leaves the public pages)."""
    event.status = EventStatus.published if published else EventStatus.draft
    if published:
        training_requests.notify_published(event)
    audit.record(staff, "event.publish" if published else "event.unpublish", "event", event.id,
                 event.title)
    db.session.commit()


def cancel_event(event: Event, reason: str, staff: StaffUser, now: datetime | None = None) -> int:
    """Cancel an activity: it stays visible (and in the feeds) as cancelled, and everyone
    registered is mailed with a calendar cancellation. Returns the number of people mailed."""
    event.status = EventStatus.cancelled
    event.cancellation_reason = reason.strip()
    event.cancelled_at = now or datetime.now(UTC)
    people = _active_registrations(event)
    for registration in people:
        mail.queue("event_cancelled", registration, event=event, extra=event.cancellation_reason,
                   with_calendar=registration.status is RegistrationStatus.confirmed)
    audit.record(staff, "event.cancel", "event", event.id, f"{event.title}: {reason}")
    db.session.commit()
    return len(people)


def duplicate_event(event: Event, staff: StaffUser) -> Event:
    """A draft copy for a new date; nothing about registrations is copied."""
    number = 2
    while db.session.scalar(select(Event.id).where(Event.slug == f"{event.slug}-{number}")):
        number += 1
    copy = Event(
        kind=event.kind, status=EventStatus.draft, title=event.title, slug=f"{event.slug}-{number}",
        summary=event.summary, description=event.description, starts_at=event.starts_at,
        ends_at=event.ends_at, venue=event.venue, address=event.address,
        municipality=event.municipality, online_url=event.online_url, capacity=event.capacity,
        max_per_organisation=event.max_per_organisation, is_moderated=event.is_moderated,
        audience=event.audience, series_id=event.series_id, themes=list(event.themes),
    )
    db.session.add(copy)
    db.session.flush()
    audit.record(staff, "event.duplicate", "event", copy.id, f"kopie van {event.slug}")
    db.session.commit()
    return copy


def delete_draft(event: Event, staff: StaffUser) -> None:
    """Delete an activity that was never published and has no registrations."""
    has_registrations = db.session.scalar(
        select(func.count(Registration.id)).where(Registration.event_id == event.id)
    )
    if event.status is not EventStatus.draft or has_registrations:
        raise NotDeletableError()
    audit.record(staff, "event.delete", "event", event.id, event.title)
    db.session.delete(event)
    db.session.commit()


@dataclass(frozen=True)
class SeriesFields:
    """A series and what its sessions share; each date becomes one session."""

    title: str
    slug: str
    kind: EventKind
    dates: tuple[date, ...]
    start_time: time
    end_time: time
    summary: str = ""
    venue: str = ""
    address: str = ""
    municipality: str = ""
    capacity: int | None = None
    max_per_organisation: int | None = None
    is_moderated: bool = False
    audience: Audience = Audience.both


def create_series(fields: SeriesFields, staff: StaffUser) -> Series:
    """Create a series with one draft session per date, numbered in date order.

    Raises SlugTakenError when the series' slug, or a session's, is taken.
    """
    count = len(fields.dates)
    slugs = [f"{fields.slug}-{number}" for number in range(1, count + 1)]
    taken = db.session.scalar(select(Series.id).where(Series.slug == fields.slug)) or \
        db.session.scalar(select(Event.id).where(Event.slug.in_(slugs)))
    if taken:
        raise SlugTakenError()
    municipality = registrations.find_municipality(fields.municipality)
    series = Series(
        title=fields.title, slug=fields.slug, kind=fields.kind, summary=fields.summary,
        capacity=fields.capacity, max_per_organisation=fields.max_per_organisation,
        is_moderated=fields.is_moderated,
    )
    db.session.add(series)
    for number, (day, slug) in enumerate(zip(sorted(fields.dates), slugs, strict=True), 1):
        db.session.add(Event(
            series=series, kind=fields.kind, status=EventStatus.draft, slug=slug,
            title=f"{fields.title} ({number}/{count})", summary=fields.summary,
            starts_at=dates.brussels_to_utc(day, fields.start_time),
            ends_at=dates.brussels_to_utc(day, fields.end_time), venue=fields.venue,
            address=fields.address, municipality=municipality, audience=fields.audience,
            is_moderated=fields.is_moderated,
        ))
    db.session.flush()
    audit.record(staff, "series.create", "series", series.id, f"{fields.title}: {count} sessies")
    db.session.commit()
    return series


def publish_series(series: Series, staff: StaffUser) -> int:
    """Publish every draft session of a series; returns how many were published."""
    drafts = [event for event in series.events if event.status is EventStatus.draft]
    for event in drafts:
        event.status = EventStatus.published
    audit.record(staff, "series.publish", "series", series.id, f"{len(drafts)} sessies")
    db.session.commit()
    return len(drafts)
