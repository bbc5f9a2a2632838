"""Notifications: which mail goes out for which change, and what it says.

A mail is written to the outbox in the same transaction as the change it reports, so no change
goes unannounced and no mail is sent for a change that was rolled back. A mail about a
registration keeps the facts of that moment in the row and is composed by the sender
(``compose``); the overview and the notices about a training request are composed at once.
"""

import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from sqlalchemy import func, insert, select

from scheduler import labels
from scheduler.extensions import db, insert_or_update
from scheduler.links import public_base_url, public_url
from scheduler.models import (
    ACTIVE_STATUSES,
    Attestation,
    Event,
    EventStatus,
    MailStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Series,
    utcnow,
)
from scheduler.services import attestation_document, calendar, places

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
    # After the activity: the attestation in attachment (or word that it no longer holds),
    # the evaluation form, new materials.
    "attestation": None,
    "attestation_withdrawn": None,
    "evaluation": None,
    "materials_added": None,
}


def words_of(kind: str, **context) -> tuple[str, str]:
    """The subject and the opening paragraph of a kind of mail, from its template."""
    template = current_app.jinja_env.get_template(f"mail/kinds/{kind}.txt")
    rendered = template.new_context(context)
    subject, lead = (" ".join("".join(template.blocks[name](rendered)).split())
                     for name in ("subject", "lead"))
    return subject, lead


def clean_header(value: str, limit: int = 200) -> str:
    """One line of text fit for a mail header: no control or line-separator characters."""
    kept = (
        " " if unicodedata.category(char)[0] in ("C", "Z") and char != " " else char
        for char in value
    )
    return " ".join("".join(kept).split())[:limit]


def new_message_id() -> str:
    """A Message-ID of 122 random bits; ``make_msgid`` draws from the shared ``random`` state,
    which tests and libraries seed, and gave two mails of the same moment the same id."""
    domain = current_app.config["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


STATUS_MAIL = {
    RegistrationStatus.confirmed: "registration_confirmed",
    RegistrationStatus.waiting: "registration_waiting",
    RegistrationStatus.pending: "registration_pending",
}


# Kinds about an activity that is cancelled or over: the personal page offers no cancelling.
NOTHING_TO_CANCEL = frozenset(("event_cancelled", "attestation", "attestation_withdrawn",
                               "evaluation", "materials_added"))
# Kinds that tell where a registration stands: a newer one supersedes an older one still unsent
# (see ``is_superseded``).
STANDING_KINDS = frozenset((
    "registration_confirmed", "registration_waiting", "registration_pending", "promoted",
    "promoted_pending", "approved", "declined", "cancelled_by_person", "handed_over",
    "handover_received",
))
# After one of these the registration holds no place: nothing older about it is still true.
ENDING_KINDS = frozenset(("declined", "cancelled_by_person", "handed_over"))


def queue(
    kind: str,
    registration: Registration,
    *,
    event: Event | None = None,
    position: int | None = None,
    extra: str = "",
    dedupe_key: str | None = None,
    with_calendar: bool = True,
    action: tuple[str, str] | None = None,
    attestation_id: int | None = None,
    send_after: datetime | None = None,
) -> None:
    """Add a mail about ``registration`` to the outbox; the caller commits.

    The row keeps what happened (the kind, and the facts of that moment that must not change
    afterwards); the sender composes the words and the invitation (``compose``). Nothing is
    queued for a registration whose personal data was erased or anonymised.

    ``action`` is the one thing the mail asks to do, as (label, address); ``attestation_id``
    puts that attestation in attachment as a PDF; ``send_after`` holds the mail back so that
    what happens meanwhile goes out in it too.
    """
    if registration.anonymised_at is not None or not registration.email.strip():
        return
    row = {
        "kind": kind,
        "registration_id": registration.id,
        "event_id": event.id if event else registration.event_id,
        "dedupe_key": dedupe_key,
        "recipient": registration.email,
        "recipient_name": clean_header(f"{registration.first_name} {registration.last_name}"),
        "facts": {
            "status": registration.status.value,
            "reason": registration.waiting_reason,
            "position": position,
            "colleague": registration.handed_over_to_name,
            "extra": extra,
            "calendar": with_calendar,
            "action": list(action) if action else None,
            "attestation_id": attestation_id,
            # In development links follow the address the person used; the sender has none.
            "base_url": public_base_url(),
        },
        "message_id": new_message_id(),
        "next_attempt_at": send_after or utcnow(),
    }
    try:
        validate_email(registration.email, check_deliverability=False)
    except EmailNotValidError as error:
        row.update(status=MailStatus.failed, last_error=f"Ongeldig adres: {error}")
    # A plain INSERT, not the unit of work: on a registration it was a tenth of the request.
    # A mail due once per occasion that another transaction queued meanwhile is left at that.
    statement = insert(OutboxMessage) if dedupe_key is None else insert_or_update(
        OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
    db.session.execute(statement, [row])


def is_superseded(message: OutboxMessage) -> bool:
    """Whether this unsent mail is not to be sent, because a newer mail about the same
    registration makes it pointless or untrue, or because the person's data is gone:

    - a newer word on where the registration stands (queued on the waiting list, promoted
      before the sender ran: only "promoted" goes);
    - the place is gone (declined, cancelled, handed over): nothing older about it goes;
    - the activity is cancelled: no confirmation, change or reminder about it goes first;
    - a newer change of the same activity: the older one would say the same.
    """
    if message.facts is None:
        return False
    registration = message.registration
    if registration is None or registration.anonymised_at is not None:
        return True
    if message.kind == "attestation_withdrawn":
        return _withdrawal_is_moot(registration)
    if message.facts.get("attestation_id") is not None:
        # An attestation replaced or revoked before its mail left is not sent: its successor
        # has its own mail, and a revoked one is not to be handed out.
        attestation = db.session.get(Attestation, message.facts["attestation_id"])
        return attestation is None or not attestation.is_valid
    newer = db.session.execute(
        select(OutboxMessage.kind, OutboxMessage.event_id).where(
            OutboxMessage.registration_id == message.registration_id,
            OutboxMessage.id > message.id,
        ))
    return any(_overtakes(kind, event_id, message) for kind, event_id in newer)


ATTESTATION_KINDS = ("attestation", "attestation_withdrawn")


def _withdrawal_is_moot(registration: Registration) -> bool:
    """Word that their attestation no longer holds goes to a person once after each
    attestation that reached them, and only while none is valid: a new one's own mail says
    it replaces the earlier, and someone whose attestation mail never left holds nothing. The
    reason is read when it is composed, so it is the one that holds then."""
    if db.session.scalar(select(Attestation.id).where(
            Attestation.registration_id == registration.id,
            Attestation.replaced_at.is_(None), Attestation.revoked_at.is_(None))) is not None:
        return True
    last_sent = dict(db.session.execute(
        select(OutboxMessage.kind, func.max(OutboxMessage.sent_at)).where(
            OutboxMessage.registration_id == registration.id,
            OutboxMessage.kind.in_(ATTESTATION_KINDS),
            OutboxMessage.status == MailStatus.sent)
        .group_by(OutboxMessage.kind)).all())
    received = last_sent.get("attestation")
    told = last_sent.get("attestation_withdrawn")
    return received is None or (told is not None and told >= received)


def waits_for(message: OutboxMessage, now: datetime) -> datetime | None:
    """When to decide about this mail instead of now, because a mail it depends on is still
    unsettled: word that an attestation no longer holds depends on whether the attestations
    (and earlier word) queued before it reached the person. Each of those is sent, failed or
    superseded at its next attempt, whichever sender makes it and however long its lease
    ran; until then this one waits, looking again a minute later at the earliest."""
    if message.kind != "attestation_withdrawn" or message.registration_id is None:
        return None
    unsettled, next_attempt = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.registration_id == message.registration_id,
            OutboxMessage.kind.in_(ATTESTATION_KINDS), OutboxMessage.id < message.id,
            OutboxMessage.status == MailStatus.pending)).one()
    if not unsettled:
        return None
    if next_attempt is not None and next_attempt.tzinfo is None:
        next_attempt = next_attempt.replace(tzinfo=now.tzinfo)
    return max(now + timedelta(minutes=1), next_attempt or now)


def _revoked_reason(registration: Registration) -> str:
    """Why staff revoked the person's latest attestation; empty when it was not revoked."""
    latest = db.session.scalar(select(Attestation).where(
        Attestation.registration_id == registration.id, Attestation.replaced_by_id.is_(None))
        .order_by(Attestation.id.desc()).limit(1))
    return latest.revoked_reason if latest is not None and latest.revoked_at else ""


def _overtakes(kind: str, event_id: int | None, older: OutboxMessage) -> bool:
    if kind in ENDING_KINDS:
        return True
    if kind in STANDING_KINDS and older.kind in STANDING_KINDS:
        return True
    # A series enrolment's own mails name no session: a cancelled session leaves them be.
    same_activity = event_id is not None and event_id == older.event_id
    return same_activity and (kind == "event_cancelled" or kind == older.kind == "event_changed")


@dataclass(frozen=True)
class Words:
    """What a mail says: its subject, text and HTML, and the invitation it may carry."""

    recipient_name: str
    subject: str
    text_body: str
    html_body: str
    calendar: str | None = None
    calendar_method: str | None = None
    # (file name, MIME type, bytes): made again at every attempt, never kept in the outbox.
    attachments: tuple[tuple[str, str, bytes], ...] = ()

    @classmethod
    def kept_in(cls, message: OutboxMessage) -> "Words":
        """The words a row holds: composed at once, or by the sender's last attempt."""
        return cls(message.recipient_name, message.subject, message.text_body,
                   message.html_body, message.calendar, message.calendar_method)


def compose(message: OutboxMessage, now: datetime | None = None) -> Words:
    """The subject, text, HTML and invitation of a queued mail about a registration.

    What happened comes from the row's facts (the status, waiting position and reason then,
    staff's words); the activity is read as it is now, so its title, time, place, UID and
    SEQUENCE are what the feeds show when the mail leaves. A meeting link only goes to someone
    confirmed then and now.
    """
    now = now or utcnow()
    facts = message.facts
    base = facts.get("base_url")
    registration = message.registration
    status = RegistrationStatus(facts["status"])
    kind = message.kind
    target = registration.places_owner
    event = db.session.get(Event, message.event_id) if message.event_id else registration.event
    if event is not None:
        sessions = [event]
    else:
        sessions = [
            s for s in target.events if s.status is not EventStatus.draft and s.ends_at > now
        ]
    confirmed = (status is RegistrationStatus.confirmed
                 and registration.status is RegistrationStatus.confirmed)
    method = CALENDAR_METHOD[kind] if facts["calendar"] and sessions else None
    entry_status = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    if method is not None and isinstance(target, Series) and len(sessions) > 1:
        # An invitation (REQUEST/CANCEL) may carry one UID only: a series goes as a file to
        # import, its sessions marked cancelled when the enrolment ends.
        method = "PUBLISH"
    # A mail about one session (moved, cancelled, added) names that session, not the series.
    title = clean_header((event or target).title)
    subject, lead = words_of(kind, title=title, position=facts["position"],
                             invitation=method is not None,
                             reason=facts["reason"],
                             status=labels.REGISTRATION_STATUS[status].lower(),
                             reply_days=current_app.config["MODERATION_REPLY_DAYS"],
                             admission_note=target.admission_note,
                             colleague=facts["colleague"],
                             revoked_reason=_revoked_reason(registration)
                             if kind == "attestation_withdrawn" else "")
    config = current_app.config
    context = {
        "recipient_name": clean_header(registration.first_name, 100),
        "lead": lead,
        "extra": facts["extra"],
        "action": facts.get("action"),
        "target": target,
        "sessions": sessions,
        "event": event,
        "location": calendar.location_of(event) if event else "",
        "meeting_links": _meeting_links(sessions) if confirmed else [],
        "personal_url": public_url("registrations.detail", base, token=registration.token),
        "personal_label": "Je inschrijving bekijken of annuleren"
        if status in ACTIVE_STATUSES and kind not in NOTHING_TO_CANCEL
        else "Je inschrijving bekijken",
        "event_url": public_url("events.detail", base, slug=sessions[0].slug) if sessions else "",
        "overview_url": public_url("registrations.overview", base),
        "helpdesk_email": config["HELPDESK_EMAIL"],
        "organisation_name": config["ORGANISATION_NAME"],
    }
    # The address stays the one of the moment (erasure and access find the mail by it); the
    # name is the one the person gave last, as in the greeting.
    name = clean_header(f"{registration.first_name} {registration.last_name}")
    attachments = ()
    if kind == "attestation":
        attestation = db.session.get(Attestation, facts["attestation_id"])
        attachments = ((attestation_document.file_name(attestation), "application/pdf",
                        attestation_document.render(attestation, base)),)
    return Words(
        recipient_name=name,
        subject=clean_header(subject, 250),
        text_body=render_template("mail/message.txt", **context),
        html_body=render_template("mail/message.html", **context),
        calendar=_invitation(method, entry_status, message.recipient, name,
                             sessions, with_meeting_link=confirmed, now=now, base_url=base)
        if method else None,
        calendar_method=method,
        attachments=attachments,
    )


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
    return _meeting_links(sessions)


def _meeting_links(sessions: list[Event]) -> list[str]:
    return list(dict.fromkeys(session.online_url for session in sessions
                              if session.online_url and not session.is_cancelled))


def queue_promotions(promoted: list[Registration]) -> None:
    """Tell everyone who moved up from the waiting list; the caller commits."""
    for registration in promoted:
        confirmed = registration.status is RegistrationStatus.confirmed
        queue("promoted" if confirmed else "promoted_pending", registration)


def _invitation(method: str, status: str, email: str, name: str, sessions: list[Event],
                *, with_meeting_link: bool, now: datetime, base_url: str | None) -> str:
    config = current_app.config
    return calendar.build_invitation(
        [calendar.Entry(session, status, meeting_link=status == "CONFIRMED" and with_meeting_link)
         for session in sessions],
        method=method,
        event_url=lambda event: public_url("events.detail", base_url, slug=event.slug),
        organizer=(config["HELPDESK_EMAIL"], config["ORGANISATION_NAME"]),
        attendee=(email, name),
        stamped_at=now,
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
