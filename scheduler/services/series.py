"""Series: a set of sessions enrolled in as one. Staff create one, change what all its sessions
share (places, moderation, maximum, title, summary), add sessions and publish them."""

import re
from dataclasses import dataclass, replace
from datetime import date, time

from sqlalchemy import select

from scheduler import dates
from scheduler.errors import SchedulerError, SlugTakenError
from scheduler.extensions import db
from scheduler.models import (
    Audience,
    Event,
    EventKind,
    EventStatus,
    Series,
    StaffUser,
)
from scheduler.services import attestations, audit, places
from scheduler.services.organisations import find_municipality
from scheduler.services.planning import (
    OWNED_BY_SERIES,
    PlacesOutcome,
    after_places_change,
    free_slug,
    invite_to_session,
)
from scheduler.services.registrations import fill_from_waiting_list


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


@dataclass(frozen=True)
class SeriesSettings:
    """What staff change about a series after creating it."""

    title: str
    summary: str = ""
    capacity: int | None = None
    max_per_organisation: int | None = None
    is_moderated: bool = False
    admission_note: str = ""


@dataclass(frozen=True)
class SessionFields:
    """One more meeting of a series."""

    day: date
    start_time: time
    end_time: time
    venue: str = ""
    address: str = ""
    municipality: str = ""


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
    municipality = find_municipality(fields.municipality)
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
        ))
    db.session.flush()
    audit.record(staff, "series.create", "series", series.id, f"{fields.title}: {count} sessies")
    db.session.commit()
    return series


def _rename_sessions(series: Series, old_title: str) -> None:
    """Generated titles "<series> (n/m)" follow a new series title and keep their number;
    titles staff wrote stay. Numbers never move: people refer to a meeting by its number."""
    generated = re.compile(rf"^{re.escape(old_title)} (\((?:\d+/\d+|extra bijeenkomst)\))$")
    for session in series.events:
        found = generated.match(session.title)
        if found:
            session.title = f"{series.title} {found.group(1)}"


def update_series(series: Series, settings: SeriesSettings, staff: StaffUser) -> PlacesOutcome:
    """Change a series' title, summary, places, maximum per organisation or moderation.

    Places added go to the waiting list in order at once (and those promoted are mailed);
    people above a lowered capacity keep their place, and the outcome says how many they are.
    """
    places.lock_owner(series)
    old_title, old_summary = series.title, series.summary
    for name in ("title", "summary", *OWNED_BY_SERIES):
        setattr(series, name, getattr(settings, name))
    if series.title != old_title:
        _rename_sessions(series, old_title)
    # Sessions show the series' summary unless staff wrote one of their own.
    for session in series.events:
        if session.summary == old_summary:
            session.summary = series.summary
    db.session.flush()
    outcome = after_places_change(series)
    if series.title != old_title:
        outcome = replace(outcome, reissue=attestations.follow_edit(series))
    audit.record(staff, "series.edit", "series", series.id, series.title)
    db.session.commit()
    return outcome


def add_session(series: Series, fields: SessionFields, staff: StaffUser) -> Event:
    """Add a meeting to a series. While the series is published the new session is published
    too, and everyone confirmed gets it in their calendar; otherwise it is a draft."""
    places.lock_owner(series)
    starts_at = dates.brussels_to_utc(fields.day, fields.start_time)
    if any(session.starts_at == starts_at and not session.is_cancelled
           for session in series.events):
        db.session.rollback()
        raise SchedulerError("Deze reeks heeft al een bijeenkomst op dat moment.")
    is_public = any(session.is_published for session in series.events)
    last = series.events[-1] if series.events else None
    session = Event(
        series=series, kind=series.kind,
        status=EventStatus.published if is_public else EventStatus.draft,
        slug=free_slug(f"{series.slug}-{len(series.events) + 1}"),
        title=f"{series.title} (extra bijeenkomst)",
        summary=series.summary,
        starts_at=starts_at,
        ends_at=dates.brussels_to_utc(fields.day, fields.end_time),
        venue=fields.venue, address=fields.address,
        municipality=find_municipality(fields.municipality),
        audience=last.audience if last else Audience.both,
        themes=list(last.themes) if last else [],
        # Enrolment is for the whole series: a new session must not reopen it.
        registration_opens_at=last.registration_opens_at if last else None,
        registration_closes_at=last.registration_closes_at if last else None,
        description=last.description if last else "", online_url=last.online_url if last else None,
    )
    db.session.add(session)
    db.session.flush()
    if is_public:
        invite_to_session(session)
        # A series whose sessions had all passed or been cancelled takes places again.
        fill_from_waiting_list(series)
    audit.record(staff, "series.add_session", "event", session.id,
                 f"{series.title}: {dates.format_short_datetime(session.starts_at)}")
    db.session.commit()
    return session


def publish_series(series: Series, staff: StaffUser) -> int:
    """Publish every draft session of a series; returns how many were published."""
    places.lock_owner(series)
    drafts = [event for event in series.events if event.status is EventStatus.draft]
    enrolled = places.active_for_event(drafts[0]) if drafts else []
    for event in drafts:
        event.status = EventStatus.published
        invite_to_session(event, enrolled)
    fill_from_waiting_list(series)
    audit.record(staff, "series.publish", "series", series.id, f"{len(drafts)} sessies")
    db.session.commit()
    return len(drafts)
