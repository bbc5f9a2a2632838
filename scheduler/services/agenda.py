"""The agenda: the public queries of activities, and what a visitor is told about them."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from scheduler import dates
from scheduler.extensions import db
from scheduler.models import (
    Event,
    EventKind,
    EventStatus,
    Organisation,
    RegistrationWindow,
    Series,
    Theme,
)
from scheduler.services.places import Seats


@dataclass(frozen=True)
class AgendaFilters:
    """The agenda's filters; None means 'all'."""

    kind: EventKind | None = None
    theme: str | None = None
    province: str | None = None
    month: tuple[int, int] | None = None


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
    return _page(_upcoming(filters, now), page, page_size)


def list_upcoming_after(filters: AgendaFilters, now: datetime,
                        after: tuple[datetime, int] | None, page_size: int) -> Page:
    """The upcoming activities that come after (start, id) in the agenda's order. Unlike a page
    number, this does not shift when an activity on an earlier page ends in the meantime."""
    query = _upcoming(filters, now)
    if after is not None:
        starts_at, event_id = after
        query = query.where(or_(Event.starts_at > starts_at,
                                and_(Event.starts_at == starts_at, Event.id > event_id)))
    return _page(query, 1, page_size)


def _upcoming(filters: AgendaFilters, now: datetime) -> Select:
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
    return query.order_by(Event.starts_at, Event.id)


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


def list_public_series() -> list[tuple[Series, list[Event]]]:
    """Every series with a public session, by title, with those sessions in date order."""
    sessions = db.session.scalars(
        select(Event)
        .join(Event.series)
        .where(Event.status != EventStatus.draft)
        .options(contains_eager(Event.series))
        .order_by(Series.title, Series.id, Event.starts_at, Event.id)
    )
    grouped: dict[Series, list[Event]] = {}
    for session in sessions:
        grouped.setdefault(session.series, []).append(session)
    return list(grouped.items())


def list_newly_published(count: int, now: datetime) -> list[Event]:
    """The public activities still to end most recently published for the first time, newest
    first: a newsletter announces what one can still go to."""
    query = (
        _public_events()
        .where(Event.published_at.is_not(None), Event.ends_at > now)
        .order_by(Event.published_at.desc(), Event.id.desc())
        .limit(count)
    )
    return list(db.session.scalars(query).unique())


def last_publication_change() -> datetime | None:
    """The latest change to any activity that was ever published, also one taken back to draft
    since: the moment the feed of new activities last changed, which never goes back."""
    return db.session.scalar(
        select(func.max(Event.updated_at)).where(Event.published_at.is_not(None)))


def list_themes() -> list[Theme]:
    """All themes by name, for filters and feed choices."""
    return list(db.session.scalars(select(Theme).order_by(Theme.name)))


def describe_availability(event: Event, seats: Seats, now: datetime) -> Availability:
    """The agenda's one-line answer to 'can I still register?'."""
    if event.is_cancelled:
        return Availability("cancelled", "Geannuleerd")
    if event.has_ended(now):
        return Availability("past", "Afgelopen")
    window = event.registration_window_state(now)
    if window is RegistrationWindow.not_yet:
        opens = dates.format_short_datetime(event.registration_opens_at)
        return Availability(window, f"Inschrijving opent op {opens}")
    if window is RegistrationWindow.closed:
        return Availability(window, "Inschrijving gesloten")
    if seats.left is None:
        return Availability("open", "Plaatsen vrij")
    if seats.is_full:
        return Availability("full", "Volzet – wachtlijst")
    noun = "plaats" if seats.left == 1 else "plaatsen"
    return Availability("open", f"Nog {seats.left} {noun}")
