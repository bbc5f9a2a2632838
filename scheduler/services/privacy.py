"""Personal data: anonymise it after the retention period, and answer access and erasure requests.

Anonymising keeps what the reach report needs (organisation, role, status, attendance) and
removes what identifies a person (names, e-mail, function, remarks, personal links, mails).
An attestation of attendance keeps its own copy of what it states (name, organisation,
activity, dates, hours), so a third party can verify it for ATTESTATION_RETENTION_YEARS after
the activity; an erasure request deletes it at once.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import selectinload

from scheduler import labels
from scheduler.dates import start_of_day
from scheduler.extensions import db
from scheduler.models import (
    ACTIVE_STATUSES,
    Attestation,
    AuditEntry,
    EvaluationInvitation,
    Event,
    OutboxMessage,
    Person,
    Registration,
    RegistrationStatus,
    StaffUser,
    TrainingRequest,
    utcnow,
)
from scheduler.services import audit, evaluations, materials, places
from scheduler.services.people import normalise_email
from scheduler.services.registrations import fill_from_waiting_list, forget_requested_hand_over
from scheduler.services.requests import REQUEST_STATUS


@dataclass(frozen=True)
class PurgeReport:
    registrations: int
    messages: int
    people: int
    requests: int = 0
    needs: int = 0
    attestations: int = 0
    evaluation_links: int = 0
    material_files: int = 0


def _ended_before(cutoff: datetime):
    """Registrations whose activity, or every session of whose series, ended before cutoff."""
    last_end = (
        select(func.max(Event.ends_at)).where(places.covers_event()).correlate(Registration)
        .scalar_subquery()
    )
    return last_end < cutoff


def purge(now: datetime | None = None, months: int = 12, dry_run: bool = False) -> PurgeReport:
    """Anonymise registrations ``months`` after their activity, with their mails and people,
    and training requests ``months`` after they came in; delete expired attestations, the
    links of closed evaluation forms and material files no material refers to.

    What is due is worked out first; a dry run reports exactly that and changes nothing (it
    rolls back what it read), so it says what a real run at the same moment would report.
    Idempotent: anonymised registrations are skipped. Logged in the audit log (counts only).
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=round(months * 30.44))
    due = select(Registration.id).where(Registration.anonymised_at.is_(None), _ended_before(cutoff))
    ids = db.session.scalars(due).all()
    emails = set(db.session.scalars(
        select(Registration.email_normalised).where(Registration.id.in_(ids))))
    gone = _addresses_only_in(ids, emails)
    messages = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.registration_id.in_(ids)))
    request_ids = db.session.scalars(select(TrainingRequest.id).where(
        TrainingRequest.anonymised_at.is_(None), TrainingRequest.created_at < cutoff)).all()
    # Needs go the day after the activity: by then nobody has to prepare for them.
    with_needs = db.session.scalars(select(Registration.id).where(
        Registration.needs != "", _ended_before(start_of_day(now)))).all()
    expired = db.session.scalars(
        select(Attestation.id).where(Attestation.verifiable_until < now)).all()
    if dry_run:
        evaluation_links = evaluations.purge(now, dry_run=True)
        material_files = materials.purge(now, dry_run=True)
        db.session.rollback()
        return PurgeReport(len(ids), messages, len(gone), len(request_ids), len(with_needs),
                           len(expired), evaluation_links, material_files)
    _anonymise(ids, now)
    people = _delete_people(gone)
    _delete_attestations(expired)
    evaluation_links = evaluations.purge(now)
    _anonymise_requests(request_ids, now)
    for start in range(0, len(with_needs), 500):
        db.session.execute(
            update(Registration).where(Registration.id.in_(with_needs[start:start + 500]))
            .values(needs="").execution_options(synchronize_session=False))
    audit.record(None, "privacy.purge", "registration", None,
                 f"{len(ids)} inschrijvingen, {messages} mails, {people} personen, "
                 f"{len(request_ids)} aanvragen, {len(with_needs)} noden, "
                 f"{len(expired)} attesten, {evaluation_links} evaluatielinks")
    db.session.commit()
    # Files go once no row refers to them any more: after the commit.
    material_files = materials.purge(now)
    return PurgeReport(len(ids), messages, people, len(request_ids), len(with_needs),
                       len(expired), evaluation_links, material_files)


def _addresses_only_in(ids: list[int], emails: set[str]) -> list[str]:
    """The addresses among ``emails`` that no registration other than ``ids`` uses: their
    person (and personal feed) goes with these registrations."""
    if not emails:
        return []
    leaving = set(ids)
    still_used = {email for registration_id, email in db.session.execute(
        select(Registration.id, Registration.email_normalised)
        .where(Registration.email_normalised.in_(emails))) if registration_id not in leaving}
    return sorted(emails - still_used)


def _delete_attestations(ids: list[int]) -> None:
    """Delete these attestations; one that a deleted one replaced says "no longer valid"."""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(
            update(Attestation).where(Attestation.replaced_by_id.in_(chunk))
            .values(replaced_by_id=None).execution_options(synchronize_session=False))
        db.session.execute(delete(Attestation).where(Attestation.id.in_(chunk))
                           .execution_options(synchronize_session=False))


def _anonymise_requests(ids: list[int], now: datetime) -> None:
    """Training requests keep the organisation, audience and chosen parts; the contact goes."""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(
            delete(OutboxMessage).where(OutboxMessage.training_request_id.in_(chunk)))
        db.session.execute(
            update(TrainingRequest).where(TrainingRequest.id.in_(chunk)).values(
                contact_name="", email="", phone="", local_questions="", internal_notes="",
                anonymised_at=now,
            ).execution_options(synchronize_session=False)
        )


def _anonymise(ids: list[int], now: datetime) -> None:
    """Remove the personal data of these registrations (their people: _delete_people)."""
    number = cast(Registration.id, String)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.registration_id.in_(chunk)))
        # Short tokens never match a personal link (16 characters or more): the page is gone.
        db.session.execute(
            update(Registration).where(Registration.id.in_(chunk)).values(
                first_name="", last_name="", email="", function="", remarks="", needs="",
                handed_over_to_name="", email_normalised=literal("anoniem-") + number,
                token=literal("anon") + number, anonymised_at=now,
            ).execution_options(synchronize_session=False)
        )
        # The name someone typed when handing their place to this person goes with them.
        db.session.execute(
            update(Registration).where(Registration.handed_over_to_id.in_(chunk))
            .values(handed_over_to_name="").execution_options(synchronize_session=False))
        evaluations.forget_registrations(chunk)


def _delete_people(addresses: list[str]) -> int:
    """Delete the people (with their personal feeds) of these addresses that no registration
    uses now: one who registered again since they were counted keeps theirs. Returns how many
    were deleted."""
    deleted = 0
    for start in range(0, len(addresses), 500):
        unused = ~exists().where(Registration.email_normalised == Person.email_normalised)
        deleted += db.session.execute(
            delete(Person).where(Person.email_normalised.in_(addresses[start:start + 500]),
                                 unused).execution_options(synchronize_session=False)).rowcount
    return deleted


def _requests_of(address: str):
    return select(TrainingRequest).where(
        func.lower(func.trim(TrainingRequest.email)) == address,
        TrainingRequest.anonymised_at.is_(None))


def lookup(email: str) -> dict:
    """Everything held about an e-mail address, as plain data for a page or a JSON export:
    registrations, training requests, the mails about either, and staff actions on them."""
    address = normalise_email(email)
    registrations = db.session.scalars(
        select(Registration)
        .options(selectinload(Registration.event), selectinload(Registration.series),
                 selectinload(Registration.organisation))
        .where(Registration.email_normalised == address)
        .order_by(Registration.id)
    ).all()
    ids = [r.id for r in registrations]
    requests = db.session.scalars(_requests_of(address).order_by(TrainingRequest.id)
                                  .options(selectinload(TrainingRequest.organisation))).all()
    request_ids = [r.id for r in requests]
    about = [condition for condition, rows in (
        (OutboxMessage.registration_id.in_(ids), ids),
        (OutboxMessage.training_request_id.in_(request_ids), request_ids)) if rows]
    messages = db.session.scalars(
        select(OutboxMessage).where(or_(*about)).order_by(OutboxMessage.id)
    ).all() if about else []
    acted_on = [condition for condition, rows in (
        ((AuditEntry.subject_type == "registration") & AuditEntry.subject_id.in_(ids), ids),
        ((AuditEntry.subject_type == "request") & AuditEntry.subject_id.in_(request_ids),
         request_ids)) if rows]
    history = db.session.scalars(
        select(AuditEntry).where(or_(*acted_on)).order_by(AuditEntry.id)
    ).all() if acted_on else []
    person = db.session.scalars(select(Person).where(Person.email_normalised == address)).first()
    issued = db.session.scalars(
        select(Attestation).where(Attestation.registration_id.in_(ids)).order_by(Attestation.id)
    ).all() if ids else []
    invited = db.session.execute(
        select(Event.title, EvaluationInvitation.is_used)
        .join(Event, Event.id == EvaluationInvitation.event_id)
        .where(EvaluationInvitation.registration_id.in_(ids))
        .order_by(EvaluationInvitation.id)).all() if ids else []
    named = db.session.scalars(
        select(Registration).options(selectinload(Registration.event),
                                     selectinload(Registration.series))
        .where(Registration.handed_over_to_id.in_(ids), Registration.handed_over_to_name != "")
    ).all() if ids else []
    return {
        "email": address,
        "personal_feed": bool(person),
        "registrations": [{
            "activity": r.places_owner.title,
            "status": r.status.value, "status_label": labels.REGISTRATION_STATUS[r.status],
            "first_name": r.first_name, "last_name": r.last_name, "email": r.email,
            "organisation": r.organisation_name, "role": r.role.value, "function": r.function,
            "remarks": r.remarks, "needs": r.needs,
            "handed_over_to": r.handed_over_to_name,
            "registered_at": r.created_at.isoformat(),
        } for r in registrations],
        # What someone else typed about this person when handing them a place.
        "named_in_hand_overs": [{"activity": r.places_owner.title, "name": r.handed_over_to_name}
                                for r in named],
        "training_requests": [{
            "organisation": r.organisation_name, "contact_name": r.contact_name,
            "email": r.email, "phone": r.phone, "audience": r.audience.value,
            "expected_count": r.expected_count, "preferred_dates": r.preferred_dates,
            "local_questions": r.local_questions, "status": r.status.value,
            "status_label": REQUEST_STATUS[r.status],
            "notes_of_staff": r.internal_notes, "received_at": r.created_at.isoformat(),
        } for r in requests],
        "mails": [{
            "subject": labels.mail_title(m), "status": m.status.value,
            "queued_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        } for m in messages],
        "staff_actions": [{
            "action": entry.action, "at": entry.created_at.isoformat(),
        } for entry in history],
        "attestations": [{
            "activity": a.title, "name": a.person_name, "organisation": a.organisation_name,
            "code": a.code, "minutes": a.minutes, "issued_at": a.issued_at.isoformat(),
            "valid": a.is_valid, "verifiable_until": a.verifiable_until.isoformat(),
        } for a in issued],
        # Whether a form was sent and used; the answers themselves are not tied to anyone.
        "evaluations": [{"activity": title, "answered": used} for title, used in invited],
    }


def erase(email: str, staff: StaffUser, now: datetime | None = None) -> int:
    """Remove everything held about an e-mail address now; the audit log keeps only the fact.

    A registration that still holds or waits for a place is cancelled first, so its place
    goes to the first in line; the person is not mailed (their address is what goes). Returns
    the number of registrations erased; erasing what is already gone changes and logs nothing.
    """
    now = now or utcnow()
    address = normalise_email(email)
    held, owners = _lock_places_held_by(address)
    proposals = [r for r in held if r.status is RegistrationStatus.handover_requested]
    for proposed in proposals:
        # Proposed by a colleague and never told: the proposal goes, the place stays.
        forget_requested_hand_over(db.session.scalars(select(Registration).where(
            Registration.handed_over_to_id == proposed.id)).one())
    for registration in held:
        if registration in proposals:
            continue
        if places.takes_places(registration.places_owner, now):
            registration.status = RegistrationStatus.cancelled
            registration.cancelled_at = now
            registration.waiting_reason = None
        forget_requested_hand_over(registration)
    db.session.flush()
    for owner in owners:
        fill_from_waiting_list(owner)
    # An active registration made meanwhile for an activity not locked here is left alone:
    # it came after the request, and anonymising it would leave a nameless place held.
    locked_events = [owner.id for owner in owners if isinstance(owner, Event)]
    locked_series = [owner.id for owner in owners if not isinstance(owner, Event)]
    ids = db.session.scalars(select(Registration.id).where(
        Registration.email_normalised == address, Registration.anonymised_at.is_(None),
        or_(Registration.status.not_in(ACTIVE_STATUSES), Registration.event_id.in_(locked_events),
            Registration.series_id.in_(locked_series)))).all()
    request_ids = db.session.scalars(
        _requests_of(address).with_only_columns(TrainingRequest.id)).all()
    had_feed = db.session.execute(
        delete(Person).where(Person.email_normalised == address)).rowcount
    if not (ids or request_ids or had_feed or proposals):
        db.session.rollback()
        return 0
    # The person of this address went above, whatever else still refers to it.
    _anonymise(ids, now)
    _delete_attestations(db.session.scalars(
        select(Attestation.id).where(Attestation.registration_id.in_(ids))).all())
    _anonymise_requests(request_ids, now)
    audit.record(staff, "privacy.erase", "registration", None,
                 f"gegevens van één persoon gewist ({len(ids)} inschrijvingen, "
                 f"{len(request_ids)} aanvragen)")
    db.session.commit()
    return len(ids)


def _lock_places_held_by(address: str) -> tuple[list[Registration], list[places.Owner]]:
    """Lock the places of every activity this address holds or waits for a place in, and
    return those registrations as they are under the lock, with the owners locked.

    The registrations are read again once their places are locked; when one turned up for
    another activity in between, the lock is taken again with it (nothing is written yet).
    """
    wanted: dict[tuple[str, int], places.Owner] = {}
    while True:
        owners = places.lock_all(list(wanted.values()))
        held = db.session.scalars(
            select(Registration)
            .options(selectinload(Registration.event), selectinload(Registration.series))
            .where(Registration.email_normalised == address,
                   Registration.status.in_(
                       (*ACTIVE_STATUSES, RegistrationStatus.handover_requested)))).all()
        found = {(type(r.places_owner).__name__, r.places_owner.id): r.places_owner
                 for r in held}
        if found.keys() <= wanted.keys():
            return list(held), owners
        wanted |= found
