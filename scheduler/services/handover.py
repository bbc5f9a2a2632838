"""Handing a place over to a colleague of the same organisation.

The place never leaves the organisation and never passes through the waiting list: the
colleague takes it the moment the original gives it up, so nobody waiting is overtaken and
the maximum per organisation holds. For a closed group (moderated) staff approve the
hand-over first and the original keeps the place until then. For a series the hand-over
covers the sessions still to come.

What the original's page and mails say never depends on whether the colleague's address was
registered already: otherwise a hand-over would tell anyone who registers whether a given
address did. (The public count of places can differ, as it does when someone registers a
stranger's address; the owner of the address is mailed either way, so a probe shows.)
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    ACTIVE_STATUSES,
    Registration,
    RegistrationStatus,
    RegistrationWindow,
    Role,
    Series,
    StaffUser,
    utcnow,
)
from scheduler.services import audit, notifications, people, places
from scheduler.services import registrations as registration_service


@dataclass(frozen=True)
class Colleague:
    """Who takes over the place, as the original fills them in."""

    first_name: str
    last_name: str
    email: str
    role: Role
    function: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name.strip()} {self.last_name.strip()}"


def refusal(registration: Registration, now: datetime) -> str | None:
    """Why this registration cannot be handed over now, in Dutch; None when it can."""
    if registration.status is RegistrationStatus.pending:
        return "Je inschrijving wacht nog op goedkeuring; overdragen kan zodra ze goedgekeurd is."
    if registration.status is RegistrationStatus.waiting:
        return "Je staat op de wachtlijst: je hebt nog geen plaats om over te dragen."
    if registration.status is RegistrationStatus.handed_over:
        return f"Je hebt je plaats al overgedragen aan {registration.handed_over_to_name}."
    if registration.status is not RegistrationStatus.confirmed:
        return "Deze inschrijving is niet meer actief."
    if registration_service.requested_hand_over(registration) is not None:
        return "Je vroeg al om je plaats over te dragen; die vraag wacht op goedkeuring."
    return _closed_because(registration.places_owner, now)


def _closed_because(owner: places.Owner, now: datetime, *,
                    by_staff: bool = False) -> str | None:
    """Why no place of this activity changes hands now. Staff may still decide about a
    hand-over asked before registration closed, until the activity starts."""
    sessions = owner.events if isinstance(owner, Series) else [owner]
    if any(s.is_published and s.has_started(now) and not s.has_ended(now) for s in sessions):
        return "De activiteit is bezig; overdragen kan niet meer."
    upcoming = sorted((s for s in sessions if s.is_published and not s.has_started(now)),
                      key=lambda session: session.starts_at)
    if not upcoming:
        return "Deze activiteit is begonnen, voorbij of gaat niet door; overdragen kan niet meer."
    if not by_staff and upcoming[0].registration_window_state(now) is RegistrationWindow.closed:
        return "De inschrijvingen zijn gesloten; overdragen kan niet meer."
    return None


def hand_over(token: str, colleague: Colleague, now: datetime | None = None) -> Registration:
    """Give the place behind ``token`` to a colleague, or ask staff to for a closed group.

    Returns the original registration. Raises SchedulerError (Dutch) when the place cannot
    be handed over: not confirmed, a request already waiting, the activity begun, over or
    closed for registration, or the colleague's address is the person's own.
    """
    now = now or utcnow()
    registration = registration_service.find_by_personal_token(token)
    if registration is None:
        raise LookupError(token)
    owner = _lock(registration)
    address = people.normalise_email(colleague.email)
    reason = refusal(registration, now)
    if reason is None and address == registration.email_normalised:
        reason = "Dat is je eigen e-mailadres: vul dat van je collega in."
    if reason is not None:
        db.session.rollback()
        raise SchedulerError(reason)
    proposed = Registration(
        first_name=colleague.first_name.strip(), last_name=colleague.last_name.strip(),
        email=colleague.email.strip(), email_normalised=address,
        organisation_id=registration.organisation_id,
        organisation_other=registration.organisation_other,
        role=colleague.role, function=colleague.function.strip(),
        status=RegistrationStatus.handover_requested,
    )
    places.enrol(proposed, owner)
    db.session.add(proposed)
    db.session.flush()
    registration.handed_over_to = proposed
    registration.handed_over_to_name = colleague.name
    if owner.is_moderated:
        notifications.queue("handover_requested", registration, with_calendar=False)
        audit.record(None, "registration.handover_request", "registration", registration.id,
                     f"overdracht gevraagd aan inschrijving {proposed.id}")
    else:
        _complete(registration, proposed, owner, now)
        audit.record(None, "registration.handover", "registration", registration.id,
                     f"plaats overgedragen aan inschrijving {registration.handed_over_to_id}")
    db.session.commit()
    return registration


def approve(proposed: Registration, event_id: int, staff: StaffUser) -> None:
    """Staff agree to a hand-over in a closed group: the colleague gets the place now."""
    now = utcnow()
    original, owner = _lock_request(proposed, event_id)
    reason = _closed_because(owner, now, by_staff=True)
    if reason is not None:
        db.session.rollback()
        raise SchedulerError(reason)
    _complete(original, proposed, owner, now)
    audit.record(staff, "registration.handover_approve", "registration", original.id,
                 f"plaats overgedragen aan inschrijving {original.handed_over_to_id}")
    db.session.commit()


def refuse(proposed: Registration, event_id: int, staff: StaffUser) -> None:
    """Staff refuse a hand-over: the original keeps the place and hears so (not once the
    activity began or is off: then there is nothing to keep); the colleague was never told,
    so nothing of them is kept."""
    original, owner = _lock_request(proposed, event_id)
    if places.takes_places(owner, utcnow()):
        notifications.queue("handover_refused", original, with_calendar=False)
    registration_service.forget_requested_hand_over(original)
    audit.record(staff, "registration.handover_refuse", "registration", original.id,
                 f"overdracht aan inschrijving {proposed.id} geweigerd")
    db.session.commit()


def _lock(registration: Registration) -> places.Owner:
    if registration.event_id is not None:
        _event, owner = places.lock(registration.event_id)
    else:
        owner = places.lock_owner(registration.series)
    db.session.refresh(registration)
    return owner


def _lock_request(proposed: Registration, event_id: int) -> tuple[Registration, places.Owner]:
    _event, owner = places.lock(event_id)
    db.session.refresh(proposed)
    original = db.session.scalars(
        select(Registration).where(Registration.handed_over_to_id == proposed.id)).first()
    if (proposed.status is not RegistrationStatus.handover_requested or original is None
            or original.status is not RegistrationStatus.confirmed):
        db.session.rollback()
        raise SchedulerError("Deze overdracht wacht niet (meer) op goedkeuring.")
    return original, owner


def _complete(original: Registration, proposed: Registration, owner: places.Owner,
              now: datetime) -> None:
    """The colleague takes the place. When their address already waits for a place for the
    same organisation, that registration gets it; when it holds one, or waits for another
    organisation, the place goes to the waiting list in order."""
    existing = db.session.scalars(
        places.registrations_of(owner).where(
            Registration.email_normalised == proposed.email_normalised,
            Registration.status.in_(ACTIVE_STATUSES))).first()
    original.status = RegistrationStatus.handed_over
    original.cancelled_at = now
    original.needs = ""  # nobody prepares for someone who no longer comes
    if existing is None:
        people.ensure_person(proposed.email_normalised)
        proposed.status = RegistrationStatus.confirmed
        taker, kind = proposed, "handover_received"
    else:
        original.handed_over_to = existing
        registration_service.set_aside(proposed)
        taker, kind = existing, "handover_not_needed"
        same_organisation = (existing.organisation_id, existing.organisation_other) == (
            original.organisation_id, original.organisation_other)
        if existing.status is RegistrationStatus.waiting and same_organisation:
            existing.status = RegistrationStatus.confirmed
            existing.waiting_reason = None
            kind = "handover_received"
    db.session.flush()
    notifications.queue("handed_over", original)
    taken_over = kind == "handover_received"
    notifications.queue(kind, taker, with_calendar=taken_over,
                        extra=f"Je neemt de plaats over van {original.first_name} "
                              f"{original.last_name}." if taken_over else "")
    registration_service.fill_from_waiting_list(owner)
