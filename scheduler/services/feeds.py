"""Which activities each calendar feed holds, and a cheap version of it for ETag/Last-Modified.

A feed holds every public activity that ended after the start of its history window: the
first day of the Brussels month a set number of months ago. Cancelled activities stay in it,
marked CANCELLED, for as long as they are in that window. Because the window only moves at a
month boundary, the version of a feed (the latest change and the number of activities) changes
exactly when its content does.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, exc, func, select
from sqlalchemy.orm import joinedload

from scheduler import dates
from scheduler.extensions import begin_write_transaction, db, insert_or_update
from scheduler.models import (
    ACTIVE_STATUSES,
    CalendarText,
    Event,
    EventKind,
    EventStatus,
    Organisation,
    Person,
    Registration,
    RegistrationStatus,
    Theme,
    event_themes,
    new_token,
)
from scheduler.services import places
from scheduler.services.calendar import FORMAT_VERSION, Entry, Stamp, personal_entry
from scheduler.services.tokens import find_by_token


@dataclass(frozen=True)
class Selection:
    """The activities a public feed is about; empty tuples mean 'all'."""

    kinds: tuple[EventKind, ...] = ()
    theme_slugs: tuple[str, ...] = ()
    series_id: int | None = None


# The moment a feed without any activity says it was last updated.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Version:
    """What changes whenever any byte of a feed would change."""

    etag: str
    last_modified: datetime


def history_start(now: datetime, months: int) -> datetime:
    """The first instant of the Brussels month ``months`` before the current one."""
    local = dates.local(now)
    index = local.year * 12 + local.month - 1 - months
    return dates.month_bounds(index // 12, index % 12 + 1)[0]


def _filter(query: Select, selection: Selection, since: datetime) -> Select:
    query = query.where(Event.status != EventStatus.draft, Event.ends_at >= since)
    if selection.kinds:
        query = query.where(Event.kind.in_(selection.kinds))
    if selection.theme_slugs:
        query = query.where(Event.themes.any(Theme.slug.in_(selection.theme_slugs)))
    if selection.series_id is not None:
        query = query.where(Event.series_id == selection.series_id)
    return query


def _version(key: str, latest: datetime | None, count: int, since: datetime) -> Version:
    last_modified = max(latest, since) if latest else since
    digest = hashlib.sha256(
        f"{FORMAT_VERSION}|{key}|{last_modified.isoformat()}|{count}|{since.isoformat()}".encode()
    ).hexdigest()[:32]
    return Version(digest, last_modified.replace(microsecond=0))


def feed_version(selection: Selection, key: str, since: datetime) -> Version:
    """The version of a public feed, from one aggregate query."""
    query = _filter(select(func.max(Event.updated_at), func.count(Event.id)), selection, since)
    latest, count = db.session.execute(query).one()
    return _version(key, _aware(latest), count, since)


# Joins theme names in SQL; no theme name holds this control character.
THEME_SEPARATOR = "\x1f"


def feed_stamps(selection: Selection, since: datetime) -> list[Stamp]:
    """What the VEVENTs of a public feed are made of, soonest first, in one query.

    Plain columns rather than activities: loading a thousand activities costs more than
    serialising from stored text does.
    """
    theme_names = (
        select(func.aggregate_strings(Theme.name, THEME_SEPARATOR))
        .select_from(event_themes.join(Theme, Theme.id == event_themes.c.theme_id))
        .where(event_themes.c.event_id == Event.id)
        .scalar_subquery()
    )
    query = (
        _filter(select(Event.id, Event.uid, Event.sequence, Event.updated_at, Event.slug,
                       theme_names, Organisation.name, CalendarText.digest, CalendarText.body),
                selection, since)
        .outerjoin(Organisation, Organisation.id == Event.municipality_id)
        .outerjoin(CalendarText, CalendarText.event_id == Event.id)
        .order_by(Event.starts_at, Event.id)
    )
    return [
        Stamp(event_id, uid, sequence, updated_at, slug,
              tuple(themes.split(THEME_SEPARATOR)) if themes else (), municipality,
              (digest, body) if digest else None)
        for event_id, uid, sequence, updated_at, slug, themes, municipality, digest, body
        in db.session.execute(query)
    ]


def load_events(event_ids: list[int]) -> dict[int, Event]:
    """The activities whose VEVENT has to be serialised, with themes and place, in one query."""
    query = (
        select(Event)
        .where(Event.id.in_(event_ids))
        .options(joinedload(Event.themes), joinedload(Event.municipality))
    )
    return {event.id: event for event in db.session.scalars(query).unique()}


def store_serialised(serialised: list[tuple[int, str, str]]) -> None:
    """Keep freshly serialised VEVENTs (event id, digest, text) for every process.

    Ends the caller's read transaction. Only a cache: when the write cannot be done now
    (the database is busy or an activity was deleted meanwhile), nothing is lost.
    """
    if not serialised:
        return
    rows = [{"event_id": event_id, "digest": digest, "body": body}
            for event_id, digest, body in serialised]
    statement = insert_or_update(CalendarText)
    statement = statement.on_conflict_do_update(
        index_elements=["event_id"],
        set_={"digest": statement.excluded.digest, "body": statement.excluded.body},
    )
    try:
        begin_write_transaction()
        db.session.execute(statement, rows)
        db.session.commit()
    except exc.SQLAlchemyError:
        db.session.rollback()


def event_version(event: Event) -> Version:
    """The version of the download of one activity."""
    return _version(f"event:{event.id}", event.updated_at, event.sequence, event.created_at)


def find_person_by_feed_token(token: str) -> Person | None:
    """The person behind a personal feed address."""
    return find_by_token(select(Person), Person.feed_token, token)


def renew_feed_token(person: Person) -> Person:
    """Give the person a new feed address; the old one stops working at once."""
    person.feed_token = new_token()
    db.session.commit()
    return person


def _person_rows(person: Person):
    return (
        select(Event, Registration.status, Registration.cancelled_at)
        .join(Registration, places.covers_event())
        .where(Registration.email_normalised == person.email_normalised,
               Event.status != EventStatus.draft,
               # A colleague proposed for a closed group's place knows nothing of it yet.
               Registration.status != RegistrationStatus.handover_requested)
    )


def personal_version(person: Person) -> Version:
    """The version of a person's feed: their registrations and the activities behind them."""
    query = _person_rows(person).with_only_columns(
        func.max(Event.updated_at), func.max(Registration.updated_at), func.count(Event.id)
    )
    latest_event, latest_registration, count = db.session.execute(query).one()
    latest = max(filter(None, (_aware(latest_event), _aware(latest_registration))), default=None)
    return _version(f"person:{person.id}:{person.feed_token}", latest, count, person.created_at)


def personal_entries(person: Person) -> list[Entry]:
    """One entry per activity the person registered for, the active registration winning."""
    rows = db.session.execute(
        _person_rows(person)
        .options(joinedload(Event.themes), joinedload(Event.municipality))
        .order_by(Event.starts_at, Registration.id)
    ).unique()
    chosen: dict[int, tuple[Event, RegistrationStatus]] = {}
    for event, status, given_up_at in rows:
        if (status is RegistrationStatus.handed_over and given_up_at is not None
                and event.starts_at < _aware(given_up_at)):
            # The sessions of a series before the hand-over were the person's own.
            status = RegistrationStatus.confirmed
        previous = chosen.get(event.id)
        if previous is None or status in ACTIVE_STATUSES or previous[1] not in ACTIVE_STATUSES:
            chosen[event.id] = (event, status)
    return [personal_entry(event, status) for event, status in chosen.values()]


def _aware(moment: datetime | None) -> datetime | None:
    """Aggregates bypass the column type, so SQLite hands back naive UTC or a string."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
