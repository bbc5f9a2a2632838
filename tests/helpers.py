"""Shared test helpers: what people and staff type in, and how a test reads back the outcome."""

from datetime import timedelta

import icalendar
from ical.calendar_stream import IcsCalendarStream
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import (
    Event,
    EventKind,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Role,
    utcnow,
)
from scheduler.services import notifications, places, planning
from scheduler.services.registrations import Applicant


def applicant(number: int = 1, **overrides) -> Applicant:
    """A person from Gent, numbered so that every address differs."""
    fields = {
        "first_name": "An",
        "last_name": f"Peeters {number}",
        "email": f"an{number}@example.org",
        "organisation": "Gent",
        "role": Role.medewerker,
    }
    fields.update(overrides)
    return Applicant(**fields)


def form_data(number: int = 1, **overrides) -> dict:
    """The public registration form as a browser posts it."""
    data = {
        "first_name": "An",
        "last_name": f"Peeters {number}",
        "email": f"an{number}@example.org",
        "organisation": "Gent",
        "role": "medewerker",
        "function": "Preventiewerker",
        "remarks": "",
        "consent": "y",
    }
    data.update(overrides)
    return data


def event_form(**overrides) -> dict:
    """The staff form of an activity, as a browser posts it."""
    data = {
        "kind": "training", "audience": "both", "title": "Nieuwe vorming", "slug": "nieuwe-vorming",
        "summary": "Kort", "description": "**Vet**", "day": "2031-03-11", "start_time": "13:30",
        "end_time": "16:00", "venue": "Stadhuis", "address": "Markt 1", "municipality": "Mechelen",
        "capacity": "20",
    }
    data.update(overrides)
    return data


def statuses(target) -> list[tuple[RegistrationStatus, int | None]]:
    """(status, waiting position) of every registration of an activity or series, in order."""
    db.session.expire_all()
    rows = db.session.scalars(places.registrations_of(target).order_by(Registration.id))
    return [(r.status, places.waiting_position(r)) for r in rows]


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']}: {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def parse(body: bytes) -> icalendar.Calendar:
    """Parse with both libraries; the strict one raises on anything out of spec."""
    IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))
    return icalendar.Calendar.from_ical(body)


def vevents(body: bytes) -> dict[str, icalendar.Event]:
    return {str(event["uid"]): event for event in parse(body).walk("VEVENT")}


def event_fields(event: Event, **changes) -> planning.EventFields:
    """The activity's form as staff would save it, with ``changes``."""
    fields = {
        "kind": event.kind, "title": event.title, "slug": event.slug,
        "starts_at": event.starts_at, "ends_at": event.ends_at, "venue": event.venue,
        "capacity": event.capacity, "max_per_organisation": event.max_per_organisation,
        "is_moderated": event.is_moderated,
    }
    fields.update(changes)
    return planning.EventFields(**fields)


def personal_link(email: str) -> str:
    """The personal page of the latest registration of an address: the link its mail holds."""
    db.session.expire_all()
    registration = db.session.scalars(
        select(Registration).where(Registration.email_normalised == email.strip().lower())
        .order_by(Registration.id.desc())).first()
    return f"/inschrijving/{registration.token}"


def published_training(capacity: int | None = 10, slug: str = "vorming") -> Event:
    """A published training ten days from now, for tests that build their own app (the
    ``make_event`` factory belongs to the ``app`` fixture)."""
    starts_at = utcnow() + timedelta(days=10)
    event = Event(kind=EventKind.training, status=EventStatus.published, title="Vorming",
                  slug=slug, starts_at=starts_at, ends_at=starts_at + timedelta(hours=3),
                  capacity=capacity)
    db.session.add(event)
    db.session.commit()
    return event


def words(message: OutboxMessage) -> notifications.Words:
    """What a queued mail says, composed as the sender composes it."""
    if message.facts is None or message.text_body:
        return notifications.Words.kept_in(message)
    return notifications.compose(message)
