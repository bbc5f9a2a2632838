"""The outbox: mails waiting to be sent, delivered over SMTP (or into a folder) under a lease.

Delivery is at least once: a sender claims a message with a lease, sends it and marks it
sent; if the sender dies in between, the lease runs out and another sender tries again.
"""

import logging
import smtplib
import ssl
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import and_, or_, select, update

from scheduler.extensions import begin_write_transaction, db
from scheduler.models import MailStatus, OutboxMessage, utcnow
from scheduler.request_log import log_line
from scheduler.services import notifications
from scheduler.services.notifications import clean_header

log = logging.getLogger(__name__)


PERMANENT_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, ValueError)


def as_email(message: OutboxMessage, words: notifications.Words) -> EmailMessage:
    """The MIME message: text and HTML alternatives, plus the calendar part when there is one."""
    config = current_app.config
    email = EmailMessage(policy=SMTP)
    email["From"] = Address(
        clean_header(config["ORGANISATION_NAME"]), addr_spec=config["MAIL_DEFAULT_SENDER"]
    )
    email["To"] = Address(clean_header(words.recipient_name), addr_spec=message.recipient)
    email["Reply-To"] = Address(addr_spec=config["HELPDESK_EMAIL"])
    email["Subject"] = clean_header(words.subject, 250)
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = message.message_id
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(words.text_body)
    email.add_alternative(words.html_body, subtype="html")
    if words.calendar:
        data = words.calendar.encode("utf-8")
        # Outlook only offers the invitation when this method equals the METHOD inside.
        email.add_alternative(data, maintype="text", subtype="calendar",
                              params={"method": words.calendar_method, "charset": "utf-8"})
        email.add_attachment(data, maintype="application", subtype="ics",
                             filename="activiteit.ics")
    for filename, content_type, data in words.attachments:
        maintype, _slash, subtype = content_type.partition("/")
        email.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
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
    superseded: int = 0
    # Put off a moment because another sender holds a mail they depend on.
    postponed: int = 0


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
            words = None
            try:
                prepared = _prepare(message_id, now)
                if isinstance(prepared, str):
                    setattr(report, prepared, getattr(report, prepared) + 1)
                    continue
                email, words = prepared
                transport.send(email)
            except PERMANENT_ERRORS as error:
                outcome = _record(message_id, error, words, permanent=True,
                                  max_attempts=max_attempts)
            except (OSError, smtplib.SMTPException) as error:
                transport.reset()
                outcome = _record(message_id, error, words, permanent=False,
                                  max_attempts=max_attempts)
            except Exception as error:  # noqa: BLE001 - one mail that cannot be composed
                # must not stop every other mail behind it, attempt after attempt.
                db.session.rollback()
                log.exception("Mail %s could not be composed", message_id)
                outcome = _record(message_id, error, words, permanent=True,
                                  max_attempts=max_attempts)
            else:
                outcome = _record(message_id, None, words, permanent=False,
                                  max_attempts=max_attempts)
            setattr(report, outcome, getattr(report, outcome) + 1)
    finally:
        transport.close()
    return report


def _prepare(message_id: int, now: datetime
             ) -> tuple[EmailMessage, notifications.Words] | str:
    """The claimed message as it goes out now: composed at every attempt, so a retry says
    what is true then. "superseded" when it is, or was erased since it was claimed;
    "postponed" when it is to be decided later (``notifications.waits_for``)."""
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        db.session.commit()
        return "superseded"
    later = notifications.waits_for(message, now)
    if later is not None:
        begin_write_transaction()
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                           .values(next_attempt_at=later, leased_until=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return "postponed"
    if notifications.is_superseded(message):
        # Decided on a read; the write lock is only taken to write it down.
        begin_write_transaction()
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                           .values(status=MailStatus.superseded, leased_until=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        log_line(event="mail", message=message_id, kind=message.kind, outcome="superseded")
        return "superseded"
    if message.facts is None:
        words = notifications.Words.kept_in(message)
    else:
        words = notifications.compose(message)
    email = as_email(message, words)
    db.session.commit()
    return email, words


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


def _record(message_id: int, error: Exception | None, words: notifications.Words | None, *,
            permanent: bool, max_attempts: int) -> str:
    """Write down how an attempt went and what it said (for staff and for a person's access
    request); returns 'sent', 'retrying' or 'failed'."""
    begin_write_transaction()
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None:
        # Erased while it was being sent: nothing of it, or of the person, is written back.
        db.session.commit()
        return "sent" if error is None else "failed"
    if words is not None and message.facts is not None:
        for name, value in asdict(words).items():
            setattr(message, name, value)
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
    # The error class only: an SMTP server's message may quote the recipient's address.
    log_line(event="mail", message=message_id, kind=message.kind, outcome=outcome,
             attempts=message.attempts, error=type(error).__name__ if error else None)
    return outcome


def failed_messages(limit: int = 20) -> list[OutboxMessage]:
    """Mails given up on, latest first, for staff to follow up by hand."""
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == MailStatus.failed)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ))


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
