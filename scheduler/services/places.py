"""Places: who owns them (an activity, or the series its sessions share), and counting them.

A session of a series takes its places, moderation and maximum per organisation from the
series: people enrol in the series as one. Every other activity holds its own. The models say
which one owns them (``Event.places_owner``, ``Registration.places_owner``); everything that
locks, counts, lists or fills places goes through this module.

Places are counted while the database's write lock is held: the owner's row is locked with
SELECT … FOR UPDATE on PostgreSQL, and the transaction begins with BEGIN IMMEDIATE on SQLite.
Two people pressing "inschrijven" at the same moment are therefore handled one after the other.
Awaiting approval holds a place, so staff can approve everyone who waits for approval without
ever exceeding capacity, and people who asked first are not overtaken by later ones.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.orm import joinedload

from scheduler.extensions import begin_write_transaction, db
from scheduler.models import (
    ACTIVE_STATUSES,
    SEAT_HOLDING_STATUSES,
    Event,
    EventStatus,
    Registration,
    RegistrationStatus,
    Series,
    utcnow,
)

Owner = Event | Series
# Why a person waits although places are left.
ORGANISATION_LIMIT = "organisation_limit"


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

    @property
    def over_capacity(self) -> int:
        """How many hold a place beyond the capacity, after staff lowered it."""
        return 0 if self.capacity is None else max(self.taken - self.capacity, 0)


def lock(event_id: int) -> tuple[Event, Owner]:
    """Begin a write transaction holding the lock on the places of an activity.

    Returns the activity and the owner of its places. Raises LookupError for an unknown id.
    """
    return _lock(Event.id == event_id, event_id)


def lock_public(slug: str) -> tuple[Event, Owner]:
    """``lock`` for the activity a public page shows (any but a draft), found by its slug."""
    return _lock((Event.slug == slug) & (Event.status != EventStatus.draft), slug)


def _lock(which: ColumnElement[bool], key: object) -> tuple[Event, Owner]:
    session = db.session
    begin_write_transaction()
    # The series comes along: for a session it owns the places.
    event = session.scalars(
        select(Event).where(which).options(joinedload(Event.series)),
        execution_options={"populate_existing": True},
    ).one_or_none()
    if event is None:
        session.rollback()
        raise LookupError(key)
    if session.get_bind().dialect.name == "sqlite":
        # BEGIN IMMEDIATE already holds the database's only write lock.
        return event, event.places_owner
    owner_class = Series if event.is_session else Event
    owner = session.scalars(
        select(owner_class).where(owner_class.id == (event.series_id or event.id))
        .with_for_update(),
        execution_options={"populate_existing": True},
    ).one()
    return event, owner


def lock_owner(owner: Owner) -> Owner:
    """Lock the places of an activity or series that is already loaded."""
    return lock_all([owner])[0]


def lock_all(owners: list[Owner]) -> list[Owner]:
    """Lock the places of several activities or series in one write transaction.

    Returns each owner once, in the order in which they are locked (activities, then series,
    each by id), always the same, so two such transactions never wait for each other in a circle.
    """
    begin_write_transaction()
    unique = sorted({(type(owner).__name__, owner.id): owner for owner in owners}.items())
    if db.session.get_bind().dialect.name != "sqlite":
        for _key, owner in unique:
            db.session.execute(
                select(type(owner).id).where(type(owner).id == owner.id).with_for_update()
            )
    for _key, owner in unique:
        db.session.refresh(owner)
    return [owner for _key, owner in unique]


def of_owner(owner: Owner) -> ColumnElement[bool]:
    """The registrations that hold or wait for a place of this activity or series."""
    if isinstance(owner, Series):
        return Registration.series_id == owner.id
    return Registration.event_id == owner.id


def covers_event() -> ColumnElement[bool]:
    """Join condition: the registration is for this activity, or for the series it is part of."""
    return or_(
        Registration.event_id == Event.id,
        and_(Registration.series_id.is_not(None), Registration.series_id == Event.series_id),
    )


def belongs_to(registration: Registration, event: Event) -> bool:
    """Whether the registration counts for this activity (directly or through its series)."""
    if event.is_session:
        return registration.series_id == event.series_id
    return registration.event_id == event.id


def enrol(registration: Registration, owner: Owner) -> None:
    """Attach a new registration to the activity or series that owns the places."""
    if isinstance(owner, Series):
        registration.series = owner
    else:
        registration.event = owner


def enrolment(owner: Owner) -> dict[str, int | None]:
    """The columns of a new registration row that attach it to the owner of the places."""
    if isinstance(owner, Series):
        return {"event_id": None, "series_id": owner.id}
    return {"event_id": owner.id, "series_id": None}


def registrations_of(owner: Owner) -> Select:
    return select(Registration).where(of_owner(owner))


def count_of(owner: Owner) -> Select:
    return select(func.count(Registration.id)).where(of_owner(owner))


def list_for_event(event: Event) -> list[Registration]:
    """Everyone who registered for the activity (or its series), in order of registration;
    not the nameless rows of those declined or proposed and set aside, which say nothing."""
    return list(db.session.scalars(
        registrations_of(event.places_owner)
        .where(Registration.anonymised_at.is_(None)
               | (Registration.status != RegistrationStatus.declined))
        .options(joinedload(Registration.organisation))
        .order_by(Registration.id)
    ))


def active_for_event(event: Event) -> list[Registration]:
    """Everyone who holds or waits for a place of the activity, in order of registration."""
    return [registration for registration in list_for_event(event) if registration.is_active]


def capacity(owner: Owner) -> float:
    return float("inf") if owner.capacity is None else owner.capacity


def seats_taken(owner: Owner) -> int:
    return db.session.scalar(
        count_of(owner).where(Registration.status.in_(SEAT_HOLDING_STATUSES))
    )


def seat_status(owner: Owner) -> RegistrationStatus:
    """The status of someone who gets a place: awaiting approval where staff check first."""
    return RegistrationStatus.pending if owner.is_moderated else RegistrationStatus.confirmed


@dataclass(frozen=True)
class Arrival:
    """What a newcomer's status depends on, read in one statement under the lock: whether
    the address already holds or waits for a place, the places taken, and those taken by the
    newcomer's organisation (only counted when there is a maximum per organisation)."""

    registered_id: int | None
    taken: int
    taken_by_organisation: int


def arrival(owner: Owner, email_normalised: str, organisation_id: int | None,
            organisation_other: str) -> Arrival:
    holding = count_of(owner).where(Registration.status.in_(SEAT_HOLDING_STATUSES))
    registered = select(Registration.id).where(
        of_owner(owner), Registration.email_normalised == email_normalised,
        Registration.status.in_(ACTIVE_STATUSES)).limit(1)
    if organisation_id is not None:
        same = Registration.organisation_id == organisation_id
    else:
        same = func.lower(Registration.organisation_other) == organisation_other.lower()
    counts_organisation = owner.max_per_organisation is not None and (
        organisation_id is not None or organisation_other)
    row = db.session.execute(select(
        registered.scalar_subquery(), holding.scalar_subquery(),
        holding.where(same).scalar_subquery() if counts_organisation else literal(0),
    )).one()
    return Arrival(*row)


def status_for_newcomer(owner: Owner, arrival: Arrival) -> tuple[RegistrationStatus, str | None]:
    """A place while one is free and the organisation is under its maximum; else the list.

    While the activity takes places nobody waits who could take a free one (every change that
    frees or adds places fills them from the list at once). Once it has begun the list stands
    still, so a newcomer (a walk-in added by staff) queues behind anyone waiting for a place.
    """
    if arrival.taken >= capacity(owner) or (
            not takes_places(owner, utcnow()) and _someone_waits_for_a_place(owner)):
        return RegistrationStatus.waiting, None
    limit = owner.max_per_organisation
    if limit is not None and arrival.taken_by_organisation >= limit:
        return RegistrationStatus.waiting, ORGANISATION_LIMIT
    return seat_status(owner), None


def _someone_waits_for_a_place(owner: Owner) -> bool:
    return db.session.scalar(select(
        select(Registration.id).where(
            of_owner(owner), Registration.status == RegistrationStatus.waiting,
            Registration.waiting_reason.is_(None)).exists())) or False


def _organisation_key(organisation_id: int | None, organisation_other: str) -> object:
    """What makes two registrations "the same organisation" for the maximum."""
    return organisation_id if organisation_id is not None else organisation_other.lower()


def takes_places(owner: Owner, now: datetime) -> bool:
    """Whether anyone can still get a place: a published activity that has not begun, or a
    series with such a session. A cancelled, past or draft activity promotes nobody."""
    sessions = owner.events if isinstance(owner, Series) else [owner]
    return any(session.is_published and not session.has_started(now) for session in sessions)


def is_over(owner: Owner, now: datetime) -> bool:
    """Cancelled or ended (for a series: every session): nobody is added any more."""
    sessions = owner.events if isinstance(owner, Series) else [owner]
    return all(session.is_cancelled or session.has_ended(now) for session in sessions)


def fill_free_places(owner: Owner) -> list[Registration]:
    """Give free places to the waiting list in order, skipping organisations at their maximum,
    and tell everyone who still waits whether their organisation's maximum is why.

    The caller holds the lock and mails the registrations returned. Two queries, whatever the
    length of the list: the seats held per organisation, and the waiting list.
    """
    limit = owner.max_per_organisation
    held: Counter = Counter()
    if limit is not None:
        rows = db.session.execute(
            select(Registration.organisation_id, func.lower(Registration.organisation_other),
                   func.count())
            .where(of_owner(owner), Registration.status.in_(SEAT_HOLDING_STATUSES))
            .group_by(Registration.organisation_id, func.lower(Registration.organisation_other))
        )
        for organisation_id, other, number in rows:
            held[_organisation_key(organisation_id, other or "")] += number
    free = capacity(owner) - sum(held.values()) if limit is not None else \
        capacity(owner) - seats_taken(owner)
    if not takes_places(owner, utcnow()):
        free = 0
    waiting = db.session.scalars(
        registrations_of(owner)
        .where(Registration.status == RegistrationStatus.waiting)
        .order_by(Registration.id)
    ).all()
    promoted: list[Registration] = []
    for registration in waiting:
        key = _organisation_key(registration.organisation_id, registration.organisation_other)
        # Free-text organisations without a name share no maximum.
        at_limit = limit is not None and key != "" and held[key] >= limit
        registration.waiting_reason = ORGANISATION_LIMIT if at_limit else None
        if free <= 0 or at_limit:
            continue
        registration.status = seat_status(owner)
        held[key] += 1
        promoted.append(registration)
        free -= 1
    db.session.flush()
    return promoted


def waiting_position(registration: Registration) -> int | None:
    """1 for the first in line; None when the registration is not on the waiting list."""
    if registration.status is not RegistrationStatus.waiting:
        return None
    return db.session.scalar(
        count_of(registration.places_owner).where(
            Registration.status == RegistrationStatus.waiting, Registration.id <= registration.id
        )
    )


def summaries(events: list[Event]) -> dict[int, Seats]:
    """The places of each activity in one query; sessions of a series share the series' places."""
    if not events:
        return {}
    event_ids = [event.id for event in events if not event.is_session]
    series_ids = {event.series_id for event in events if event.is_session}
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
    counts: Counter = Counter()
    for event_id, series_id, status, number in db.session.execute(query):
        key = ("series", series_id) if series_id is not None else ("event", event_id)
        counts[key, status] += number
    found = {}
    for event in events:
        key = ("series", event.series_id) if event.is_session else ("event", event.id)
        found[event.id] = Seats(
            capacity=event.places_owner.capacity,
            confirmed=counts[key, RegistrationStatus.confirmed],
            pending=counts[key, RegistrationStatus.pending],
            waiting=counts[key, RegistrationStatus.waiting],
        )
    return found


def seats_of(owner: Owner) -> Seats:
    """The places of one activity or series."""
    rows = db.session.execute(
        select(Registration.status, func.count()).where(
            of_owner(owner), Registration.status.in_(ACTIVE_STATUSES)
        ).group_by(Registration.status)
    )
    counts = dict(rows.all())
    return Seats(
        capacity=owner.capacity,
        confirmed=counts.get(RegistrationStatus.confirmed, 0),
        pending=counts.get(RegistrationStatus.pending, 0),
        waiting=counts.get(RegistrationStatus.waiting, 0),
    )
