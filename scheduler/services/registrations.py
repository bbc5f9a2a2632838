"""Registering, cancelling and promoting: the rules that keep an activity from being overbooked.

Places are counted while the database's write lock is held: the activity's row (or its series'
row) is locked with SELECT … FOR UPDATE on PostgreSQL, and the transaction begins with
BEGIN IMMEDIATE on SQLite. Two people pressing "inschrijven" at the same moment are therefore
handled one after the other.

Awaiting approval holds a place: staff can approve everyone who waits for approval without ever
exceeding capacity, and people who asked first are not overtaken by later ones.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from scheduler.errors import (
    AlreadyCancelledError,
    EventNotOpenError,
    RegistrationClosedError,
    RegistrationNotOpenYetError,
    SchedulerError,
)
from scheduler.extensions import begin_write_transaction, db
from scheduler.models import (
    ACTIVE_STATUSES,
    Attendance,
    Event,
    Organisation,
    Person,
    Registration,
    RegistrationStatus,
    Role,
    Series,
    StaffUser,
    new_token,
    utcnow,
)
from scheduler.services import audit, mail

SEAT_HOLDING = (RegistrationStatus.confirmed, RegistrationStatus.pending)
ORGANISATION_LIMIT = "organisation_limit"


@dataclass(frozen=True)
class Applicant:
    """What a person fills in to register."""

    first_name: str
    last_name: str
    email: str
    organisation: str
    role: Role
    function: str = ""
    remarks: str = ""


@dataclass(frozen=True)
class Outcome:
    """The result of a registration attempt; ``is_new`` is False when the e-mail was known."""

    registration: Registration
    is_new: bool
    waiting_position: int | None


def normalise_email(email: str) -> str:
    """The form in which two e-mail addresses are compared: trimmed, lower case."""
    return email.strip().lower()


def register(
    event_id: int,
    applicant: Applicant,
    now: datetime | None = None,
    staff: StaffUser | None = None,
) -> Outcome:
    """Register a person for an activity, or for the whole series the activity belongs to.

    Confirmed while places are left; then on the waiting list. Moderated activities put people
    on "awaiting approval" while places are left. Past an activity's maximum per organisation,
    that organisation's next registrant waits with the reason ``organisation_limit``. The same
    e-mail address twice creates nothing new (and mails nothing). The outcome is mailed through
    the outbox in the same transaction. Raises RegistrationNotOpenYetError,
    RegistrationClosedError or EventNotOpenError when the activity takes no registrations.
    """
    now = now or utcnow()
    event, target = _lock_target(event_id)
    if staff is None:
        _check_open(event, now)
    email = normalise_email(applicant.email)
    existing = db.session.scalars(
        _registrations_of(target).where(
            Registration.email_normalised == email, Registration.status.in_(ACTIVE_STATUSES)
        )
    ).first()
    if existing is not None:
        db.session.commit()
        return Outcome(existing, False, waiting_position(existing))

    _ensure_person(email)
    organisation = find_municipality(applicant.organisation)
    organisation_other = "" if organisation else applicant.organisation.strip()
    status, reason = RegistrationStatus.waiting, None
    if _seats_taken(target) < _capacity(target):
        if _organisation_is_full(target, organisation, organisation_other):
            reason = ORGANISATION_LIMIT
        else:
            status = _seat_status(target)
    registration = Registration(
        first_name=applicant.first_name.strip(),
        last_name=applicant.last_name.strip(),
        email=applicant.email.strip(),
        email_normalised=email,
        organisation=organisation,
        organisation_other=organisation_other,
        role=applicant.role,
        function=applicant.function.strip(),
        remarks=applicant.remarks.strip(),
        status=status,
        waiting_reason=reason,
    )
    _attach(registration, target)
    db.session.add(registration)
    db.session.flush()
    position = waiting_position(registration)
    mail.queue(mail.STATUS_MAIL[registration.status], registration, position=position)
    db.session.commit()
    return Outcome(registration, True, position)


def cancel_registration(token: str, now: datetime | None = None) -> tuple[Registration, list]:
    """Cancel the registration behind ``token`` and give its place to the first in line.

    Returns the cancelled registration and the registrations promoted in the same transaction;
    the person and everyone promoted are mailed through the outbox in that transaction too.
    Raises AlreadyCancelledError when it was no longer active, and RegistrationClosedError
    once the activity (or the last session of the series) has started.
    """
    now = now or utcnow()
    registration = find_by_token(token)
    if registration is None:
        raise LookupError(token)
    event_id = registration.event_id or _next_session_id(registration.series_id, now)
    if event_id is None:
        raise RegistrationClosedError("Deze activiteit is al voorbij; annuleren kan niet meer.")
    _event, target = _lock_target(event_id)
    db.session.refresh(registration)
    if not registration.is_active:
        db.session.rollback()
        raise AlreadyCancelledError()
    if registration.event is not None and registration.event.has_started(now):
        db.session.rollback()
        raise RegistrationClosedError("Deze activiteit is al begonnen; annuleren kan niet meer.")
    registration.cancelled_at = now
    promoted = _release_place(registration, RegistrationStatus.cancelled, target,
                              "cancelled_by_person")
    db.session.commit()
    return registration, promoted


def find_by_token(token: str) -> Registration | None:
    """The registration behind a personal link, with its activity or series."""
    if not token or len(token) > 64:
        return None
    found = db.session.scalars(
        select(Registration)
        .where(Registration.token == token)
        .options(joinedload(Registration.event), joinedload(Registration.series))
    ).one_or_none()
    # The index finds the row; the final comparison does not leak how much of a token matched.
    return found if found is not None and hmac.compare_digest(found.token, token) else None


def waiting_position(registration: Registration) -> int | None:
    """1 for the first in line; None when the registration is not on the waiting list."""
    if registration.status is not RegistrationStatus.waiting:
        return None
    target = registration.series or registration.event
    return db.session.scalar(
        _count_of(target).where(
            Registration.status == RegistrationStatus.waiting, Registration.id <= registration.id
        )
    )


def find_municipality(name: str) -> Organisation | None:
    """The reference municipality with exactly this name, ignoring case and spaces around it."""
    wanted = name.strip().lower()
    if not wanted:
        return None
    return db.session.scalars(
        select(Organisation).where(
            Organisation.nis_code.is_not(None), func.lower(Organisation.name) == wanted
        )
    ).first()


def _ensure_person(address: str) -> None:
    """Make sure the person (and so their personal feed) exists; a no-op when it does."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Person).values(email_normalised=address, feed_token=new_token())
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["email_normalised"]))


def _lock_target(event_id: int) -> tuple[Event, Event | Series]:
    """Begin a write transaction holding the lock on the activity or on its series."""
    session = db.session
    begin_write_transaction()
    if session.get_bind().dialect.name == "sqlite":
        event = session.get(Event, event_id, populate_existing=True)
        if event is None:
            raise LookupError(event_id)
        return event, event.series or event
    event = session.get(Event, event_id, populate_existing=True)
    if event is None:
        raise LookupError(event_id)
    if event.series_id is None:
        session.execute(select(Event.id).where(Event.id == event_id).with_for_update())
        return event, event
    series = session.scalars(
        select(Series).where(Series.id == event.series_id).with_for_update(),
        execution_options={"populate_existing": True},
    ).one()
    return event, series


def _check_open(event: Event, now: datetime) -> None:
    window = event.registration_window_state(now)
    if not event.is_published:
        db.session.rollback()
        raise EventNotOpenError()
    if window == "not_yet":
        db.session.rollback()
        raise RegistrationNotOpenYetError()
    if window == "closed":
        db.session.rollback()
        raise RegistrationClosedError()


def _next_session_id(series_id: int | None, now: datetime) -> int | None:
    return db.session.scalar(
        select(Event.id)
        .where(Event.series_id == series_id, Event.starts_at > now)
        .order_by(Event.starts_at)
        .limit(1)
    )


def _registrations_of(target: Event | Series):
    column = Registration.series_id if isinstance(target, Series) else Registration.event_id
    return select(Registration).where(column == target.id)


def _count_of(target: Event | Series):
    column = Registration.series_id if isinstance(target, Series) else Registration.event_id
    return select(func.count(Registration.id)).where(column == target.id)


def _attach(registration: Registration, target: Event | Series) -> None:
    if isinstance(target, Series):
        registration.series = target
    else:
        registration.event = target


def _capacity(target: Event | Series) -> float:
    return float("inf") if target.capacity is None else target.capacity


def _seats_taken(target: Event | Series) -> int:
    return db.session.scalar(_count_of(target).where(Registration.status.in_(SEAT_HOLDING)))


def _seat_status(target: Event | Series) -> RegistrationStatus:
    return RegistrationStatus.pending if target.is_moderated else RegistrationStatus.confirmed


def _organisation_is_full(
    target: Event | Series, organisation: Organisation | None, organisation_other: str
) -> bool:
    """Whether the registrant's organisation already holds its maximum number of places."""
    limit = target.max_per_organisation
    if limit is None:
        return False
    if organisation is not None:
        same = Registration.organisation_id == organisation.id
    elif organisation_other:
        same = func.lower(Registration.organisation_other) == organisation_other.lower()
    else:
        return False
    held = db.session.scalar(
        _count_of(target).where(same, Registration.status.in_(SEAT_HOLDING))
    )
    return held >= limit


def _release_place(registration: Registration, status: RegistrationStatus,
                   target: Event | Series, mail_kind: str) -> list[Registration]:
    """End a registration, hand its place to the waiting list and mail everyone concerned."""
    registration.status = status
    registration.waiting_reason = None
    db.session.flush()
    promoted = _fill_free_places(target)
    mail.queue(mail_kind, registration)
    for person in promoted:
        confirmed = person.status is RegistrationStatus.confirmed
        mail.queue("promoted" if confirmed else "promoted_pending", person)
    return promoted


def _fill_free_places(target: Event | Series) -> list[Registration]:
    """Give free places to the waiting list in order, skipping organisations at their maximum."""
    free = _capacity(target) - _seats_taken(target)
    promoted: list[Registration] = []
    if free <= 0:
        return promoted
    waiting = db.session.scalars(
        _registrations_of(target)
        .where(Registration.status == RegistrationStatus.waiting)
        .order_by(Registration.id)
    ).all()
    for registration in waiting:
        if free <= 0:
            break
        if _organisation_is_full(
            target, registration.organisation, registration.organisation_other
        ):
            registration.waiting_reason = ORGANISATION_LIMIT
            continue
        registration.status = _seat_status(target)
        registration.waiting_reason = None
        db.session.flush()
        promoted.append(registration)
        free -= 1
    return promoted


class NoPlaceLeftError(SchedulerError):
    message = "Er is geen plaats vrij. Verhoog eerst de capaciteit of annuleer een inschrijving."


def list_for_event(event: Event) -> list[Registration]:
    """Everyone who registered for the activity (or its series), in order of registration."""
    column, value = (
        (Registration.series_id, event.series_id) if event.series_id
        else (Registration.event_id, event.id)
    )
    return list(db.session.scalars(
        select(Registration)
        .where(column == value)
        .options(joinedload(Registration.organisation))
        .order_by(Registration.id)
    ))


def attendance_for(event: Event) -> dict[int, bool]:
    """Registration id → present or not, for one activity."""
    rows = db.session.execute(
        select(Attendance.registration_id, Attendance.is_present)
        .where(Attendance.event_id == event.id)
    )
    return dict(rows.all())


def register_by_hand(event_id: int, applicant: Applicant, staff: StaffUser) -> Outcome:
    """Staff add someone, also outside the registration window; places and order still hold."""
    outcome = register(event_id, applicant, staff=staff)
    if outcome.is_new:
        audit.record(staff, "registration.add", "registration", outcome.registration.id,
                     f"{outcome.registration.email} toegevoegd")
        db.session.commit()
    return outcome


def approve(registration: Registration, event_id: int, staff: StaffUser) -> None:
    """Confirm a registration that awaits approval; it already holds its place."""
    _event, _target = _lock_target(event_id)
    db.session.refresh(registration)
    if registration.status is not RegistrationStatus.pending:
        db.session.rollback()
        raise SchedulerError("Deze inschrijving wacht niet op goedkeuring.")
    registration.status = RegistrationStatus.confirmed
    mail.queue("approved", registration)
    audit.record(staff, "registration.approve", "registration", registration.id,
                 registration.email)
    db.session.commit()


def decline(registration: Registration, event_id: int, staff: StaffUser) -> list[Registration]:
    """Decline a registration; a place it held goes to the waiting list in order."""
    _event, target = _lock_target(event_id)
    db.session.refresh(registration)
    if not registration.is_active:
        db.session.rollback()
        raise SchedulerError("Deze inschrijving is niet meer actief.")
    promoted = _release_place(registration, RegistrationStatus.declined, target, "declined")
    audit.record(staff, "registration.decline", "registration", registration.id,
                 registration.email)
    db.session.commit()
    return promoted


def promote(registration: Registration, event_id: int, staff: StaffUser) -> None:
    """Move someone from the waiting list to confirmed out of turn, if a place is free.

    Staff may pass over the order and the maximum per organisation, never the capacity.
    """
    _event, target = _lock_target(event_id)
    db.session.refresh(registration)
    if registration.status is not RegistrationStatus.waiting:
        db.session.rollback()
        raise SchedulerError("Deze persoon staat niet op de wachtlijst.")
    if _seats_taken(target) >= _capacity(target):
        db.session.rollback()
        raise NoPlaceLeftError()
    registration.status = RegistrationStatus.confirmed
    registration.waiting_reason = None
    mail.queue("promoted", registration)
    audit.record(staff, "registration.promote", "registration", registration.id,
                 registration.email)
    db.session.commit()


def set_attendance(registration: Registration, event: Event, present: bool,
                   staff: StaffUser) -> Attendance:
    """Record whether the person was there; recording again overwrites."""
    attendance = db.session.scalars(
        select(Attendance).where(Attendance.registration_id == registration.id,
                                 Attendance.event_id == event.id)
    ).one_or_none()
    if attendance is None:
        attendance = Attendance(registration_id=registration.id, event_id=event.id,
                                is_present=present)
        db.session.add(attendance)
    attendance.is_present = present
    audit.record(staff, "registration.attendance", "registration", registration.id,
                 f"{'aanwezig' if present else 'afwezig'} op {event.slug}")
    db.session.commit()
    return attendance


def awaiting_approval(limit: int = 50) -> list[Registration]:
    """Registrations staff still have to approve or decline, oldest first."""
    return list(db.session.scalars(
        select(Registration)
        .where(Registration.status == RegistrationStatus.pending)
        .options(joinedload(Registration.event), joinedload(Registration.series),
                 joinedload(Registration.organisation))
        .order_by(Registration.id)
        .limit(limit)
    ))


def recent_cancellations(since: datetime, limit: int = 20) -> list[Registration]:
    """Registrations people cancelled since a moment, latest first."""
    return list(db.session.scalars(
        select(Registration)
        .where(Registration.status == RegistrationStatus.cancelled,
               Registration.cancelled_at >= since)
        .options(joinedload(Registration.event), joinedload(Registration.series))
        .order_by(Registration.cancelled_at.desc())
        .limit(limit)
    ))


def session_of(registration: Registration) -> Event | None:
    """The activity whose staff page lists this registration: its own, or its series' first."""
    if registration.event is not None:
        return registration.event
    return db.session.scalars(
        select(Event).where(Event.series_id == registration.series_id).order_by(Event.starts_at)
    ).first()
