"""Notifications: which mail goes out for which change, composed completely when it is queued.

A mail is written to the outbox in the same transaction as the change it reports, with its
text, HTML and calendar part, so what is sent is what was true at the moment of the change.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.links import public_url
from scheduler.models import (
    Event,
    EventStatus,
    MailStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Series,
    utcnow,
)
from scheduler.services import calendar, places
from scheduler.services.outbox import clean_header, new_message_id


@dataclass(frozen=True)
class MailText:
    """What a kind of mail says; ``method`` is the iTIP method of its calendar part, if any."""

    subject: str
    lead: str
    method: str | None = None


KINDS = {
    "registration_confirmed": MailText(
        "Bevestiging: {title}",
        "Je bent ingeschreven. Open de uitnodiging in bijlage om de activiteit in je agenda te "
        "zetten.",
        "REQUEST",
    ),
    "registration_waiting": MailText(
        "Wachtlijst: {title}",
        "De activiteit is volzet. Je staat op de wachtlijst, op plaats {position}. Komt er een "
        "plaats vrij, dan schuif je automatisch door en krijg je opnieuw een mail.",
    ),
    "registration_pending": MailText(
        "Ontvangen: {title}",
        "We hebben je inschrijving ontvangen. De organisatoren bekijken elke inschrijving voor "
        "deze activiteit; je plaats is voorlopig vastgelegd en je krijgt bericht zodra ze "
        "beslist hebben.",
    ),
    "promoted": MailText(
        "Er is een plaats vrij: {title}",
        "Goed nieuws: er is een plaats vrijgekomen en je bent nu ingeschreven. Open de "
        "uitnodiging in bijlage om de activiteit in je agenda te zetten.",
        "REQUEST",
    ),
    "promoted_pending": MailText(
        "Er is een plaats vrij: {title}",
        "Er is een plaats vrijgekomen. Je inschrijving wacht nu op goedkeuring door de "
        "organisatoren; je krijgt bericht zodra ze beslist hebben.",
    ),
    "approved": MailText(
        "Goedgekeurd: {title}",
        "Je inschrijving is goedgekeurd. Open de uitnodiging in bijlage om de activiteit in je "
        "agenda te zetten.",
        "REQUEST",
    ),
    "declined": MailText(
        "Inschrijving niet weerhouden: {title}",
        "Je inschrijving werd helaas niet weerhouden.",
    ),
    "cancelled_by_person": MailText(
        "Geannuleerd: je inschrijving voor {title}",
        "Je inschrijving is geannuleerd. Bedankt om je plaats vrij te maken.",
        "CANCEL",
    ),
    "event_cancelled": MailText(
        "Geannuleerd: {title}",
        "Deze activiteit gaat niet door. Kom dus niet naar de locatie.",
        "CANCEL",
    ),
    "event_changed": MailText(
        "Gewijzigd: {title}",
        "Het tijdstip of de plaats van deze activiteit is gewijzigd. Hieronder staan de nieuwe "
        "gegevens; de uitnodiging in bijlage past je agenda aan.",
        "REQUEST",
    ),
    "session_added": MailText(
        "Nieuwe bijeenkomst: {title}",
        "Er is een bijeenkomst bijgekomen in de reeks waarvoor je ingeschreven bent. Open de "
        "uitnodiging in bijlage om ze in je agenda te zetten.",
        "REQUEST",
    ),
    "reminder": MailText(
        "Herinnering: {title}",
        "Tot binnenkort! Hieronder vind je nog eens alle praktische gegevens.",
    ),
}


STATUS_MAIL = {
    RegistrationStatus.confirmed: "registration_confirmed",
    RegistrationStatus.waiting: "registration_waiting",
    RegistrationStatus.pending: "registration_pending",
}


def queue(
    kind: str,
    registration: Registration,
    *,
    event: Event | None = None,
    position: int | None = None,
    extra: str = "",
    dedupe_key: str | None = None,
    with_calendar: bool = True,
) -> OutboxMessage:
    """Compose a mail about ``registration`` and add it to the session; the caller commits."""
    text = KINDS[kind]
    target = registration.places_owner
    event = event or registration.event
    if event is not None:
        sessions = [event]
    else:
        now = utcnow()
        sessions = [
            s for s in target.events if s.status is not EventStatus.draft and s.ends_at > now
        ]
    # A mail about one session (moved, cancelled, added) names that session, not the series.
    title = clean_header((event or target).title)
    config = current_app.config
    context = {
        "recipient_name": clean_header(registration.first_name, 100),
        "lead": text.lead.format(position=position or "?"),
        "extra": extra,
        "target": target,
        "sessions": sessions,
        "event": event,
        "location": calendar.location_of(event) if event else "",
        "personal_url": public_url("registrations.detail", token=registration.token),
        "event_url": public_url("events.detail", slug=sessions[0].slug) if sessions else "",
        "helpdesk_email": config["HELPDESK_EMAIL"],
        "organisation_name": config["ORGANISATION_NAME"],
    }
    message = OutboxMessage(
        kind=kind,
        registration_id=registration.id,
        event_id=event.id if event else None,
        dedupe_key=dedupe_key,
        recipient=registration.email,
        recipient_name=clean_header(f"{registration.first_name} {registration.last_name}"),
        subject=clean_header(text.subject.format(title=title), 250),
        text_body=render_template("mail/message.txt", **context),
        html_body=render_template("mail/message.html", **context),
        message_id=new_message_id(),
        next_attempt_at=utcnow(),
    )
    if with_calendar:
        _attach_calendar(message, text.method, registration, sessions)
    try:
        validate_email(registration.email, check_deliverability=False)
    except EmailNotValidError as error:
        message.status = MailStatus.failed
        message.last_error = f"Ongeldig adres: {error}"
    db.session.add(message)
    return message


def queue_promotions(promoted: list[Registration]) -> None:
    """Tell everyone who moved up from the waiting list; the caller commits."""
    for registration in promoted:
        confirmed = registration.status is RegistrationStatus.confirmed
        queue("promoted" if confirmed else "promoted_pending", registration)


def _attach_calendar(message: OutboxMessage, method: str | None, registration: Registration,
                     sessions: list[Event]) -> None:
    if method is None or not sessions:
        return
    if isinstance(registration.places_owner, Series) and len(sessions) > 1:
        # An invitation (REQUEST/CANCEL) may carry one UID only; a series goes as a plain file.
        if method == "CANCEL":
            return
        method = "PUBLISH"
    status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    config = current_app.config
    message.calendar_method = method
    message.calendar = calendar.build_invitation(
        [calendar.Entry(session, status) for session in sessions],
        method=method,
        event_url=lambda event: public_url("events.detail", slug=event.slug),
        organizer=(config["HELPDESK_EMAIL"], config["ORGANISATION_NAME"]),
        attendee=(registration.email, message.recipient_name),
    ).decode("utf-8")


def queue_reminders(now: datetime | None = None, days_before: int | None = None) -> int:
    """Queue one reminder per confirmed registration for activities starting within N days.

    A reminder carries a unique key per registration and activity, so it is never queued twice.
    """
    now = now or utcnow()
    days = days_before if days_before is not None else current_app.config["MAIL_REMINDER_DAYS"]
    pairs = db.session.execute(
        select(Registration, Event)
        .join(Event, places.covers_event())
        .where(Event.status == EventStatus.published,
               Event.starts_at > now,
               Event.starts_at <= now + timedelta(days=days),
               Registration.status == RegistrationStatus.confirmed)
    ).all()
    if not pairs:
        return 0
    keys = {f"reminder:{registration.id}:{event.id}": (registration, event)
            for registration, event in pairs}
    existing = set(db.session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))
    ))
    for key, (registration, event) in keys.items():
        if key not in existing:
            queue("reminder", registration, event=event, dedupe_key=key)
    db.session.commit()
    return len(keys) - len(existing)


def queue_notice(kind: str, *, recipient: str, recipient_name: str, subject: str, lead: str,
                 lines: tuple[str, ...] = (), link: str = "",
                 training_request_id: int | None = None) -> OutboxMessage:
    """A mail that is not about a registration (a training request, for one); caller commits."""
    config = current_app.config
    context = {
        "recipient_name": clean_header(recipient_name, 100), "lead": lead, "lines": lines,
        "link": link, "helpdesk_email": config["HELPDESK_EMAIL"],
        "organisation_name": config["ORGANISATION_NAME"],
    }
    message = OutboxMessage(
        kind=kind, training_request_id=training_request_id, recipient=recipient,
        recipient_name=clean_header(recipient_name), subject=clean_header(subject, 250),
        text_body=render_template("mail/notice.txt", **context),
        html_body=render_template("mail/notice.html", **context),
        message_id=new_message_id(), next_attempt_at=utcnow(),
    )
    db.session.add(message)
    return message
