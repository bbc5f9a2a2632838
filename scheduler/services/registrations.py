"""Public registration: a person registers, finds their registration again, and cancels it.

Places are counted and locked by ``places``; this module decides what a person gets. A
registration is for the activity itself, or for the whole series a session belongs to.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import joinedload, selectinload

from scheduler.errors import (
    AlreadyCancelledError,
    EditConflictError,
    EventNotOpenError,
    RegistrationClosedError,
    RegistrationNotOpenYetError,
    SchedulerError,
)
from scheduler.extensions import db
from scheduler.models import (
    ACTIVE_STATUSES,
    Event,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    RegistrationWindow,
    Role,
    Series,
    StaffUser,
    utcnow,
)
from scheduler.services import attestations, audit, notifications, people, places
from scheduler.services.organisations import municipality_id
from scheduler.services.tokens import find_by_token


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
    needs: str = ""


@dataclass(frozen=True)
class OwnDetails:
    """What a person may correct about themselves from their personal page."""

    first_name: str
    last_name: str
    function: str
    needs: str


@dataclass(frozen=True)
class Outcome:
    """The result of a registration attempt; ``is_new`` is False when the e-mail was known.
    The title and whether it is a closed group are what the answer to the person says."""

    registration: Registration
    is_new: bool
    waiting_position: int | None
    title: str = ""
    closed_group: bool = False


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
    e-mail address twice creates nothing new; when the person registers it themselves (no
    ``staff``), its owner is mailed where they stand. The outcome is mailed through
    the outbox in the same transaction. Raises RegistrationNotOpenYetError,
    RegistrationClosedError or EventNotOpenError when the activity takes no registrations.
    """
    return _register(*places.lock(event_id), applicant, now or utcnow(), staff)


def register_on_page(slug: str, applicant: Applicant, now: datetime | None = None) -> Outcome:
    """``register`` by a person on the page of the activity with this slug; raises
    LookupError when no public activity has it."""
    return _register(*places.lock_public(slug), applicant, now or utcnow(), None)


def _register(event: Event, owner: places.Owner, applicant: Applicant, now: datetime,
              staff: StaffUser | None) -> Outcome:
    if staff is None:
        _check_open(event, now)
    elif not event.is_published or places.is_over(owner, now):
        # A draft is in no feed and on no page: nobody may hold a place in it.
        db.session.rollback()
        raise EventNotOpenError(
            "Deze activiteit is niet gepubliceerd, geannuleerd of voorbij; er kan niemand bij.")
    email = people.normalise_email(applicant.email)
    organisation_id = municipality_id(applicant.organisation)
    organisation_other = "" if organisation_id else applicant.organisation.strip()
    arrival = places.arrival(owner, email, organisation_id, organisation_other)
    # Read before the commit, which expires them.
    title, closed_group = event.title, owner.is_moderated
    if arrival.registered_id is not None:
        existing = db.session.get(Registration, arrival.registered_id)
        position = places.waiting_position(existing)
        if staff is None:
            _remind_already_registered(existing, position, now)
        db.session.commit()
        return Outcome(existing, False, position, title, closed_group)

    people.ensure_person(email)
    status, reason = places.status_for_newcomer(owner, arrival)
    # One INSERT … RETURNING: the unit of work's bookkeeping was a fifth of a registration.
    registration = db.session.scalars(insert(Registration).returning(Registration), [{
        "first_name": applicant.first_name.strip(),
        "last_name": applicant.last_name.strip(),
        "email": applicant.email.strip(),
        "email_normalised": email,
        "organisation_id": organisation_id,
        "organisation_other": organisation_other,
        "role": applicant.role,
        "function": applicant.function.strip(),
        "remarks": applicant.remarks.strip(),
        "needs": applicant.needs.strip(),
        "status": status,
        "waiting_reason": reason,
        **places.enrolment(owner),
    }]).one()
    position = places.waiting_position(registration)
    notifications.queue(notifications.STATUS_MAIL[registration.status], registration,
                        position=position)
    db.session.commit()
    return Outcome(registration, True, position, title, closed_group)


def _remind_already_registered(registration: Registration, position: int | None,
                               now: datetime) -> None:
    """The page answers a known address as it answers a new one; the mail tells the owner of
    the address where they stand. One such mail an hour per address, however often and for
    however many activities someone tries."""
    told = db.session.scalar(
        select(OutboxMessage.id)
        .join(Registration, Registration.id == OutboxMessage.registration_id)
        .where(OutboxMessage.kind == "already_registered",
               Registration.email_normalised == registration.email_normalised,
               OutboxMessage.created_at > now - timedelta(hours=1))
        .limit(1))
    if told is None:
        notifications.queue("already_registered", registration, position=position)


def cancel_registration(token: str, now: datetime | None = None) -> tuple[Registration, list]:
    """Cancel the registration behind ``token`` and give its place to the first in line.

    Returns the cancelled registration and the registrations promoted in the same transaction;
    the person and everyone promoted are mailed through the outbox in that transaction too.
    Raises AlreadyCancelledError when it was no longer active, and RegistrationClosedError
    once the activity (or the last session of the series) has started.
    """
    now = now or utcnow()
    registration = find_by_personal_token(token)
    if registration is None:
        raise LookupError(token)
    event_id = registration.event_id or _next_session_id(registration.series_id, now)
    if event_id is None:
        raise RegistrationClosedError("Deze activiteit is voorbij of gaat niet door; annuleren kan "
                                      "niet meer.")
    _event, owner = places.lock(event_id)
    db.session.refresh(registration)
    if registration.status is RegistrationStatus.handed_over:
        db.session.rollback()
        raise AlreadyCancelledError("Je hebt je plaats overgedragen; er is niets meer te "
                                    "annuleren.")
    if not registration.is_active:
        db.session.rollback()
        raise AlreadyCancelledError()
    if registration.event is not None and registration.event.has_started(now):
        db.session.rollback()
        raise RegistrationClosedError("Deze activiteit is al begonnen; annuleren kan niet meer.")
    if registration.event is not None and registration.event.is_cancelled:
        db.session.rollback()
        raise RegistrationClosedError("Deze activiteit gaat niet door; je hoeft niet te annuleren.")
    registration.cancelled_at = now
    promoted = release_place(registration, RegistrationStatus.cancelled, owner,
                             "cancelled_by_person",
                             with_calendar=registration.status is RegistrationStatus.confirmed)
    db.session.commit()
    return registration, promoted


def send_overview(email: str, now: datetime | None = None) -> bool:
    """Mail a person their registrations that still matter, each with its personal link, and
    their personal feed. Returns whether a mail was queued: none for an address without any
    (the page that asks says the same either way)."""
    now = now or utcnow()
    address = people.normalise_email(email)
    found = db.session.scalars(
        select(Registration)
        .options(selectinload(Registration.event),
                 selectinload(Registration.series).selectinload(Series.events))
        .where(Registration.email_normalised == address,
               Registration.status.in_(ACTIVE_STATUSES), Registration.anonymised_at.is_(None))
        .order_by(Registration.id)
    ).all()
    current = [r for r in found if not places.is_over(r.places_owner, now)]
    if not current:
        db.session.rollback()
        return False
    person = people.find_person(address)
    notifications.queue_overview(current, person.feed_token if person else None)
    db.session.commit()
    return True


def details_version(registration: Registration) -> str:
    """What the details form remembers of the values it showed, to notice a save in between
    (another tab, a colleague at the same computer)."""
    shown = "\x1f".join((registration.first_name, registration.last_name,
                         registration.function, registration.needs))
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def correction_refused(registration: Registration, now: datetime) -> str | None:
    """Why a person can no longer correct their details, in Dutch; None while they can."""
    if not registration.is_active or places.is_over(registration.places_owner, now):
        return ("Deze inschrijving is niet meer actief, of de activiteit is voorbij of "
                "geannuleerd; je gegevens aanpassen kan niet meer.")
    return None


def correct_details(token: str, details: OwnDetails, seen_version: str | None = None,
                    now: datetime | None = None) -> Registration:
    """Store a person's corrected name, function and needs. Refused (SchedulerError) once
    the registration is no longer active or its activity is over (nobody reads them then),
    and EditConflictError when they changed since the form was shown."""
    now = now or utcnow()
    registration = find_by_personal_token(token)
    if registration is None:
        raise LookupError(token)
    refusal = correction_refused(registration, now)
    if refusal is not None:
        db.session.rollback()
        raise SchedulerError(refusal)
    if seen_version is not None and seen_version != details_version(registration):
        db.session.rollback()
        raise EditConflictError("Je gegevens werden intussen aangepast (in een ander venster?). "
                                "Hieronder staan ze zoals ze nu zijn; breng je wijziging "
                                "opnieuw aan.")
    renamed = (registration.first_name, registration.last_name) != (
        details.first_name.strip(), details.last_name.strip())
    registration.first_name = details.first_name.strip()
    registration.last_name = details.last_name.strip()
    registration.function = details.function.strip()
    registration.needs = details.needs.strip()
    if renamed:
        # A new name on a place is worth knowing in a closed group; what it was is not kept.
        audit.record(None, "registration.rename", "registration", registration.id,
                     "naam aangepast door de persoon zelf")
        # Between two sessions of a series an attestation may already carry the old name.
        attestations.bring_up_to_date(registration)
    db.session.commit()
    return registration


def find_by_personal_token(token: str) -> Registration | None:
    """The registration behind a personal link, with its activity or series."""
    query = select(Registration).options(
        joinedload(Registration.event), joinedload(Registration.series)
    )
    return find_by_token(query, Registration.token, token)


def release_place(registration: Registration, status: RegistrationStatus,
                  owner: places.Owner, mail_kind: str,
                  with_calendar: bool = True) -> list[Registration]:
    """End a registration, hand its place to the waiting list and mail everyone concerned.

    The caller holds the lock on the places and commits.
    """
    registration.status = status
    registration.waiting_reason = None
    forget_requested_hand_over(registration)
    notifications.queue(mail_kind, registration, with_calendar=with_calendar)
    return fill_from_waiting_list(owner)


def requested_hand_over(registration: Registration) -> Registration | None:
    """The colleague proposed to take over this place, while staff have not decided."""
    proposed = registration.handed_over_to
    if proposed is not None and proposed.status is RegistrationStatus.handover_requested:
        return proposed
    return None


def forget_requested_hand_over(registration: Registration) -> None:
    """Drop a hand-over that waits for approval, when the place goes otherwise or staff
    refuse it. The caller holds the lock on the places and commits."""
    proposed = requested_hand_over(registration)
    if proposed is not None:
        registration.handed_over_to = None
        registration.handed_over_to_name = ""
        set_aside(proposed)
    db.session.flush()


def set_aside(proposed: Registration) -> None:
    """A colleague's proposed registration that will not be: they were never told, so
    nothing of them is kept. The row stays, nameless, so that its id is never given to
    another (SQLite reuses the highest) and a stale button cannot act on someone else."""
    proposed.status = RegistrationStatus.declined
    proposed.first_name = proposed.last_name = proposed.email = proposed.function = ""
    proposed.email_normalised = f"anoniem-{proposed.id}"
    proposed.token = f"anon{proposed.id}"
    proposed.anonymised_at = utcnow()


def fill_from_waiting_list(owner: places.Owner) -> list[Registration]:
    """Give free places to the waiting list in order and mail those promoted.

    The caller holds the lock on the places and commits.
    """
    promoted = places.fill_free_places(owner)
    notifications.queue_promotions(promoted)
    return promoted


def _check_open(event: Event, now: datetime) -> None:
    window = event.registration_window_state(now)
    if not event.is_published:
        db.session.rollback()
        raise EventNotOpenError()
    if window is RegistrationWindow.not_yet:
        db.session.rollback()
        raise RegistrationNotOpenYetError()
    if window is RegistrationWindow.closed:
        db.session.rollback()
        raise RegistrationClosedError()


def _next_session_id(series_id: int | None, now: datetime) -> int | None:
    return db.session.scalar(
        select(Event.id)
        .where(Event.series_id == series_id, Event.status == EventStatus.published,
               Event.starts_at > now)
        .order_by(Event.starts_at)
        .limit(1)
    )
