"""Random sequences of what staff do after an activity (attendance taken and corrected, made
final, sessions cancelled, the activity renamed, a name corrected, attestations revoked and
issued again) while two mail senders work, one of them taking its time, and the rules about
attestations and their mails that must hold after every step, on the real databases."""

import itertools
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import and_, or_, select

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    Attestation,
    Event,
    EventKind,
    EventStatus,
    MailStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Role,
    Series,
    utcnow,
)
from scheduler.services import attestations, moderation, outbox, planning
from scheduler.services import series as series_service
from scheduler.services import staff as staff_service
from tests.helpers import event_fields

RUNS = itertools.count()
PEOPLE = 3


class AttestationMachine(RuleBasedStateMachine):
    """One past activity, or a series of three past sessions, and three people enrolled."""

    def __init__(self) -> None:
        super().__init__()
        self.run = next(RUNS)
        self.staff = staff_service.find_by_email("attest@vvsg.be") or \
            staff_service.create_staff("attest@vvsg.be", None)
        self.present: dict[tuple[int, int], bool] = {}
        self.revoked: set[int] = set()
        self.cancelled: set[int] = set()
        self.last_names = {person: f"{self.run}-{person}" for person in range(PEOPLE)}
        # A mail the second sender claimed and composed but has not recorded as sent yet.
        self.in_flight: tuple[int, outbox.notifications.Words] | None = None
        self.mail_folder = Path(tempfile.mkdtemp(prefix="attest-mail-"))

    @initialize(is_series=st.booleans())
    def plan(self, is_series: bool) -> None:
        start = (utcnow() - timedelta(days=40)).replace(second=0, microsecond=0)
        if is_series:
            self.owner = Series(slug=f"attest-reeks-{self.run}", title="Reeks",
                                kind=EventKind.intervision)
            db.session.add(self.owner)
            # Two sessions that took place and one running now: only that one can still be
            # cancelled.
            now = utcnow().replace(second=0, microsecond=0)
            moments = [(start + timedelta(days=7 * number),
                        start + timedelta(days=7 * number, hours=2, minutes=15 * number))
                       for number in (1, 2)] + [(now - timedelta(hours=1),
                                                 now + timedelta(hours=2))]
            self.sessions = [Event(
                series=self.owner, kind=EventKind.intervision, status=EventStatus.published,
                title=f"Bijeenkomst {number}", slug=f"attest-reeks-{self.run}-{number}",
                starts_at=starts_at, ends_at=ends_at)
                for number, (starts_at, ends_at) in enumerate(moments, start=1)]
            db.session.add_all(self.sessions)
        else:
            self.owner = Event(kind=EventKind.training, status=EventStatus.published,
                               title="Vorming", slug=f"attest-vorming-{self.run}",
                               starts_at=start, ends_at=start + timedelta(hours=3))
            db.session.add(self.owner)
            self.sessions = [self.owner]
        self.people = []
        for number in range(PEOPLE):
            registration = Registration(
                first_name="Persoon", last_name=f"{self.run}-{number}",
                email=f"attest{self.run}-{number}@example.org",
                email_normalised=f"attest{self.run}-{number}@example.org",
                role=Role.medewerker, status=RegistrationStatus.confirmed)
            if is_series:
                registration.series = self.owner
            else:
                registration.event = self.owner
            self.people.append(registration)
        db.session.add_all(self.people)
        db.session.commit()

    @rule(person=st.integers(0, PEOPLE - 1), session=st.integers(0, 2), present=st.booleans())
    def take_attendance(self, person: int, session: int, present: bool) -> None:
        event = self.sessions[session % len(self.sessions)]
        moderation.set_attendance(self.people[person], event, present, self.staff)
        self.present[(person, event.id)] = present

    # Staff make the attendance final once some was taken: the interesting sequences.
    @precondition(lambda self: any(self.present.values()))
    @rule(session=st.integers(0, 2))
    def make_final(self, session: int) -> None:
        event = self.sessions[session % len(self.sessions)]
        try:
            attestations.make_final(event, self.staff)
        except SchedulerError:
            db.session.rollback()
            assert event.attendance_final_at is not None or event.is_cancelled

    @precondition(lambda self: len(self.sessions) > 1)
    @rule(session=st.integers(0, 2))
    def cancel_a_session(self, session: int) -> None:
        """A session called off afterwards (it did not take place after all)."""
        event = self.sessions[session]
        try:
            planning.cancel_event(event, "Toch niet doorgegaan.", self.staff)
        except SchedulerError:
            # Cancelled already, or over: what took place stays attested.
            assert event.is_cancelled or event.has_ended(utcnow())
        else:
            self.cancelled.add(event.id)

    @rule(title=st.sampled_from(["Vorming", "Lokale aanpak", "Reeks"]))
    def rename_the_activity(self, title: str) -> None:
        """Staff correct the title afterwards: what the attestations state follows."""
        if isinstance(self.owner, Series):
            series_service.update_series(self.owner, series_service.SeriesSettings(
                title=title, summary=self.owner.summary, capacity=self.owner.capacity,
                is_moderated=self.owner.is_moderated), self.staff)
        else:
            planning.save_event(self.owner, event_fields(self.owner, title=title), self.staff)

    @rule(person=st.integers(0, PEOPLE - 1), last_name=st.sampled_from(["Peeters", "Maes"]))
    def correct_the_name(self, person: int, last_name: str) -> None:
        """Staff correct a misspelt name on a valid attestation."""
        current = attestations.shown_to(self.people[person])
        if current is None or not current.is_valid:
            return
        self.last_names[person] = f"{last_name}-{self.run}-{person}"
        attestations.correct_name(current, "Persoon", self.last_names[person], self.staff)

    @rule(person=st.integers(0, PEOPLE - 1))
    def revoke(self, person: int) -> None:
        current = attestations.shown_to(self.people[person])
        if current is None or not current.is_valid:
            return
        attestations.revoke(current, "Vergissing.", self.staff)
        self.revoked.add(person)

    @rule(person=st.integers(0, PEOPLE - 1))
    def issue_again(self, person: int) -> None:
        try:
            attestations.issue_again(self.people[person], self.staff)
        except SchedulerError:
            db.session.rollback()
            assert person not in self.revoked or not self.attended(person)
        else:
            self.revoked.discard(person)

    # The second sender works in two steps (the outbox's own halves of one delivery): it claims
    # and composes the first mail due, and records it as sent later, while the rest goes on.
    @precondition(lambda self: self.in_flight is None)
    @rule()
    def a_second_sender_takes_a_mail(self) -> None:
        now = utcnow()
        # Only this run's mails: what earlier runs left must not change what it draws.
        claimable = and_(OutboxMessage.registration_id.in_([p.id for p in self.people]),
                         OutboxMessage.status == MailStatus.pending,
                         OutboxMessage.next_attempt_at <= now,
                         or_(OutboxMessage.leased_until.is_(None),
                             OutboxMessage.leased_until < now))
        message_id = db.session.scalar(select(OutboxMessage.id).where(claimable)
                                       .order_by(OutboxMessage.id).limit(1))
        if message_id is None or not outbox._claim(message_id, claimable,
                                                   now + timedelta(minutes=10)):
            return
        prepared = outbox._prepare(message_id, now)
        if not isinstance(prepared, str):
            self.in_flight = (message_id, prepared[1])

    @precondition(lambda self: self.in_flight is not None)
    @rule()
    def the_second_sender_is_done(self) -> None:
        message_id, words = self.in_flight
        outbox._record(message_id, None, words, permanent=False, max_attempts=8)
        self.in_flight = None

    @rule()
    def send_mail(self) -> None:
        before = set(db.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.status == MailStatus.sent)))
        # With nothing in the second sender's hands, what was put off for it is due as well.
        later = timedelta(minutes=2) if self.in_flight is None else timedelta()
        outbox.deliver_pending(outbox.FolderTransport(self.mail_folder), now=utcnow() + later)
        db.session.expire_all()
        sent = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "attestation", OutboxMessage.status == MailStatus.sent,
            OutboxMessage.id.not_in(before))).all()
        for mail in sent:
            # Nothing that stopped being valid before its mail left went out.
            assert db.session.get(Attestation, mail.facts["attestation_id"]).is_valid
        for person, registration in enumerate(self.people):
            received = db.session.scalars(
                select(OutboxMessage.kind).where(
                    OutboxMessage.registration_id == registration.id,
                    OutboxMessage.kind.in_(("attestation", "attestation_withdrawn")),
                    OutboxMessage.status == MailStatus.sent)
                .order_by(OutboxMessage.sent_at, OutboxMessage.id)).all()
            # Word that an attestation no longer holds follows one that reached them, once.
            for earlier, later in itertools.pairwise(["attestation_withdrawn", *received]):
                assert later == "attestation" or earlier == "attestation", received
            if self.in_flight is None and "attestation" in received:
                # Everything due went: left with nothing valid, they were told so last.
                holds_one = any(attestation.is_valid for attestation in self.issued_to(person))
                assert (received[-1] == "attestation_withdrawn") == (not holds_one), received

    def attended(self, person: int) -> list[Event]:
        return [event for event in self.sessions
                if self.present.get((person, event.id)) and event.id not in self.cancelled]

    def is_final(self) -> bool:
        held = [event for event in self.sessions if event.id not in self.cancelled]
        return bool(held) and all(event.attendance_final_at is not None for event in held)

    def issued_to(self, person: int) -> list[Attestation]:
        return db.session.scalars(select(Attestation).where(
            Attestation.registration_id == self.people[person].id)).all()

    @invariant()
    def each_person_has_at_most_one_current_attestation(self) -> None:
        db.session.expire_all()
        for person in range(PEOPLE):
            issued = self.issued_to(person)
            assert sum(attestation.is_valid for attestation in issued) <= 1
            assert sum(attestation.replaced_by_id is None for attestation in issued) <= 1

    @invariant()
    def the_valid_attestation_states_exactly_what_was_attended(self) -> None:
        for person in range(PEOPLE):
            valid = [a for a in self.issued_to(person) if a.is_valid]
            attended = self.attended(person)
            if person in self.revoked:
                assert valid == []
                continue
            assert bool(valid) == bool(attended)
            if valid:
                (attestation,) = valid
                assert [row["title"] for row in attestation.sessions] == [
                    event.title for event in attended]
                assert attestation.minutes == sum(
                    round((event.ends_at - event.starts_at).total_seconds() / 60)
                    for event in attended)
                assert attestation.person_name == f"Persoon {self.last_names[person]}"
                assert attestation.title == self.owner.title

    @invariant()
    def attestations_are_mailed_once_and_only_once_the_attendance_is_final(self) -> None:
        mails = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "attestation",
            OutboxMessage.registration_id.in_([p.id for p in self.people]))).all()
        mailed = [mail.facts["attestation_id"] for mail in mails]
        assert len(mailed) == len(set(mailed))
        if not self.is_final():
            assert mailed == []
            return
        for person in range(PEOPLE):
            for attestation in self.issued_to(person):
                if attestation.is_valid:
                    assert attestation.id in mailed

    @invariant()
    def a_replaced_attestation_names_a_later_one_of_the_same_person(self) -> None:
        for person in range(PEOPLE):
            issued = {a.id: a for a in self.issued_to(person)}
            for attestation in issued.values():
                if attestation.replaced_by_id is not None:
                    assert attestation.replaced_by_id in issued
                    assert attestation.replaced_by_id > attestation.id
                    assert attestation.replaced_at is not None

    def teardown(self) -> None:
        db.session.rollback()
        shutil.rmtree(self.mail_folder, ignore_errors=True)


def test_attestations_hold_whatever_staff_do_after_the_activity(app):
    """50 sequences of up to 20 steps per database; `make fuzz` runs many more."""
    run_state_machine_as_test(AttestationMachine, settings=settings(
        max_examples=int(os.environ.get("SCHEDULER_STATE_MACHINE_EXAMPLES", "100")) // 2,
        stateful_step_count=20, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
