"""Typed ORM models: activities, series, themes, organisations, registrations, staff."""

import enum
import secrets
import uuid
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from scheduler.extensions import db


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def new_uid() -> str:
    """A calendar UID that never changes with the activity's fields."""
    return str(uuid.uuid4())


def new_token() -> str:
    """An unguessable token of 192 random bits for personal links."""
    return secrets.token_urlsafe(24)


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored in UTC, also on SQLite which keeps no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware values only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum_class: type[enum.Enum]) -> Enum:
    """A portable enum column: stored as its member names in a VARCHAR."""
    return Enum(enum_class, native_enum=False, length=20, validate_strings=True)


class EventKind(enum.Enum):
    visit = "visit"
    intervision = "intervision"
    training = "training"


class EventStatus(enum.Enum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"


class RegistrationWindow(enum.StrEnum):
    """Whether an activity takes registrations now; the values are also the agenda's codes."""

    not_yet = "not-yet"
    open = "open"
    closed = "closed"


class Audience(enum.Enum):
    mandatarissen = "mandatarissen"
    medewerkers = "medewerkers"
    both = "both"


class OrganisationKind(enum.Enum):
    municipality = "municipality"
    ocmw = "ocmw"
    other = "other"


class RegistrationStatus(enum.Enum):
    confirmed = "confirmed"
    waiting = "waiting"
    pending = "pending"
    cancelled = "cancelled"
    declined = "declined"
    # The place went to a colleague of the same organisation.
    handed_over = "handed_over"
    # A colleague proposed to take over a place of a closed group; staff have not decided yet.
    handover_requested = "handover_requested"


class Role(enum.Enum):
    mandataris = "mandataris"
    medewerker = "medewerker"
    other = "other"


event_themes = Table(
    "event_themes",
    db.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_id", ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_event_themes_theme_id", "theme_id"),
)


class Theme(db.Model):
    """A topic tag; every theme has its own agenda filter and feed."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))

    events: Mapped[list["Event"]] = relationship(secondary=event_themes, back_populates="themes")


class Organisation(db.Model):
    """A local government (the municipalities are reference data) or another organisation."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind))
    nis_code: Mapped[str | None] = mapped_column(String(5), unique=True)
    province: Mapped[str | None] = mapped_column(String(40), index=True)
    # "Vlaanderen" or "Brussel"; None for organisations outside the reference data.
    region: Mapped[str | None] = mapped_column(String(20))

    events: Mapped[list["Event"]] = relationship(back_populates="municipality")
    registrations: Mapped[list["Registration"]] = relationship(back_populates="organisation")


class Series(db.Model):
    """A set of sessions that people enrol in as one, such as an intervision group."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    # None means unlimited places.
    capacity: Mapped[int | None]
    max_per_organisation: Mapped[int | None]
    is_moderated: Mapped[bool] = mapped_column(default=False)
    # For a closed group: who it is for, shown before registering and in the answer.
    admission_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    events: Mapped[list["Event"]] = relationship(
        back_populates="series", order_by="Event.starts_at"
    )
    registrations: Mapped[list["Registration"]] = relationship(back_populates="series")


class Event(db.Model):
    """One dated activity: a workplace visit, an intervision moment or a training."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
        Index("ix_events_status_starts_at", "status", "starts_at"),
        # The agenda and the feeds select on the end; with status and updated_at in it, a feed's
        # version (latest change, count) is read from the index alone.
        Index("ix_events_ends_at", "ends_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    # Raised whenever time, place or status changes, so calendars replace their copy.
    sequence: Mapped[int] = mapped_column(default=0)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    status: Mapped[EventStatus] = mapped_column(
        enum_column(EventStatus), default=EventStatus.draft
    )
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    # Markdown; rendered through the sanitiser in scheduler.markdown.
    description: Mapped[str] = mapped_column(Text, default="")
    # active_history: the start before a move is known also when it was not loaded.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, active_history=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    online_url: Mapped[str | None] = mapped_column(String(500))
    # None means unlimited places.
    capacity: Mapped[int | None]
    max_per_organisation: Mapped[int | None]
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_moderated: Mapped[bool] = mapped_column(default=False)
    admission_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    audience: Mapped[Audience] = mapped_column(enum_column(Audience), default=Audience.both)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    cancellation_reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first time it was published: the newsletter feed lists activities by this moment.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The start before the activity was last moved while published: search engines show it as
    # rescheduled from this date.
    previous_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When staff declared the attendance complete: attestations are mailed from then on, and a
    # correction afterwards mails the one that replaces it.
    attendance_final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    municipality: Mapped[Organisation | None] = relationship(back_populates="events")
    series: Mapped[Series | None] = relationship(back_populates="events")
    themes: Mapped[list[Theme]] = relationship(
        secondary=event_themes, back_populates="events", order_by=Theme.name
    )
    registrations: Mapped[list["Registration"]] = relationship(back_populates="event")

    @property
    def places_owner(self) -> "Event | Series":
        """Who holds the places, the moderation and the maximum per organisation: a session
        takes them from its series, any other activity holds its own."""
        return self.series if self.series_id is not None else self

    @property
    def is_session(self) -> bool:
        return self.series_id is not None

    @property
    def is_published(self) -> bool:
        return self.status is EventStatus.published

    @property
    def is_cancelled(self) -> bool:
        return self.status is EventStatus.cancelled

    @property
    def is_public(self) -> bool:
        """Drafts are never shown outside the staff area."""
        return self.status is not EventStatus.draft

    @property
    def short_place(self) -> str:
        """Where it happens in a few words, for lists: venue and town, or "Online"."""
        town = self.municipality.name if self.municipality else ""
        place = ", ".join(part for part in (self.venue, town) if part)
        return place or ("Online" if self.online_url else "")

    def schedule_changed(self) -> bool:
        """Whether time or place changed since the last flush (set municipality_id to compare)."""
        return attributes_changed(self, SCHEDULE_ATTRIBUTES)

    def has_ended(self, now: datetime) -> bool:
        return self.ends_at <= now

    def has_started(self, now: datetime) -> bool:
        return self.starts_at <= now

    def attendance_may_be_final(self, now: datetime) -> bool:
        """Staff declare the attendance complete once a published activity has begun, once."""
        return self.is_published and self.has_started(now) and self.attendance_final_at is None

    def next_change(self, now: datetime) -> datetime | None:
        """The first moment after ``now`` at which the clock alone changes how it is shown."""
        moments = (self.registration_opens_at, self.registration_closes_at, self.starts_at,
                   self.ends_at)
        return min((moment for moment in moments if moment and moment > now), default=None)

    def registration_window_state(self, now: datetime) -> RegistrationWindow:
        """Whether it takes registrations, from the status, the window and the start time."""
        if self.status is not EventStatus.published or self.has_started(now):
            return RegistrationWindow.closed
        if self.registration_opens_at and now < self.registration_opens_at:
            return RegistrationWindow.not_yet
        if self.registration_closes_at and now >= self.registration_closes_at:
            return RegistrationWindow.closed
        return RegistrationWindow.open


# A change to one of these is announced to everyone registered and raises the SEQUENCE.
SCHEDULE_ATTRIBUTES = ("starts_at", "ends_at", "venue", "address", "municipality_id", "online_url")
# Calendars must also hear of a change of status (cancelled, back to draft).
CALENDAR_ATTRIBUTES = (*SCHEDULE_ATTRIBUTES, "municipality", "status")


def attributes_changed(instance, names: tuple[str, ...]) -> bool:
    """Whether any of these attributes changed since the last flush."""
    state = sqlalchemy_inspect(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


@sqlalchemy_event.listens_for(Event, "before_insert")
def _stamp_first_publication(_mapper, _connection, event: Event) -> None:
    if event.status is not EventStatus.draft and event.published_at is None:
        event.published_at = utcnow()


@sqlalchemy_event.listens_for(Event, "before_update")
def _remember_previous_start(_mapper, _connection, event: Event) -> None:
    """A move of an activity that was ever published: search engines knew the old start, also
    when it went back to draft in between. A move flushed in steps counts from where it began."""
    state = sqlalchemy_inspect(event)
    moved = state.attrs.starts_at.history
    if event.published_at is not None and moved.deleted and moved.deleted[0] is not None:
        starts = state.session.info.setdefault("starts_before_transaction", {})
        original = starts.setdefault(event.id, moved.deleted[0])
        if original != event.starts_at:
            event.previous_starts_at = original
    _stamp_first_publication(_mapper, _connection, event)


@sqlalchemy_event.listens_for(Event, "before_update")
def _raise_sequence_on_schedule_change(_mapper, _connection, event: Event) -> None:
    if not attributes_changed(event, CALENDAR_ATTRIBUTES):
        return
    # A change may be flushed in several steps; calendars should see one new version.
    raised = sqlalchemy_inspect(event).session.info.setdefault("sequence_raised", set())
    if event.id not in raised:
        raised.add(event.id)
        event.sequence = (event.sequence or 0) + 1


@sqlalchemy_event.listens_for(Session, "after_commit")
@sqlalchemy_event.listens_for(Session, "after_rollback")
def _forget_raised_sequences(session: Session) -> None:
    session.info.pop("sequence_raised", None)
    session.info.pop("starts_before_transaction", None)


class Registration(db.Model):
    """One person's enrolment in an activity, or in a whole series."""

    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint(
            "(event_id IS NULL) <> (series_id IS NULL)", name="one_event_or_series"
        ),
        Index("ix_registrations_event_id_status", "event_id", "status"),
        Index("ix_registrations_series_id_status", "series_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"))
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus))
    # Why a person waits although places are left, e.g. "organisation_limit".
    waiting_reason: Mapped[str | None] = mapped_column(String(40))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    # Trimmed and lower-cased: the identity of a person across registrations.
    email_normalised: Mapped[str] = mapped_column(String(254), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    organisation_other: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role))
    function: Mapped[str] = mapped_column(String(200), default="")
    remarks: Mapped[str] = mapped_column(Text, default="")
    # Accessibility, diet: removed the day after the activity, sooner than the rest.
    needs: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Who takes over this place: asked for (awaiting approval) or done (status handed_over).
    handed_over_to_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"),
                                                          index=True)
    # The name as the person typed it: the colleague's own registration may spell it otherwise,
    # and showing that would tell whether the address was registered already.
    handed_over_to_name: Mapped[str] = mapped_column(String(201), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the place was given up: cancelled, declined or handed over.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the personal data was removed; organisation, role and attendance remain.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event | None] = relationship(back_populates="registrations")
    series: Mapped[Series | None] = relationship(back_populates="registrations")
    organisation: Mapped[Organisation | None] = relationship(back_populates="registrations")
    messages: Mapped[list["OutboxMessage"]] = relationship(
        back_populates="registration", order_by="OutboxMessage.id"
    )
    handed_over_to: Mapped["Registration | None"] = relationship(remote_side=[id])

    @property
    def organisation_name(self) -> str:
        return self.organisation.name if self.organisation else self.organisation_other

    @property
    def places_owner(self) -> "Event | Series":
        """The activity or the whole series this registration holds (or waits for) a place in."""
        return self.series if self.series_id is not None else self.event

    @property
    def is_active(self) -> bool:
        """Active registrations count for places and block a second registration."""
        return self.status in ACTIVE_STATUSES


ACTIVE_STATUSES = (
    RegistrationStatus.confirmed,
    RegistrationStatus.waiting,
    RegistrationStatus.pending,
)
# Awaiting approval holds a place, so approving never exceeds the capacity.
SEAT_HOLDING_STATUSES = (RegistrationStatus.confirmed, RegistrationStatus.pending)


class Person(db.Model):
    """Someone known by e-mail address; holds the token of their personal calendar feed."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_normalised: Mapped[str] = mapped_column(String(254), unique=True)
    feed_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailStatus(enum.Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    # A newer mail told the person where they stand before this one left; it never will.
    superseded = "superseded"


class CalendarText(db.Model):
    """The VEVENT of an activity as the public feeds show it, serialised once for every process.

    Serialising is most of what a feed costs; a process that starts, or meets an activity
    another process has already serialised, reads these bytes instead of building them again.
    ``digest`` covers everything the bytes are made of, so a stale text is never used.
    """

    __tablename__ = "calendar_texts"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)


class OutboxMessage(db.Model):
    """A mail waiting to be sent, or the record of one that was sent or given up on.

    Written in the same transaction as the change it reports, so no change goes unannounced
    and no mail is sent for a change that was rolled back.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id"), index=True
    )
    training_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_requests.id"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    # Makes a mail that must go out once per occasion (a reminder) impossible to queue twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    recipient: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    # What happened, for a mail about a registration that the sender composes: the status,
    # waiting position and reason of that moment, staff's words, whether it carries an invitation.
    facts: Mapped[dict | None] = mapped_column(JSON)
    # Empty until composed: at once for the overview and notices, by the sender for the others.
    subject: Mapped[str] = mapped_column(String(300), default="")
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    calendar: Mapped[str | None] = mapped_column(Text)
    # REQUEST, CANCEL or PUBLISH: must equal the METHOD inside ``calendar``.
    calendar_method: Mapped[str | None] = mapped_column(String(10))
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    status: Mapped[MailStatus] = mapped_column(enum_column(MailStatus), default=MailStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender owns a message until this moment, so two senders never send it both.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registration: Mapped["Registration | None"] = relationship(back_populates="messages")


class RequestStatus(enum.Enum):
    new = "new"
    in_discussion = "in_discussion"
    planned = "planned"
    declined = "declined"
    done = "done"


training_request_parts = Table(
    "training_request_parts",
    db.metadata,
    Column("request_id", ForeignKey("training_requests.id", ondelete="CASCADE"), primary_key=True),
    Column("part_id", ForeignKey("training_parts.id", ondelete="CASCADE"), primary_key=True),
)


class TrainingPart(db.Model):
    """A part of the basic training package that a local government can ask for."""

    __tablename__ = "training_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class TrainingRequest(db.Model):
    """A local government's request for the training on site, with its own local questions."""

    __tablename__ = "training_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    organisation_other: Mapped[str] = mapped_column(String(200), default="")
    contact_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")
    audience: Mapped[Audience] = mapped_column(enum_column(Audience))
    expected_count: Mapped[int | None]
    preferred_dates: Mapped[str] = mapped_column(Text, default="")
    local_questions: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus), default=RequestStatus.new, index=True
    )
    # For staff only; never shown to the requester.
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation | None] = relationship()
    parts: Mapped[list[TrainingPart]] = relationship(
        secondary=training_request_parts, order_by=TrainingPart.position
    )
    event: Mapped[Event | None] = relationship()

    @property
    def organisation_name(self) -> str:
        return self.organisation.name if self.organisation else self.organisation_other


class ContentBlock(db.Model):
    """A piece of public text staff can edit, such as the referrals on the offering page."""

    __tablename__ = "content_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # Markdown, rendered through the sanitiser.
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StaffUser(UserMixin, db.Model):
    """An account of the association's staff."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Attendance(db.Model):
    """Whether a registered person was present at one activity (one session of a series)."""

    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("registration_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    is_present: Mapped[bool]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(db.Model):
    """Who of the staff did what to which activity or registration, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    # "event", "series", "registration" or "staff"; with subject_id the row acted on.
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    staff_user: Mapped[StaffUser | None] = relationship()


VALID_ATTESTATION = "replaced_at IS NULL AND revoked_at IS NULL"


class Attestation(db.Model):
    """A certificate of attendance as it was issued: what it states is kept here, so it stays
    verifiable after the registration is anonymised and whatever happens to the activity.

    A correction issues a new one and marks this one replaced; staff may revoke one.
    """

    __tablename__ = "attestations"
    __table_args__ = (
        CheckConstraint("(event_id IS NULL) <> (series_id IS NULL)",
                        name="attests_one_event_or_series"),
        # Whatever two staff do at once, a person holds one valid attestation of an activity.
        Index("uq_attestations_valid_per_registration", "registration_id", unique=True,
              postgresql_where=text(VALID_ATTESTATION), sqlite_where=text(VALID_ATTESTATION)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What a third party types or scans: unguessable (see services.attestations.new_code).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # Kept after anonymisation (the registration row stays, nameless); None once erased.
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    person_name: Mapped[str] = mapped_column(String(201))
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    # The sessions attended, in order: [{"title", "starts_at", "ends_at"}] in ISO 8601 (UTC).
    sessions: Mapped[list] = mapped_column(JSON)
    minutes: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("attestations.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(Text, default="")
    # After this moment the record is deleted by ``flask privacy purge``.
    verifiable_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    registration: Mapped[Registration | None] = relationship()
    replaced_by: Mapped["Attestation | None"] = relationship(remote_side=[id])

    @property
    def is_valid(self) -> bool:
        return self.replaced_at is None and self.revoked_at is None


class EvaluationQuestion(db.Model):
    """One question of the evaluation form of a kind of activity, as staff worded it."""

    __tablename__ = "evaluation_questions"
    __table_args__ = (Index("ix_evaluation_questions_kind_position", "kind", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    position: Mapped[int] = mapped_column(default=0)
    # "score" (1 to 5), "text" (an open answer) or "theme" (one of the themes).
    answer_type: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(300))
    is_required: Mapped[bool] = mapped_column(default=False)
    # A question taken out of the form keeps its answers.
    is_active: Mapped[bool] = mapped_column(default=True)


class EvaluationInvitation(db.Model):
    """The one-use link of one person to the evaluation of one activity.

    It records whether it was used, never when, and no answer refers to it: who answered
    what cannot be read from the database.
    """

    __tablename__ = "evaluation_invitations"
    __table_args__ = (UniqueConstraint("registration_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    # For erasure and the mail; set to None when the person's data is erased.
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"))
    is_used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvaluationResponse(db.Model):
    """One anonymous set of answers about one activity; only the day it came in is kept."""

    __tablename__ = "evaluation_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    submitted_on: Mapped[date] = mapped_column(Date)

    answers: Mapped[list["EvaluationAnswer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan")


class EvaluationAnswer(db.Model):
    """The answer to one question: a score, a text or a theme."""

    __tablename__ = "evaluation_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("evaluation_questions.id"), index=True)
    score: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text, default="")
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="SET NULL"))

    response: Mapped[EvaluationResponse] = relationship(back_populates="answers")
    question: Mapped[EvaluationQuestion] = relationship()
    theme: Mapped[Theme | None] = relationship()


class Material(db.Model):
    """A file or a link staff share with the participants of an activity or a series."""

    __tablename__ = "materials"
    __table_args__ = (
        CheckConstraint("(event_id IS NULL) <> (series_id IS NULL)",
                        name="material_of_one_event_or_series"),
        CheckConstraint("(url IS NULL) <> (stored_name IS NULL)", name="material_file_or_link"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))
    # A random name in MATERIALS_FOLDER; never derived from what the uploader called it.
    stored_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(120), default="")
    size_bytes: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    @property
    def is_file(self) -> bool:
        return self.stored_name is not None
