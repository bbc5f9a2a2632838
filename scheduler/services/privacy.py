"""Personal data: anonymise it after the retention period, and answer access and erasure requests.

Anonymising keeps what the reach report needs (organisation, role, status, attendance) and
removes what identifies a person (names, e-mail, function, remarks, personal links, mails).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, func, literal, select, update

from scheduler.extensions import db
from scheduler.models import (
    Event,
    OutboxMessage,
    Person,
    Registration,
    StaffUser,
    TrainingRequest,
    utcnow,
)
from scheduler.services import audit, places
from scheduler.services.people import normalise_email


@dataclass(frozen=True)
class PurgeReport:
    registrations: int
    messages: int
    people: int
    requests: int = 0


def _ended_before(cutoff: datetime):
    """Registrations whose activity, or every session of whose series, ended before cutoff."""
    last_end = (
        select(func.max(Event.ends_at)).where(places.covers_event()).correlate(Registration)
        .scalar_subquery()
    )
    return last_end < cutoff


def purge(now: datetime | None = None, months: int = 12, dry_run: bool = False) -> PurgeReport:
    """Anonymise registrations ``months`` after their activity, with their mails and people,
    and training requests ``months`` after they came in.

    Idempotent: anonymised registrations are skipped. Logged in the audit log (counts only).
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=round(months * 30.44))
    due = select(Registration.id).where(Registration.anonymised_at.is_(None), _ended_before(cutoff))
    ids = db.session.scalars(due).all()
    emails = set(db.session.scalars(
        select(Registration.email_normalised).where(Registration.id.in_(ids))))
    messages = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.registration_id.in_(ids)))
    request_ids = db.session.scalars(select(TrainingRequest.id).where(
        TrainingRequest.anonymised_at.is_(None), TrainingRequest.created_at < cutoff)).all()
    if dry_run:
        db.session.rollback()
        return PurgeReport(len(ids), messages, 0, len(request_ids))
    people = _anonymise(ids, emails, now)
    _anonymise_requests(request_ids, now)
    audit.record(None, "privacy.purge", "registration", None,
                 f"{len(ids)} inschrijvingen, {messages} mails, {people} personen, "
                 f"{len(request_ids)} aanvragen")
    db.session.commit()
    return PurgeReport(len(ids), messages, people, len(request_ids))


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


def _anonymise(ids: list[int], emails: set[str], now: datetime) -> int:
    """Remove the personal data of these registrations; returns the number of people removed."""
    if not ids:
        return 0
    number = cast(Registration.id, String)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.registration_id.in_(chunk)))
        # Short tokens never match a personal link (16 characters or more): the page is gone.
        db.session.execute(
            update(Registration).where(Registration.id.in_(chunk)).values(
                first_name="", last_name="", email="", function="", remarks="",
                email_normalised=literal("anoniem-") + number, token=literal("anon") + number,
                anonymised_at=now,
            ).execution_options(synchronize_session=False)
        )
    still_used = set(db.session.scalars(
        select(Registration.email_normalised).where(Registration.email_normalised.in_(emails))))
    gone = [email for email in emails if email not in still_used]
    if gone:
        db.session.execute(delete(Person).where(Person.email_normalised.in_(gone)))
    return len(gone)


def lookup(email: str) -> dict:
    """Everything held about an e-mail address, as plain data for a page or a JSON export."""
    address = normalise_email(email)
    registrations = db.session.scalars(
        select(Registration).where(Registration.email_normalised == address)
        .order_by(Registration.id)
    ).all()
    ids = [r.id for r in registrations]
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.registration_id.in_(ids))
        .order_by(OutboxMessage.id)
    ).all() if ids else []
    person = db.session.scalars(select(Person).where(Person.email_normalised == address)).first()
    return {
        "email": address,
        "personal_feed": bool(person),
        "registrations": [{
            "activity": r.places_owner.title,
            "status": r.status.value,
            "first_name": r.first_name, "last_name": r.last_name, "email": r.email,
            "organisation": r.organisation_name, "role": r.role.value, "function": r.function,
            "remarks": r.remarks, "registered_at": r.created_at.isoformat(),
        } for r in registrations],
        "mails": [{
            "subject": m.subject, "status": m.status.value, "queued_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        } for m in messages],
    }


def erase(email: str, staff: StaffUser, now: datetime | None = None) -> int:
    """Remove everything held about an e-mail address now; the audit log keeps only the fact."""
    address = normalise_email(email)
    ids = db.session.scalars(
        select(Registration.id).where(Registration.email_normalised == address)).all()
    _anonymise(ids, {address}, now or utcnow())
    db.session.execute(delete(Person).where(Person.email_normalised == address))
    audit.record(staff, "privacy.erase", "registration", None,
                 f"gegevens van één persoon gewist ({len(ids)} inschrijvingen)")
    db.session.commit()
    return len(ids)
