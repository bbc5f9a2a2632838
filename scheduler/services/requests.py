"""Training on request: a local government asks, staff discuss, plan it as an activity, publish."""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from scheduler import dates
from scheduler.extensions import db
from scheduler.links import public_url
from scheduler.models import (
    Audience,
    ContentBlock,
    Event,
    EventKind,
    EventStatus,
    OutboxMessage,
    RequestStatus,
    StaffUser,
    TrainingPart,
    TrainingRequest,
    utcnow,
)
from scheduler.services import audit, notifications
from scheduler.services.organisations import find_municipality

REQUEST_STATUS = {
    RequestStatus.new: "Nieuw",
    RequestStatus.in_discussion: "In bespreking",
    RequestStatus.planned: "Gepland",
    RequestStatus.declined: "Niet weerhouden",
    RequestStatus.done: "Afgerond",
}


@dataclass(frozen=True)
class RequestData:
    """What a local government fills in to ask for the training."""

    organisation: str
    contact_name: str
    email: str
    audience: Audience
    preferred_dates: str
    phone: str = ""
    expected_count: int | None = None
    part_ids: tuple[int, ...] = ()
    local_questions: str = ""


def list_parts(active_only: bool = True) -> list[TrainingPart]:
    query = select(TrainingPart).order_by(TrainingPart.position, TrainingPart.id)
    if active_only:
        query = query.where(TrainingPart.is_active.is_(True))
    return list(db.session.scalars(query))


def submit(data: RequestData) -> TrainingRequest:
    """Store the request and queue its confirmation mail in the same transaction."""
    organisation = find_municipality(data.organisation)
    request = TrainingRequest(
        organisation=organisation,
        organisation_other="" if organisation else data.organisation.strip(),
        contact_name=data.contact_name.strip(), email=data.email.strip(), phone=data.phone.strip(),
        audience=data.audience, expected_count=data.expected_count,
        preferred_dates=data.preferred_dates.strip(), local_questions=data.local_questions.strip(),
        parts=list(db.session.scalars(
            select(TrainingPart).where(TrainingPart.id.in_(data.part_ids),
                                       TrainingPart.is_active.is_(True)))),
    )
    db.session.add(request)
    db.session.flush()
    notifications.queue_notice(
        "request_received", recipient=request.email, recipient_name=request.contact_name,
        subject="We ontvingen je aanvraag voor de vorming",
        lead=f"Bedankt voor de aanvraag van {request.organisation_name}. We nemen binnen de "
             "vijf werkdagen contact met je op om de vorming samen voor te bereiden.",
        lines=tuple(part.title for part in request.parts), training_request_id=request.id,
    )
    db.session.commit()
    return request


def list_requests(status: RequestStatus | None = None) -> list[TrainingRequest]:
    query = select(TrainingRequest).options(
        db.joinedload(TrainingRequest.organisation)).order_by(TrainingRequest.created_at.desc())
    if status is not None:
        query = query.where(TrainingRequest.status == status)
    return list(db.session.scalars(query))


def update(request: TrainingRequest, status: RequestStatus, notes: str, staff: StaffUser) -> None:
    """Record the request's status and staff's internal notes."""
    request.status = status
    request.internal_notes = notes.strip()
    audit.record(staff, "request.update", "request", request.id, REQUEST_STATUS[status])
    db.session.commit()


def plan_as_activity(request: TrainingRequest, staff: StaffUser) -> Event:
    """A draft training pre-filled from the request and linked to it; staff finish and publish.

    The date is the first preferred date that can be read (else four weeks from now), 9.30–12.30.
    """
    later = (dates.local(utcnow()) + timedelta(weeks=4)).date()
    day = _first_date(request.preferred_dates) or later
    name = request.organisation_name
    slug_base = re.sub(r"[^a-z0-9]+", "-", f"vorming-{name}".lower()).strip("-")[:100]
    slug, number = slug_base, 2
    while db.session.scalar(select(Event.id).where(Event.slug == slug)):
        slug, number = f"{slug_base}-{number}", number + 1
    parts = "\n".join(f"- {part.title}" for part in request.parts) or "- het volledige basispakket"
    questions = f"\n\n## Lokale noden en vragen\n\n{request.local_questions}" \
        if request.local_questions else ""
    event = Event(
        kind=EventKind.training, status=EventStatus.draft,
        title=f"Vorming lokale aanpak van radicalisering – {name}", slug=slug,
        summary=f"Vorming op vraag van {name}.",
        description=f"## Onderdelen\n\n{parts}{questions}",
        starts_at=dates.brussels_to_utc(day, time(9, 30)),
        ends_at=dates.brussels_to_utc(day, time(12, 30)),
        municipality=request.organisation, audience=request.audience,
        capacity=request.expected_count, is_moderated=True,
    )
    db.session.add(event)
    db.session.flush()
    request.event_id = event.id
    request.status = RequestStatus.planned
    audit.record(staff, "request.plan", "request", request.id, f"activiteit {event.slug}")
    db.session.commit()
    return event


def notify_published(event: Event) -> None:
    """Tell the requesters of a training, once, that it is published; the caller commits.

    Publishing again after a spell as a draft mails nobody a second time.
    """
    linked = db.session.scalars(
        select(TrainingRequest).where(TrainingRequest.event_id == event.id,
                                      TrainingRequest.anonymised_at.is_(None))).all()
    keys = {f"request_published:{request.id}:{event.id}": request for request in linked}
    told = set(db.session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
    for key, request in keys.items():
        if key in told:
            continue
        notifications.queue_notice(
            "request_published", recipient=request.email, recipient_name=request.contact_name,
            subject=f"Gepland: {event.title}",
            lead="De vorming die je aanvroeg is gepland. Je collega's kunnen zich nu inschrijven "
                 "via deze pagina:",
            lines=(dates.format_when(event.starts_at, event.ends_at),),
            link=public_url("events.detail", slug=event.slug), training_request_id=request.id,
            dedupe_key=key,
        )


def _first_date(text: str):
    for token in re.findall(r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}", text):
        for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                day = datetime.strptime(token, pattern).date()
            except ValueError:
                continue
            if day > dates.local(utcnow()).date():
                return day
    return None


def get_block(key: str) -> ContentBlock | None:
    return db.session.scalars(select(ContentBlock).where(ContentBlock.key == key)).first()


def save_block(block: ContentBlock, title: str, body: str, staff: StaffUser) -> None:
    block.title, block.body = title.strip(), body.strip()
    audit.record(staff, "content.edit", "content", block.id, block.key)
    db.session.commit()


def save_part(part: TrainingPart | None, *, title: str, description: str, position: int,
              is_active: bool, staff: StaffUser) -> TrainingPart:
    """Create or edit a part of the basic package; inactive parts are no longer offered."""
    if part is None:
        part = TrainingPart()
        db.session.add(part)
    part.title, part.description = title.strip(), description.strip()
    part.position, part.is_active = position, is_active
    db.session.flush()
    audit.record(staff, "training_part.save", "training_part", part.id, part.title)
    db.session.commit()
    return part

