"""The outbox: queue a mail in the caller's transaction, deliver pending ones over SMTP.

A mail is composed completely when it is queued (text, HTML and calendar part), so what is
sent is what was true at the moment of the change. Delivery is at least once: a sender
claims a message with a lease, sends it and marks it sent; if the sender dies in between,
the lease runs out and another sender tries again.
"""

import logging
import smtplib
import ssl
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import and_, or_, select, update

from scheduler.extensions import begin_write_transaction, db
from scheduler.links import public_url
from scheduler.models import (
    Event,
    EventStatus,
    MailStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    utcnow,
)
from scheduler.services import calendar, places

log = logging.getLogger(__name__)


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

PERMANENT_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, ValueError)


def clean_header(value: str, limit: int = 200) -> str:
    """One line of text fit for a mail header: no control or line-separator characters."""
    kept = (
        " " if unicodedata.category(char)[0] in ("C", "Z") and char != " " else char
        for char in value
    )
    return " ".join("".join(kept).split())[:limit]


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
    title = clean_header(target.title)
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
    if registration.series is not None and len(sessions) > 1:
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


def new_message_id() -> str:
    """A Message-ID of 122 random bits; ``make_msgid`` draws from the shared ``random`` state,
    which tests and libraries seed, and gave two mails of the same moment the same id."""
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def compose(message: OutboxMessage) -> EmailMessage:
    """The MIME message: text and HTML alternatives, plus the calendar part when there is one."""
    config = current_app.config
    email = EmailMessage(policy=SMTP)
    email["From"] = Address(
        clean_header(config["ORGANISATION_NAME"]), addr_spec=config["MAIL_DEFAULT_SENDER"]
    )
    email["To"] = Address(clean_header(message.recipient_name), addr_spec=message.recipient)
    email["Reply-To"] = Address(addr_spec=config["HELPDESK_EMAIL"])
    email["Subject"] = clean_header(message.subject, 250)
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = message.message_id
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    if message.calendar:
        data = message.calendar.encode("utf-8")
        # Outlook only offers the invitation when this method equals the METHOD inside.
        email.add_alternative(data, maintype="text", subtype="calendar",
                              params={"method": message.calendar_method, "charset": "utf-8"})
        email.add_attachment(data, maintype="application", subtype="ics",
                             filename="activiteit.ics")
    return email


class SmtpTransport:
    """Delivers over one SMTP connection, opened on first use."""

    def __init__(self, config) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def send(self, email: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._connect()
        self.connection.send_message(email)

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port = config["MAIL_SERVER"], config["MAIL_PORT"]
        if config["MAIL_USE_SSL"]:
            connection = smtplib.SMTP_SSL(host, port, timeout=30,
                                          context=ssl.create_default_context())
        else:
            connection = smtplib.SMTP(host, port, timeout=30)
            if config["MAIL_USE_TLS"]:
                connection.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        return connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except smtplib.SMTPException:
                self.connection.close()
            self.connection = None

    def reset(self) -> None:
        """Drop a connection that failed, so the next message opens a new one."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class FolderTransport:
    """Development: writes each mail as an .eml file and logs where it went."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, email: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = email["Message-ID"].strip("<>").replace("@", "_") + ".eml"
        path = self.folder / name
        path.write_bytes(email.as_bytes())
        # The address stays out of the log: logs are kept longer than personal data may be.
        log.warning("Mail written to %s", path)

    def close(self) -> None:
        pass

    def reset(self) -> None:
        pass


def transport_from_config(config, instance_path: str):
    """SMTP when MAIL_SERVER is set; otherwise a folder under the instance path."""
    if config.get("MAIL_SERVER"):
        return SmtpTransport(config)
    return FolderTransport(Path(instance_path) / "mail")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> timedelta:
    """2, 4, 8 … minutes after each failed attempt, at most six hours."""
    return min(timedelta(minutes=2**attempts), timedelta(hours=6))


def deliver_pending(transport, *, limit: int = 200, now: datetime | None = None) -> DeliveryReport:
    """Send the messages that are due, each by exactly one sender, and record the outcome.

    A refused recipient or an unusable address fails at once; other errors retry with
    back-off until MAIL_MAX_ATTEMPTS, after which the message is failed with its last error.
    """
    report = DeliveryReport()
    max_attempts = current_app.config["MAIL_MAX_ATTEMPTS"]
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    now = now or utcnow()
    claimable = and_(
        OutboxMessage.status == MailStatus.pending,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.leased_until.is_(None), OutboxMessage.leased_until < now),
    )
    candidates = db.session.scalars(
        select(OutboxMessage.id).where(claimable).order_by(OutboxMessage.id).limit(limit)
    ).all()
    try:
        for message_id in candidates:
            if not _claim(message_id, claimable, now + lease):
                continue
            try:
                composed = compose(db.session.get(OutboxMessage, message_id))
                db.session.commit()
                transport.send(composed)
            except PERMANENT_ERRORS as error:
                outcome = _record(message_id, error, permanent=True, max_attempts=max_attempts)
            except (OSError, smtplib.SMTPException) as error:
                transport.reset()
                outcome = _record(message_id, error, permanent=False, max_attempts=max_attempts)
            else:
                outcome = _record(message_id, None, permanent=False, max_attempts=max_attempts)
            setattr(report, outcome, getattr(report, outcome) + 1)
    finally:
        transport.close()
    return report


def _claim(message_id: int, claimable, until: datetime) -> bool:
    begin_write_transaction()
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, claimable)
        .values(leased_until=until)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _record(message_id: int, error: Exception | None, *, permanent: bool,
            max_attempts: int) -> str:
    """Write down how an attempt went; returns 'sent', 'retrying' or 'failed'."""
    begin_write_transaction()
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    message.attempts += 1
    message.leased_until = None
    if error is None:
        message.status = MailStatus.sent
        message.sent_at = utcnow()
        message.last_error = ""
        outcome = "sent"
    else:
        message.last_error = f"{type(error).__name__}: {error}"[:2000]
        if permanent or message.attempts >= max_attempts:
            message.status = MailStatus.failed
            outcome = "failed"
        else:
            message.next_attempt_at = utcnow() + retry_delay(message.attempts)
            outcome = "retrying"
    db.session.commit()
    return outcome


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


def failed_messages(limit: int = 20) -> list[OutboxMessage]:
    """Mails given up on, latest first, for staff to follow up by hand."""
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == MailStatus.failed)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ))


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


def delivery_by_registration(registration_ids: list[int]) -> dict[int, list[OutboxMessage]]:
    """The mails of each registration in one query, for staff to see what went out or failed."""
    found: dict[int, list[OutboxMessage]] = {}
    if not registration_ids:
        return found
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.registration_id.in_(registration_ids))
        .order_by(OutboxMessage.id)
    )
    for message in messages:
        found.setdefault(message.registration_id, []).append(message)
    return found
