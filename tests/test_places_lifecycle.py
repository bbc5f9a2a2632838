"""Random sequences of what people and staff do to an activity or a series, and the rules about
places, mails, calendars and personal data that must hold after every step, on the real
databases. The table these rules come from is docs/lifecycle.md."""

import contextlib
import functools
import itertools
import os
import shutil
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path

import icalendar
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    ACTIVE_STATUSES,
    SEAT_HOLDING_STATUSES,
    AuditEntry,
    Event,
    EventKind,
    EventStatus,
    MailStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Series,
    utcnow,
)
from scheduler.services import (
    handover,
    moderation,
    notifications,
    outbox,
    people,
    places,
    planning,
    privacy,
    registrations,
)
from scheduler.services import series as series_service
from scheduler.services import staff as staff_service
from tests.helpers import applicant, event_fields, vevents, words

S = RegistrationStatus
ORGANISATIONS = ("Gent", "Genk", "Aalst")
CAPACITIES = st.one_of(st.none(), st.integers(min_value=0, max_value=3))
MAXIMUMS = st.one_of(st.none(), st.integers(min_value=1, max_value=2))
# The last mail about a registration's status tells the person where they stand now.
STATUS_MAILS = {
    "registration_confirmed": S.confirmed, "promoted": S.confirmed, "approved": S.confirmed,
    "registration_pending": S.pending, "promoted_pending": S.pending,
    "registration_waiting": S.waiting, "cancelled_by_person": S.cancelled,
    "declined": S.declined, "handed_over": S.handed_over, "handover_received": S.confirmed,
}
RUNS = itertools.count()


def step(**strategies):
    """A rule after which the invariants read the database again."""
    def decorate(action):
        @functools.wraps(action)
        def act(self, **arguments):
            self.read = None
            return action(self, **arguments)
        return rule(**strategies)(act)
    return decorate


class LifecycleMachine(RuleBasedStateMachine):
    """One activity or one series with its sessions, driven by registrations and staff."""

    last_message_before_cancelling: int | None = None

    def __init__(self) -> None:
        super().__init__()
        self.run = next(RUNS)
        self.people = itertools.count(1)
        self.tokens: list[str] = []
        self.staff = staff_service.find_by_email("machine@vvsg.be") or \
            staff_service.create_staff("machine@vvsg.be", None)
        self.last_taken = 0
        self.erased: set[str] = set()
        self.read: list[Registration] | None = None
        self.invitations: dict[str, dict[str, tuple[str, datetime]]] = {}
        self.mail_folder = Path(tempfile.mkdtemp(prefix="lifecycle-mail-"))
        # What search engines and the feed of new activities are told: the first publication
        # once seen, and the start a public activity was last moved from.
        self.first_published: dict[int, datetime] = {}
        self.moved_from: dict[int, datetime] = {}

    @initialize(is_series=st.booleans(), capacity=CAPACITIES, maximum=MAXIMUMS,
                moderated=st.booleans())
    def plan(self, is_series: bool, capacity, maximum, moderated: bool) -> None:
        start = (utcnow() + timedelta(days=30)).replace(second=0, microsecond=0)
        if is_series:
            self.owner = Series(slug=f"reeks-{self.run}", title="Reeks", kind=EventKind.intervision,
                                capacity=capacity, max_per_organisation=maximum,
                                is_moderated=moderated)
            db.session.add(self.owner)
            for number in (1, 2):
                db.session.add(Event(
                    series=self.owner, kind=EventKind.intervision, status=EventStatus.published,
                    title=f"Reeks ({number}/2)", slug=f"reeks-{self.run}-{number}",
                    starts_at=start + timedelta(days=7 * number),
                    ends_at=start + timedelta(days=7 * number, hours=3)))
        else:
            self.owner = Event(kind=EventKind.training, status=EventStatus.published,
                               title="Vorming", slug=f"vorming-{self.run}", starts_at=start,
                               ends_at=start + timedelta(hours=3), capacity=capacity,
                               max_per_organisation=maximum, is_moderated=moderated)
            db.session.add(self.owner)
        # One place elsewhere, for which the same people register: erasure spans activities.
        self.elsewhere = Event(kind=EventKind.training, status=EventStatus.published,
                               title="Elders", slug=f"elders-{self.run}", starts_at=start,
                               ends_at=start + timedelta(hours=2), capacity=1)
        db.session.add(self.elsewhere)
        db.session.commit()

    def sessions(self) -> list[Event]:
        if isinstance(self.owner, Series):
            db.session.refresh(self.owner)
            return list(self.owner.events)
        return [self.owner]

    def active_session(self, index: int) -> Event | None:
        published = [event for event in self.sessions() if event.is_published]
        return published[index % len(published)] if published else None

    def registration(self, index: int) -> Registration | None:
        if not self.tokens:
            return None
        return registrations.find_by_personal_token(self.tokens[index % len(self.tokens)])

    @step(organisation=st.sampled_from(ORGANISATIONS), index=st.integers(0, 3))
    def register(self, organisation: str, index: int) -> None:
        session = self.active_session(index)
        if session is None:
            return
        number = next(self.people)
        outcome = registrations.register(
            session.id, applicant(number, email=f"p{self.run}-{number}@example.org",
                                  organisation=organisation))
        self.tokens.append(outcome.registration.token)

    @step(organisation=st.sampled_from(ORGANISATIONS), index=st.integers(0, 3))
    def add_by_hand(self, organisation: str, index: int) -> None:
        session = self.active_session(index)
        if session is None:
            return
        number = next(self.people)
        with contextlib.suppress(SchedulerError):
            outcome = moderation.register_by_hand(
                session.id, applicant(number, email=f"p{self.run}-{number}@example.org",
                                      organisation=organisation), self.staff)
            self.tokens.append(outcome.registration.token)

    @step(index=st.integers(0, 50))
    def register_elsewhere_too(self, index: int) -> None:
        found = self.registration(index)
        if found is not None:
            registrations.register(self.elsewhere.id, applicant(
                1, first_name=found.first_name, last_name=found.last_name, email=found.email,
                organisation=found.organisation_name))

    @step(index=st.integers(0, 50))
    def erase_a_person(self, index: int) -> None:
        found = self.registration(index)
        if found is not None:
            self.erased.add(found.email_normalised)
            privacy.erase(found.email, self.staff)

    @step(index=st.integers(0, 3), published=st.booleans())
    def publish_or_back_to_draft(self, index: int, published: bool) -> None:
        session = self.sessions()[index % len(self.sessions())]
        with contextlib.suppress(SchedulerError):
            planning.set_published(session, published, self.staff)

    @step(hours=st.integers(-24, 48))
    def move_the_activity(self, hours: int) -> None:
        if isinstance(self.owner, Event):
            start, was_public = self.owner.starts_at, self.owner.published_at is not None
            with contextlib.suppress(SchedulerError):
                planning.save_event(self.owner, event_fields(
                    self.owner, starts_at=self.owner.starts_at + timedelta(hours=hours),
                    ends_at=self.owner.ends_at + timedelta(hours=hours)), self.staff)
            if was_public and self.owner.starts_at != start:
                self.moved_from[self.owner.id] = start

    @step(index=st.integers(0, 50))
    def cancel_through_the_link(self, index: int) -> None:
        found = self.registration(index)
        if found is not None:
            with contextlib.suppress(SchedulerError):
                registrations.cancel_registration(found.token)

    @step(index=st.integers(0, 50),
          decide=st.sampled_from([moderation.approve, moderation.decline, moderation.promote]))
    def staff_decide(self, index: int, decide) -> None:
        found = self.registration(index)
        if found is None:
            return
        with contextlib.suppress(SchedulerError):
            decide(found, self.sessions()[0].id, self.staff)

    @step(index=st.integers(0, 50), anyone=st.booleans(), known=st.booleans(),
          colleague=st.integers(0, 50))
    def hand_over(self, index: int, anyone: bool, known: bool, colleague: int) -> None:
        """Someone with a place (or anyone) hands it to a new address, or to one already
        registered (perhaps their own)."""
        confirmed = [person for person in self.all_registrations()
                     if person.status is S.confirmed]
        self.read = None
        found = self.registration(index) if anyone or not confirmed else \
            confirmed[index % len(confirmed)]
        if found is None:
            return
        other = self.registration(colleague) if known else None
        number = next(self.people)
        address = other.email if other is not None else f"p{self.run}-{number}@example.org"
        with contextlib.suppress(SchedulerError):
            original = handover.hand_over(found.token, handover.Colleague(
                first_name="Collega", last_name=str(number), email=address,
                role=found.role))
            self.tokens.append(original.handed_over_to.token)

    @step(index=st.integers(0, 50), approve=st.booleans())
    def staff_decide_a_hand_over(self, index: int, approve: bool) -> None:
        requested = [person for person in self.all_registrations()
                     if person.status is S.handover_requested]
        self.read = None
        if requested:
            decide = handover.approve if approve else handover.refuse
            with contextlib.suppress(SchedulerError):
                decide(requested[index % len(requested)], self.sessions()[0].id, self.staff)

    @step(capacity=CAPACITIES, maximum=MAXIMUMS, moderated=st.booleans())
    def change_places(self, capacity, maximum, moderated: bool) -> None:
        if isinstance(self.owner, Series):
            series_service.update_series(self.owner, series_service.SeriesSettings(
                title=self.owner.title, capacity=capacity, max_per_organisation=maximum,
                is_moderated=moderated), self.staff)
        else:
            planning.save_event(self.owner, event_fields(
                self.owner, capacity=capacity, max_per_organisation=maximum,
                is_moderated=moderated), self.staff)

    @step(index=st.integers(0, 3), capacity=CAPACITIES, hours=st.integers(0, 48))
    def edit_a_session(self, index: int, capacity, hours: int) -> None:
        """Staff save a session with another time and a capacity typed in the form."""
        session = self.sessions()[index % len(self.sessions())]
        if session.is_session and not session.is_cancelled:
            start, was_public = session.starts_at, session.published_at is not None
            planning.save_event(session, event_fields(
                session, capacity=capacity, is_moderated=False,
                starts_at=session.starts_at + timedelta(hours=hours),
                ends_at=session.ends_at + timedelta(hours=hours)), self.staff)
            if was_public and hours:
                self.moved_from[session.id] = start

    @step()
    def add_a_session(self) -> None:
        """Always at the same moment: from the second time on it is refused (two tabs)."""
        if isinstance(self.owner, Series):
            day = (utcnow() + timedelta(days=90)).date()
            with contextlib.suppress(SchedulerError):
                series_service.add_session(self.owner, series_service.SessionFields(
                    day=day, start_time=time(9), end_time=time(12)), self.staff)

    @step(index=st.integers(0, 3))
    def cancel_a_session(self, index: int) -> None:
        sessions = self.sessions()
        if isinstance(self.owner, Series) and len(sessions) > 1:
            session = sessions[index % len(sessions)]
            if session.is_published:
                planning.cancel_event(session, "Zaal niet vrij.", self.staff)

    @step()
    def the_sender_runs(self) -> None:
        outbox.deliver_pending(outbox.FolderTransport(self.mail_folder))

    @step()
    def cancel_the_activity(self) -> None:
        if isinstance(self.owner, Event) and self.owner.is_published:
            planning.cancel_event(self.owner, "Spreker ziek.", self.staff)
            self.last_message_before_cancelling = db.session.scalar(
                select(db.func.max(OutboxMessage.id))) or 0

    def taken(self) -> int:
        """Counted here from the rows, not by the code under test."""
        return sum(1 for person in self.all_registrations()
                   if person.status in SEAT_HOLDING_STATUSES)

    def all_registrations(self) -> list[Registration]:
        """Read afresh once after each step; every invariant of that step looks at the same."""
        if self.read is None:
            db.session.expire_all()
            self.read = list(db.session.scalars(
                places.registrations_of(self.owner).order_by(Registration.id)))
        return self.read

    @invariant()
    def sessions_stay_in_their_series_and_hold_no_places(self) -> None:
        if hasattr(self, "owner") and isinstance(self.owner, Series):
            for session in self.sessions():
                assert session.series_id == self.owner.id
                assert (session.capacity, session.max_per_organisation,
                        session.is_moderated) == (None, None, False)

    @invariant()
    def search_engines_and_the_new_feed_read_what_happened(self) -> None:
        """Public means published once, a moment that never changes; a public activity moved
        is rescheduled from where it was, never from where it is."""
        if not hasattr(self, "owner"):
            return
        for event in self.sessions():
            if event.status is not EventStatus.draft:
                assert event.published_at is not None
            if event.published_at is not None:
                first = self.first_published.setdefault(event.id, event.published_at)
                assert event.published_at == first
            assert event.previous_starts_at == self.moved_from.get(event.id)
            assert event.previous_starts_at != event.starts_at

    @invariant()
    def places_are_never_overbooked(self) -> None:
        """Above capacity only after staff lowered it, and then never more than before."""
        if not hasattr(self, "owner"):
            return
        taken = self.taken()
        capacity = places.capacity(self.owner)
        assert taken <= max(capacity, self.last_taken)
        self.last_taken = taken

    @invariant()
    def nobody_waits_for_a_place_they_may_take(self) -> None:
        if not hasattr(self, "owner"):
            return
        people = self.all_registrations()
        if not places.takes_places(self.owner, utcnow()):
            return
        free = places.capacity(self.owner) - self.taken()
        limit = self.owner.max_per_organisation
        for person in people:
            if person.status is not S.waiting or free <= 0:
                continue
            held = sum(1 for other in people if other.status in SEAT_HOLDING_STATUSES
                       and other.organisation_id == person.organisation_id)
            assert limit is not None and held >= limit, "waits while a place is free"

    @invariant()
    def the_waiting_list_is_in_order_of_registration(self) -> None:
        if not hasattr(self, "owner"):
            return
        waiting = [p for p in self.all_registrations() if p.status is S.waiting]
        assert [places.waiting_position(p) for p in waiting] == list(range(1, len(waiting) + 1))

    @invariant()
    def everyone_was_told_where_they_stand(self) -> None:
        if not hasattr(self, "owner"):
            return
        for person in self.all_registrations():
            if person.anonymised_at is not None or person.status is S.handover_requested:
                continue
            told = [message.kind for message in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.registration_id == person.id)
                .order_by(OutboxMessage.id)) if message.kind in STATUS_MAILS]
            assert told and STATUS_MAILS[told[-1]] is person.status, (person.status, told)

    @invariant()
    def a_place_handed_over_stays_with_the_organisation(self) -> None:
        """A hand-over waits only beside the confirmed place it would take over, is never
        mailed, and once done points at a registration of the same organisation; a name
        typed for a colleague goes when that colleague's data goes."""
        if not hasattr(self, "owner"):
            return
        people = {person.id: person for person in self.all_registrations()}
        for person in people.values():
            if person.status is S.handover_requested:
                (original,) = [p for p in people.values() if p.handed_over_to_id == person.id]
                assert original.status is S.confirmed and original.anonymised_at is None
                assert db.session.scalar(select(db.func.count(OutboxMessage.id)).where(
                    OutboxMessage.registration_id == person.id)) == 0
            if person.handed_over_to_id is not None:
                taker = people[person.handed_over_to_id]
                assert person.status in (S.handed_over, S.confirmed)
                if (taker.organisation_id, taker.organisation_other) != (
                        person.organisation_id, person.organisation_other):
                    # Registered already for another organisation: the place went to the
                    # waiting list in order, not to them.
                    assert "handover_received" not in db.session.scalars(
                        select(OutboxMessage.kind).where(
                            OutboxMessage.registration_id == taker.id)).all()
                if taker.anonymised_at is not None:
                    assert person.handed_over_to_name == ""
            if person.status is S.handed_over:
                assert person.handed_over_to_id is not None

    @invariant()
    def a_cancelled_activity_gives_no_place(self) -> None:
        after = self.last_message_before_cancelling
        if after is None:
            return
        given = db.session.scalars(
            select(OutboxMessage.kind)
            .join(Registration, Registration.id == OutboxMessage.registration_id)
            .where(places.of_owner(self.owner), OutboxMessage.id > after,
                   OutboxMessage.kind.in_(("promoted", "promoted_pending", "approved",
                                           "registration_confirmed")))
        ).all()
        assert given == []

    @invariant()
    def calendars_hold_what_registrations_say(self) -> None:
        """The last invitation a person got for each session says where they stand now: an
        entry for everyone confirmed in a session that goes on, at its current moment, and a
        cancellation for everyone else who ever had one."""
        if not hasattr(self, "owner"):
            return
        sessions = {session.uid: session for session in self.sessions()}
        for person in self.all_registrations():
            if person.anonymised_at is not None:
                continue
            last: dict[str, tuple[str, datetime]] = {}
            # What the person's calendar holds once the sender has sent what waits: a sent
            # mail as it went, a waiting one as the sender would compose it now.
            for message in db.session.scalars(
                    select(OutboxMessage).where(OutboxMessage.registration_id == person.id)
                    .order_by(OutboxMessage.id)):
                if message.status is MailStatus.pending and (
                        not notifications.CALENDAR_METHOD[message.kind]
                        or not message.facts["calendar"]
                        or notifications.is_superseded(message)):
                    continue
                if message.status in (MailStatus.sent, MailStatus.pending):
                    text = words(message).calendar
                    if text:
                        last.update(self.invitation(text))
            for uid, session in sessions.items():
                told = last.get(uid)
                goes_on = person.status is S.confirmed and session.is_published
                if goes_on:
                    assert told == ("CONFIRMED", session.starts_at), (uid, told)
                elif told is not None:
                    assert told[0] == "CANCELLED", (person.status, uid)

    @invariant()
    def only_a_mail_overtaken_by_a_newer_one_is_superseded(self) -> None:
        """Nobody is left without the last word: a mail is only dropped for a newer one, and
        the newest word on where someone stands goes unless the activity was cancelled after."""
        for person in self.all_registrations():
            if person.anonymised_at is not None:
                continue
            mails = list(person.messages)
            if mails:
                assert mails[-1].status is not MailStatus.superseded, mails[-1].kind
            standing = [m for m in mails if m.kind in notifications.STANDING_KINDS]
            if standing and standing[-1].status is MailStatus.superseded:
                later = [m.kind for m in mails if m.id > standing[-1].id]
                assert "event_cancelled" in later, (standing[-1].kind, later)

    def invitation(self, text: str) -> dict[str, tuple[str, datetime]]:
        """Status and start per UID of a calendar part, parsed once (by text: SQLite gives a
        deleted mail's id to the next one)."""
        if text not in self.invitations:
            self.invitations[text] = {
                str(entry["uid"]): (str(entry["status"]), entry.decoded("dtstart"))
                for entry in icalendar.Calendar.from_ical(text).walk("VEVENT")}
        return self.invitations[text]

    @invariant()
    def the_personal_feed_equals_the_registrations(self) -> None:
        if not hasattr(self, "owner"):
            return
        expected_status = {S.confirmed: "CONFIRMED", S.pending: "TENTATIVE",
                           S.waiting: "TENTATIVE"}
        # An address may have more than one row here (a hand-over to someone registered):
        # the feed shows the active one.
        rows: dict[str, Registration] = {}
        for person in self.all_registrations():
            shown_in_feed = person.anonymised_at is None and \
                person.status is not S.handover_requested
            if shown_in_feed and (person.email_normalised not in rows or person.is_active):
                rows[person.email_normalised] = person
        for person in rows.values():
            feed = people.find_person(person.email)
            body = self.client.get(f"/mijn/{feed.feed_token}.ics").data
            entries = vevents(body)
            shown = {session.uid: session for session in self.sessions()
                     if session.status is not EventStatus.draft}
            assert set(entries) - {self.elsewhere.uid} == set(shown)
            for uid, session in shown.items():
                status = "CANCELLED" if session.is_cancelled else \
                    expected_status.get(person.status, "CANCELLED")
                assert str(entries[uid]["status"]) == status, (person.status, uid)
                assert entries[uid].decoded("dtstart") == session.starts_at
        for person in self.all_registrations():
            feed = people.find_person(person.email)
            if person.status is S.handover_requested and person.email_normalised not in rows \
                    and feed is not None:
                body = self.client.get(f"/mijn/{feed.feed_token}.ics").data
                assert not set(vevents(body)) & {session.uid for session in self.sessions()}

    @invariant()
    def no_mail_goes_to_an_empty_or_erased_address(self) -> None:
        recipients = {address.strip().lower()
                      for address in db.session.scalars(select(OutboxMessage.recipient))}
        assert "" not in recipients and not recipients & self.erased

    @invariant()
    def an_erased_person_holds_nothing_and_their_place_moved_on(self) -> None:
        if not hasattr(self, "owner"):
            return
        db.session.expire_all()
        left = db.session.scalars(select(Registration).where(
            Registration.email_normalised.in_(self.erased),
            Registration.anonymised_at.is_(None) | Registration.status.in_(ACTIVE_STATUSES))
        ).all()
        assert left == []
        elsewhere = list(db.session.scalars(
            places.registrations_of(self.elsewhere).order_by(Registration.id)))
        if not any(person.status in SEAT_HOLDING_STATUSES for person in elsewhere):
            assert not any(person.status is S.waiting for person in elsewhere)

    @invariant()
    def the_audit_log_holds_no_address(self) -> None:
        assert not [summary for summary in db.session.scalars(select(AuditEntry.summary))
                    if "@" in summary]

    def teardown(self) -> None:
        db.session.rollback()
        shutil.rmtree(self.mail_folder, ignore_errors=True)


def test_the_lifecycle_holds_whatever_people_and_staff_do(app):
    """100 sequences of up to 25 steps per database; `make fuzz` runs many more."""
    LifecycleMachine.client = app.test_client()
    run_state_machine_as_test(LifecycleMachine, settings=settings(
        max_examples=int(os.environ.get("SCHEDULER_STATE_MACHINE_EXAMPLES", "100")),
        stateful_step_count=25, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
