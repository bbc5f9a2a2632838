"""Notifications: which mail goes out for which change, composed completely when it is queued.

A mail is written to the outbox in the same transaction as the change it reports, with its
text, HTML and calendar part, so what is sent is what was true at the moment of the change.
"""

from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import select

from scheduler import labels
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

# The kinds of mail about a registration: their words are in templates/mail/kinds/<kind>.txt,
# here only the iTIP method of the calendar part each one carries (None: no invitation).
CALENDAR_METHOD: dict[str, str | None] = {
    "registration_confirmed": "REQUEST",
    "registration_waiting": None,
    "registration_pending": None,
    "promoted": "REQUEST",
    "promoted_pending": None,
    "approved": "REQUEST",
    # CANCEL only for someone who had the invitation (the caller says so).
    "declined": "CANCEL",
    "cancelled_by_person": "CANCEL",
    "event_cancelled": "CANCEL",
    "event_changed": "REQUEST",
    "session_added": "REQUEST",
    "reminder": None,
    "already_registered": None,
    "handover_requested": None,
    "handover_refused": None,
    "handed_over": "CANCEL",
    "handover_received": "REQUEST",
    "handover_not_needed": None,
}


def words_of(kind: str, **context) -> tuple[str, str]:
    """The subject and the opening paragraph of a kind of mail, from its template."""
    template = current_app.jinja_env.get_template(f"mail/kinds/{kind}.txt")
    rendered = template.new_context(context)
    subject, lead = (" ".join("".join(template.blocks[name](rendered)).split())
                     for name in ("subject", "lead"))
    return subject, lead


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
) -> OutboxMessage | None:
    """Compose a mail about ``registration`` and add it to the session; the caller commits.

    Nothing is queued for a registration whose personal data was erased or anonymised.
    """
    if registration.anonymised_at is not None or not registration.email.strip():
        return None
    method = CALENDAR_METHOD[kind]
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
    subject, lead = words_of(kind, title=title, position=position,
                             reason=registration.waiting_reason,
                             status=labels.REGISTRATION_STATUS[registration.status].lower(),
                             reply_days=current_app.config["MODERATION_REPLY_DAYS"],
                             admission_note=target.admission_note,
                             colleague=registration.handed_over_to_name)
    config = current_app.config
    context = {
        "recipient_name": clean_header(registration.first_name, 100),
        "lead": lead,
        "extra": extra,
        "target": target,
        "sessions": sessions,
        "event": event,
        "location": calendar.location_of(event) if event else "",
        "meeting_links": meeting_links(registration, sessions),
        "personal_url": public_url("registrations.detail", token=registration.token),
        "personal_label": "Je inschrijving bekijken of annuleren"
        if registration.is_active and kind != "event_cancelled" else "Je inschrijving bekijken",
        "event_url": public_url("events.detail", slug=sessions[0].slug) if sessions else "",
        "overview_url": public_url("registrations.overview"),
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
        subject=clean_header(subject, 250),
        text_body=render_template("mail/message.txt", **context),
        html_body=render_template("mail/message.html", **context),
        message_id=new_message_id(),
        next_attempt_at=utcnow(),
    )
    if with_calendar:
        _attach_calendar(message, method, registration, sessions)
    try:
        validate_email(registration.email, check_deliverability=False)
    except EmailNotValidError as error:
        message.status = MailStatus.failed
        message.last_error = f"Ongeldig adres: {error}"
    db.session.add(message)
    return message


def queue_overview(registrations: list[Registration], feed_token: str | None) -> OutboxMessage:
    """One mail listing a person's registrations with their personal links; caller commits."""
    latest = registrations[-1]
    config = current_app.config
    context = {
        "recipient_name": clean_header(latest.first_name, 100),
        "registrations": registrations,
        "personal_url": lambda registration: public_url("registrations.detail",
                                                        token=registration.token),
        "feed_url": public_url("feeds.personal", token=feed_token) if feed_token else "",
        "labels": labels,
        "helpdesk_email": config["HELPDESK_EMAIL"],
        "organisation_name": config["ORGANISATION_NAME"],
    }
    message = OutboxMessage(
        # Tied to a registration of theirs, so erasure, retention and access find it.
        kind="overview", registration_id=latest.id, recipient=latest.email,
        recipient_name=clean_header(f"{latest.first_name} {latest.last_name}"),
        subject="Je inschrijvingen", message_id=new_message_id(), next_attempt_at=utcnow(),
        text_body=render_template("mail/overview.txt", **context),
        html_body=render_template("mail/overview.html", **context),
    )
    db.session.add(message)
    return message


def meeting_links(registration: Registration, sessions: list[Event]) -> list[str]:
    """The online meeting links a registration may see: only once it is confirmed."""
    if registration.status is not RegistrationStatus.confirmed:
        return []
    return list(dict.fromkeys(session.online_url for session in sessions
                              if session.online_url and not session.is_cancelled))


def queue_promotions(promoted: list[Registration]) -> None:
    """Tell everyone who moved up from the waiting list; the caller commits."""
    for registration in promoted:
        confirmed = registration.status is RegistrationStatus.confirmed
        queue("promoted" if confirmed else "promoted_pending", registration)


def _attach_calendar(message: OutboxMessage, method: str | None, registration: Registration,
                     sessions: list[Event]) -> None:
    if method is None or not sessions:
        return
    status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    if isinstance(registration.places_owner, Series) and len(sessions) > 1:
        # An invitation (REQUEST/CANCEL) may carry one UID only: a series goes as a file to
        # import, its sessions marked cancelled when the enrolment ends.
        method = "PUBLISH"
    config = current_app.config
    message.calendar_method = method
    message.calendar = calendar.build_invitation(
        [calendar.Entry(session, status, meeting_link=status == "CONFIRMED"
                        and registration.status is RegistrationStatus.confirmed)
         for session in sessions],
        method=method,
        event_url=lambda event: public_url("events.detail", slug=event.slug),
        organizer=(config["HELPDESK_EMAIL"], config["ORGANISATION_NAME"]),
        attendee=(registration.email, message.recipient_name),
        stamped_at=utcnow(),
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
                 training_request_id: int | None = None,
                 dedupe_key: str | None = None) -> OutboxMessage | None:
    """A mail that is not about a registration (a training request, for one); caller commits.

    Nothing is queued to an empty address (a training request whose contact was erased).
    """
    if not recipient.strip():
        return None
    config = current_app.config
    context = {
        "recipient_name": clean_header(recipient_name, 100), "lead": lead, "lines": lines,
        "link": link, "helpdesk_email": config["HELPDESK_EMAIL"],
        "organisation_name": config["ORGANISATION_NAME"],
    }
    message = OutboxMessage(
        kind=kind, training_request_id=training_request_id, dedupe_key=dedupe_key,
        recipient=recipient,
        recipient_name=clean_header(recipient_name), subject=clean_header(subject, 250),
        text_body=render_template("mail/notice.txt", **context),
        html_body=render_template("mail/notice.html", **context),
        message_id=new_message_id(), next_attempt_at=utcnow(),
    )
    db.session.add(message)
    return message
