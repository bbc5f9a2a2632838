"""What staff do with registrations: approve, decline, promote, add by hand, take attendance.

Every decision about a place locks the places of the activity (or its series) first, so it
never races a registration or a cancellation, and checks the registration's current state
under that lock.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from scheduler.errors import NoPlaceLeftError, SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    Event,
    Registration,
    RegistrationStatus,
    StaffUser,
    utcnow,
)
from scheduler.services import attestations, audit, notifications, places
from scheduler.services.registrations import Applicant, Outcome, register, release_place


def _refuse_when_over(owner: places.Owner) -> None:
    """Staff decide about places until the activity ends (a walk-in while it runs), never on
    a cancelled or ended one; only the automatic moving up stops once it begins."""
    if places.is_over(owner, utcnow()):
        db.session.rollback()
        raise SchedulerError("Deze activiteit gaat niet door of is voorbij; er krijgt niemand "
                             "een plaats.")


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
                     f"toegevoegd ({outcome.registration.status.value})")
        db.session.commit()
    return outcome


def approve(registration: Registration, event_id: int, staff: StaffUser) -> None:
    """Confirm a registration that awaits approval; it already holds its place."""
    _event, owner = places.lock(event_id)
    db.session.refresh(registration)
    if registration.status is not RegistrationStatus.pending:
        db.session.rollback()
        raise SchedulerError("Deze inschrijving wacht niet op goedkeuring.")
    _refuse_when_over(owner)
    registration.status = RegistrationStatus.confirmed
    notifications.queue("approved", registration)
    audit.record(staff, "registration.approve", "registration", registration.id)
    db.session.commit()


def decline(registration: Registration, event_id: int, staff: StaffUser) -> list[Registration]:
    """Decline a registration; a place it held goes to the waiting list in order."""
    _event, owner = places.lock(event_id)
    db.session.refresh(registration)
    if not registration.is_active:
        db.session.rollback()
        raise SchedulerError("Deze inschrijving is niet meer actief.")
    _refuse_when_over(owner)
    promoted = release_place(registration, RegistrationStatus.declined, owner, "declined",
                             with_calendar=registration.status is RegistrationStatus.confirmed)
    audit.record(staff, "registration.decline", "registration", registration.id)
    db.session.commit()
    return promoted


def promote(registration: Registration, event_id: int, staff: StaffUser) -> None:
    """Move someone from the waiting list to confirmed out of turn, if a place is free.

    Staff may pass over the order and the maximum per organisation, never the capacity.
    """
    _event, owner = places.lock(event_id)
    db.session.refresh(registration)
    if registration.status is not RegistrationStatus.waiting:
        db.session.rollback()
        raise SchedulerError("Deze persoon staat niet op de wachtlijst.")
    _refuse_when_over(owner)
    if places.seats_taken(owner) >= places.capacity(owner):
        db.session.rollback()
        raise NoPlaceLeftError()
    registration.status = RegistrationStatus.confirmed
    registration.waiting_reason = None
    notifications.queue("promoted", registration)
    audit.record(staff, "registration.promote", "registration", registration.id)
    db.session.commit()


def set_attendance(registration: Registration, event: Event, present: bool,
                   staff: StaffUser) -> Attendance:
    """Record whether the person was there; recording again overwrites. The attestation
    follows: issued, corrected (and mailed again once the attendance is final) or withdrawn.
    Under the lock of the activity's places: two corrections of one person at once take turns.
    Refused once the registration is anonymised: its attestation is kept as it was, for
    verification, and the attendance it states stays so too."""
    places.lock(event.id)
    if registration.anonymised_at is not None:
        db.session.rollback()
        raise SchedulerError("De persoonsgegevens van deze inschrijving zijn verwijderd; de "
                             "aanwezigheid staat vast.")
    attendance = db.session.scalars(
        select(Attendance).where(Attendance.registration_id == registration.id,
                                 Attendance.event_id == event.id)
    ).one_or_none()
    if attendance is None:
        attendance = Attendance(registration_id=registration.id, event_id=event.id,
                                is_present=present)
        db.session.add(attendance)
    attendance.is_present = present
    db.session.flush()
    attestations.bring_up_to_date(registration)
    audit.record(staff, "registration.attendance", "registration", registration.id,
                 f"{'aanwezig' if present else 'afwezig'} op {event.slug}")
    db.session.commit()
    return attendance


def awaiting_approval(limit: int = 50) -> list[Registration]:
    """Registrations and hand-overs staff still have to decide about, oldest first."""
    return list(db.session.scalars(
        select(Registration)
        .where(Registration.status.in_((RegistrationStatus.pending,
                                        RegistrationStatus.handover_requested)))
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
               Registration.cancelled_at >= since, Registration.anonymised_at.is_(None))
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
