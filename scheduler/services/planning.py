"""Planning: the changes staff make to activities (series: see ``series``), and who hears.

A session belongs to its series for good: no form, copy or status change moves it out, and it
never holds places, moderation or a maximum per organisation of its own (see ``places``).
Places added (a higher capacity or maximum per organisation) go to the waiting list at once.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from scheduler.dates import local
from scheduler.errors import (
    EditConflictError,
    NotDeletableError,
    ScheduleChangeRefusedError,
    SchedulerError,
    SlugTakenError,
)
from scheduler.extensions import db
from scheduler.models import (
    SCHEDULE_ATTRIBUTES,
    Attendance,
    Audience,
    Event,
    EventKind,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    RequestStatus,
    Series,
    StaffUser,
    Theme,
    TrainingRequest,
    attributes_changed,
    utcnow,
)
from scheduler.services import attestations, audit, materials, notifications, places, registrations
from scheduler.services import requests as training_requests
from scheduler.services.organisations import find_municipality

# What a series decides for all its sessions.
OWNED_BY_SERIES = ("capacity", "max_per_organisation", "is_moderated", "admission_note")


@dataclass(frozen=True)
class EventFields:
    """Everything staff fill in about an activity; a session ignores what its series owns."""

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
    admission_note: str = ""
    audience: Audience = Audience.both
    registration_opens_at: datetime | None = None
    registration_closes_at: datetime | None = None
    theme_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class PlacesOutcome:
    """What a change to an activity or series did to its places, for staff to read."""

    subject: Event | Series
    promoted: list[Registration] = field(default_factory=list)
    over_capacity: int = 0
    # Attestations issued anew because what they state (a title, kind or hours) changed.
    reissue: attestations.Reissue | None = None


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


def free_slug(wanted: str, model: type[Event] | type[Series] = Event) -> str:
    """``wanted`` if no row of ``model`` has it, else the first free ``wanted-2``, ``-3``, …"""
    taken = set(db.session.scalars(
        select(model.slug).where((model.slug == wanted) | model.slug.like(f"{wanted}-%"))
    ))
    if wanted not in taken:
        return wanted
    number = 2
    while f"{wanted}-{number}" in taken:
        number += 1
    return f"{wanted}-{number}"


def _check_slug(slug: str, event: Event | None) -> None:
    clash = db.session.scalar(
        select(Event.id).where(Event.slug == slug, Event.id != (event.id if event else -1))
    )
    if clash is not None:
        raise SlugTakenError()


def version_of(event: Event) -> str:
    """What an edit form remembers of the activity it showed, to notice a save in between."""
    return event.updated_at.isoformat()


def save_event(event: Event | None, fields: EventFields, staff: StaffUser,
               seen_version: str | None = None) -> PlacesOutcome:
    """Create or edit an activity.

    A published activity whose time or place changes is announced to everyone registered (its
    SEQUENCE rises, see models). A session stays in its series whatever is saved, and the
    places, moderation and maximum of a session are its series'. More places than before go to
    the waiting list at once. Raises SlugTakenError when another activity has the slug, and
    ScheduleChangeRefusedError for a move of a cancelled activity or one into the past, and
    EditConflictError when ``seen_version`` is not the activity's version any more.
    """
    _check_slug(fields.slug, event)
    is_new = event is None
    if is_new:
        event = Event(status=EventStatus.draft)
    else:
        # Lock the places first: a registration may be counting them at this moment.
        event, _owner = places.lock(event.id)
        if seen_version is not None and seen_version != version_of(event):
            db.session.rollback()
            raise EditConflictError()
    municipality = find_municipality(fields.municipality)
    themes = list(db.session.scalars(select(Theme).where(Theme.id.in_(fields.theme_ids))))
    if is_new:
        db.session.add(event)
    # No flush until everything is set: a flush would clear the history that tells what changed.
    with db.session.no_autoflush:
        for name in ("kind", "title", "slug", "starts_at", "ends_at", "summary", "description",
                     "venue", "address", "audience", "registration_opens_at",
                     "registration_closes_at"):
            setattr(event, name, getattr(fields, name))
        if not event.is_session:
            for name in OWNED_BY_SERIES:
                setattr(event, name, getattr(fields, name))
        event.online_url = fields.online_url or None
        # The column, not the relationship: an unloaded relationship would look changed.
        event.municipality_id = municipality.id if municipality else None
        event.themes = themes
        changed = not is_new and event.schedule_changed()
        attested_facts_changed = not is_new and attributes_changed(
            event, ("title", "kind", "starts_at", "ends_at"))
        corrects_the_past = not is_new and _corrects_the_past(event)
    if changed and not corrects_the_past:
        _check_move(event)
    db.session.flush()
    db.session.expire(event, ["municipality"])
    if changed and event.is_published and not corrects_the_past:
        _announce_change(event)
    # More places, or an activity that takes places again (moved back before its start):
    # either way the waiting list moves up now.
    outcome = PlacesOutcome(event) if is_new else after_places_change(event.places_owner)
    reissued = attestations.follow_edit(event) if attested_facts_changed else None
    audit.record(staff, "event.create" if is_new else "event.edit", "event", event.id,
                 event.title + (" (tijd of plaats gewijzigd)" if changed else ""))
    db.session.commit()
    return PlacesOutcome(event, outcome.promoted, outcome.over_capacity, reissued)


def _corrects_the_past(event: Event) -> bool:
    """The hours of an activity that had ended set to other hours of the same days, passed
    too: staff correct the record of what took place (the attestations follow). Nobody is to
    come at another time, so it is not a move and nobody is mailed; another day is a move."""
    now = utcnow()
    state = sqlalchemy_inspect(event)
    old_start = (state.attrs.starts_at.history.deleted or [event.starts_at])[0]
    old_end = (state.attrs.ends_at.history.deleted or [event.ends_at])[0]
    return (event.is_published and attributes_changed(event, ("starts_at", "ends_at"))
            and not attributes_changed(event, tuple(
                name for name in SCHEDULE_ATTRIBUTES if name not in ("starts_at", "ends_at")))
            and old_end <= now and event.starts_at < event.ends_at <= now
            and local(old_start).date() == local(event.starts_at).date()
            and local(old_end).date() == local(event.ends_at).date())


def _check_move(event: Event) -> None:
    """A cancelled activity is not moved any more, and a published one never into the past:
    both would send people a calendar entry for something that will not happen."""
    if event.is_cancelled:
        db.session.rollback()
        raise ScheduleChangeRefusedError("Een geannuleerde activiteit verplaats je niet meer.")
    moved_in_time = attributes_changed(event, ("starts_at", "ends_at"))
    if event.is_published and moved_in_time and event.starts_at <= utcnow():
        db.session.rollback()
        raise ScheduleChangeRefusedError(
            "Een gepubliceerde activiteit verplaats je niet naar een moment dat voorbij is.")


def _announce_change(event: Event) -> None:
    for registration in places.active_for_event(event):
        notifications.queue("event_changed", registration, event=event,
                            with_calendar=registration.status is RegistrationStatus.confirmed)


def after_places_change(owner: places.Owner) -> PlacesOutcome:
    """Fill places that came free from the waiting list; say how many are above capacity."""
    promoted = registrations.fill_from_waiting_list(owner)
    return PlacesOutcome(owner, promoted, places.seats_of(owner).over_capacity)


def set_published(event: Event, published: bool, staff: StaffUser) -> None:
    """Publish a draft, or take an activity back to draft (then it leaves the public pages).

    A session published after people enrolled in its series is sent to their calendars.
    Raises SchedulerError for a cancelled activity (it stays cancelled in every calendar) and
    for taking back to draft an activity people registered for (cancel it instead).
    """
    event, owner = places.lock(event.id)
    if event.is_cancelled:
        db.session.rollback()
        raise SchedulerError("Een geannuleerde activiteit blijft geannuleerd.")
    if event.is_published == published:
        db.session.rollback()
        return
    if not published and event.is_published and places.active_for_event(event):
        # Their calendars and mails hold it: cancelling tells them, a draft would vanish.
        db.session.rollback()
        raise SchedulerError("Er zijn inschrijvingen: annuleer de activiteit in plaats van ze "
                             "terug naar ontwerp te zetten.")
    was_draft = event.status is EventStatus.draft
    event.status = EventStatus.published if published else EventStatus.draft
    if published:
        training_requests.notify_published(event)
        if was_draft and event.is_session:
            invite_to_session(event)
        # A session published again may give its series places to hand out.
        registrations.fill_from_waiting_list(owner)
    audit.record(staff, "event.publish" if published else "event.unpublish", "event", event.id,
                 event.title)
    db.session.commit()


def invite_to_session(session: Event, enrolled: list[Registration] | None = None) -> None:
    """Send a new session to everyone confirmed in its series."""
    for registration in enrolled if enrolled is not None else places.active_for_event(session):
        if registration.status is RegistrationStatus.confirmed:
            notifications.queue("session_added", registration, event=session)


def cancel_event(event: Event, reason: str, staff: StaffUser, now: datetime | None = None) -> int:
    """Cancel an activity: it stays visible (and in the feeds) as cancelled, and everyone
    registered is mailed with a calendar cancellation. Returns the number of people mailed.

    A cancelled session leaves the rest of its series as it is. Raises SchedulerError when
    the activity is not published (a draft is deleted or kept, never cancelled).
    """
    event, owner = places.lock(event.id)
    if not event.is_published:
        db.session.rollback()
        raise SchedulerError("Alleen een gepubliceerde activiteit kan geannuleerd worden.")
    if event.has_ended(now or utcnow()):
        # It took place: a cancellation would tell people not to come, after the fact, and
        # take away their attestations. Attendance is corrected per person instead.
        db.session.rollback()
        raise SchedulerError("Deze activiteit is voorbij en kan niet meer geannuleerd worden. "
                             "Klopt de aanwezigheid niet, corrigeer ze dan per persoon.")
    event.status = EventStatus.cancelled
    event.cancellation_reason = reason.strip()
    event.cancelled_at = now or utcnow()
    people = places.active_for_event(event)
    if not places.takes_places(owner, event.cancelled_at):
        # No place changes hands any more: a hand-over waiting for staff has nothing to give.
        for registration in people:
            registrations.forget_requested_hand_over(registration)
    for registration in people:
        notifications.queue(
            "event_cancelled", registration, event=event, extra=event.cancellation_reason,
            with_calendar=registration.status is RegistrationStatus.confirmed)
    attestations.follow_cancellation(event)
    audit.record(staff, "event.cancel", "event", event.id, f"{event.title}: {reason}")
    db.session.commit()
    return len(people)


def duplicate_event(event: Event, staff: StaffUser) -> Event:
    """A draft copy for a new date, in the same series; nothing about registrations is copied."""
    # "(3/3)" twice would be wrong; a copy in a series is one more meeting.
    title = f"{event.series.title} (extra bijeenkomst)" if event.is_session else event.title
    copy = Event(
        kind=event.kind, status=EventStatus.draft, title=title,
        slug=free_slug(event.slug), summary=event.summary, description=event.description,
        starts_at=event.starts_at, ends_at=event.ends_at, venue=event.venue,
        address=event.address, municipality=event.municipality, online_url=event.online_url,
        audience=event.audience, series_id=event.series_id, themes=list(event.themes),
    )
    if not event.is_session:
        for name in OWNED_BY_SERIES:
            setattr(copy, name, getattr(event, name))
    db.session.add(copy)
    db.session.flush()
    audit.record(staff, "event.duplicate", "event", copy.id, f"kopie van {event.slug}")
    db.session.commit()
    return copy


def delete_draft(event: Event, staff: StaffUser) -> None:
    """Delete a draft that nothing refers to: no registrations, mails or attendance of its own.

    A session that was published once has mails about it; it is cancelled instead.
    Raises NotDeletableError otherwise.
    """
    referred = [
        select(Registration.id).where(Registration.event_id == event.id),
        select(OutboxMessage.id).where(OutboxMessage.event_id == event.id),
        select(Attendance.id).where(Attendance.event_id == event.id),
    ]
    if event.status is not EventStatus.draft or any(
            db.session.scalar(query.limit(1)) is not None for query in referred):
        raise NotDeletableError()
    # A training planned from a request goes back to being discussed; the request stays.
    db.session.execute(
        update(TrainingRequest).where(TrainingRequest.event_id == event.id)
        .values(event_id=None, status=RequestStatus.in_discussion)
    )
    audit.record(staff, "event.delete", "event", event.id, event.title)
    materials.delete_all_of(event=event)
    db.session.delete(event)
    db.session.commit()
