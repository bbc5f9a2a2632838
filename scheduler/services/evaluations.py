"""Evaluations after an activity: who is asked, the anonymous answers, and what staff see.

The day after an activity, everyone marked present gets one invitation: a row that holds their
registration and a random one-use token, and a mail with the link. The invitation records
whether it was used, never when.

Who answered what cannot be read from the database or the logs:

- An answer is stored as a response (the activity and the day it came in, no time) with its
  answers. Neither refers to the invitation or the registration, and no audit entry is made.
  Claiming the invitation and storing the answers are one transaction, so an answer is never
  lost nor stored twice; nothing in the rows tells which invitation the response used.
- PostgreSQL stamps every row with the transaction that last wrote it (``xmin``), so the
  claimed invitation and the new response would carry the same number. The same transaction
  therefore rewrites every invitation of the activity unchanged: they all carry that number
  and none stands out. Their rows are locked in id order first, so two people answering at once
  wait for each other instead of deadlocking. (SQLite keeps no such stamp.)
- The request log replaces the token in ``/evaluatie/<token>`` and never logs what a form
  held; this module logs nothing.
- The tokens are deleted once the form has closed (``purge``), and an invitation forgets its
  registration when the person's data is erased or anonymised (``forget_registrations``).

What no design hides: with one person present, the one answer is theirs. Staff see how many
answered, so they can judge that themselves.

The form takes answers until EVALUATION_OPEN_DAYS after the activity's end. Staff word the
questions per kind; results group by question id, so a reworded question keeps its answers,
and a question with answers is taken out of the form rather than deleted.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from babel.numbers import format_decimal
from flask import current_app
from sqlalchemy import (
    and_,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)

from scheduler import labels
from scheduler.dates import local, start_of_day
from scheduler.errors import SchedulerError
from scheduler.extensions import begin_write_transaction, db, insert_or_update
from scheduler.links import public_url
from scheduler.models import (
    Attendance,
    EvaluationAnswer,
    EvaluationInvitation,
    EvaluationQuestion,
    EvaluationResponse,
    Event,
    EventKind,
    EventStatus,
    OutboxMessage,
    Registration,
    StaffUser,
    Theme,
    new_token,
    utcnow,
)
from scheduler.services import audit, notifications
from scheduler.services.tokens import find_by_token

SCORE, TEXT, THEME = "score", "text", "theme"
ANSWER_TYPES = {SCORE: "Score van 1 tot 5", TEXT: "Open antwoord", THEME: "Thema voor later"}
SCORES = (1, 2, 3, 4, 5)
TEXT_MAX_LENGTH = 2000
LABEL_MAX_LENGTH = 300
# The answer to a theme question that names no theme.
NO_PREFERENCE = 0
NO_PREFERENCE_LABEL = "Geen voorkeur"


class InvitationUsedError(SchedulerError):
    message = "Je hebt deze vragenlijst al ingevuld. Bedankt voor je antwoorden!"


class EvaluationClosedError(SchedulerError):
    message = ("Deze vragenlijst is afgesloten: ze kon tot {days} dagen na de activiteit "
               "ingevuld worden.")


class InvalidAnswerError(SchedulerError):
    message = "Een antwoord kon niet verwerkt worden. Controleer het formulier."


class QuestionHasAnswersError(SchedulerError):
    message = ("Deze vraag heeft al antwoorden en blijft daarom bewaard. Zet ze uit om ze uit "
               "de vragenlijst te halen.")


def open_days() -> int:
    return current_app.config["EVALUATION_OPEN_DAYS"]


def closes_at(event: Event) -> datetime:
    """The moment the form of this activity stops taking answers."""
    return event.ends_at + timedelta(days=open_days())


def average_label(value: float | None) -> str:
    """An average as Belgian Dutch writes it: 4,3; a dash when nobody answered."""
    return "–" if value is None else format_decimal(value, "0.0", locale="nl_BE")


def queue_invitations(now: datetime | None = None) -> int:
    """Invite everyone marked present to evaluate the activity, the day after it ended.

    Activities count that are published, ended before the start of today (Brussels) and at
    most EVALUATION_OPEN_DAYS ago; a session of a series is evaluated on its own, by those
    present at it. Anonymised registrations are not invited. One invitation and one mail per
    person and activity: run again, or twice at once, nothing more is made (the unique
    (registration, activity) pair and the mail's dedupe key). Returns the invitations made.
    """
    now = now or utcnow()
    # On SQLite two runs take turns; on PostgreSQL the second run's insert waits for the
    # first one's commit and skips what it made.
    begin_write_transaction()
    invited = exists().where(EvaluationInvitation.registration_id == Registration.id,
                             EvaluationInvitation.event_id == Event.id)
    pairs = db.session.execute(
        select(Registration, Event)
        .join(Attendance, Attendance.registration_id == Registration.id)
        .join(Event, Event.id == Attendance.event_id)
        .where(Attendance.is_present.is_(True), Registration.anonymised_at.is_(None),
               Event.status == EventStatus.published, Event.ends_at < start_of_day(now),
               Event.ends_at > now - timedelta(days=open_days()), ~invited)
    ).all()
    keys = {_mail_key(registration.id, event.id): (registration, event)
            for registration, event in pairs}
    mailed = set(db.session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
    rows = [{"token": new_token(), "event_id": event.id, "registration_id": registration.id,
             "is_used": False, "created_at": now}
            for key, (registration, event) in keys.items() if key not in mailed]
    if not rows:
        db.session.commit()
        return 0
    made = db.session.execute(
        insert_or_update(EvaluationInvitation).values(rows)
        .on_conflict_do_nothing(index_elements=["registration_id", "event_id"])
        .returning(EvaluationInvitation.registration_id, EvaluationInvitation.event_id,
                   EvaluationInvitation.token)
    ).all()
    for registration_id, event_id, token in made:
        key = _mail_key(registration_id, event_id)
        registration, event = keys[key]
        notifications.queue(
            "evaluation", registration, event=event, dedupe_key=key, with_calendar=False,
            action=("Vragenlijst invullen", public_url("evaluations.answer", token=token)))
    db.session.commit()
    return len(made)


def _mail_key(registration_id: int, event_id: int) -> str:
    return f"evaluation:{registration_id}:{event_id}"


def purge(now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete the invitations (the one-use tokens) of activities whose form has closed, i.e.
    that ended more than EVALUATION_OPEN_DAYS ago; returns how many (a dry run only counts
    them). The caller commits."""
    now = now or utcnow()
    closed = select(Event.id).where(Event.ends_at < now - timedelta(days=open_days()))
    of_closed_forms = EvaluationInvitation.event_id.in_(closed)
    if dry_run:
        return db.session.scalar(select(func.count(EvaluationInvitation.id))
                                 .where(of_closed_forms))
    result = db.session.execute(delete(EvaluationInvitation).where(of_closed_forms)
                                .execution_options(synchronize_session=False))
    return result.rowcount


def forget_registrations(registration_ids: list[int]) -> None:
    """Let the invitations of these registrations forget them (erasure, anonymisation); an
    unused one still opens the form. The caller commits."""
    for start in range(0, len(registration_ids), 500):
        db.session.execute(
            update(EvaluationInvitation)
            .where(EvaluationInvitation.registration_id.in_(registration_ids[start:start + 500]))
            .values(registration_id=None).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class OpenForm:
    """What the form of one invitation shows: the activity, its questions and the themes."""

    event: Event
    questions: list[EvaluationQuestion]
    themes: list[Theme]


def _invitation_by_token(token: str) -> EvaluationInvitation | None:
    # Read afresh: whether it was used is decided by the row as it is now.
    return find_by_token(
        select(EvaluationInvitation).execution_options(populate_existing=True),
        EvaluationInvitation.token, token)


def _open_invitation(token: str, now: datetime) -> tuple[EvaluationInvitation, Event]:
    """The invitation behind a token and its activity, while it may still be answered.
    Raises LookupError, InvitationUsedError or EvaluationClosedError."""
    invitation = _invitation_by_token(token)
    if invitation is None:
        raise LookupError(token)
    event = db.session.get(Event, invitation.event_id)
    if invitation.is_used:
        raise InvitationUsedError()
    if event.status is not EventStatus.published or now >= closes_at(event):
        raise EvaluationClosedError(EvaluationClosedError.message.format(days=open_days()))
    return invitation, event


def open_form(token: str, now: datetime | None = None) -> OpenForm:
    """The form behind a token. Raises LookupError for an unknown token, InvitationUsedError
    when it was used, EvaluationClosedError after EVALUATION_OPEN_DAYS."""
    _invitation, event = _open_invitation(token, now or utcnow())
    return OpenForm(event, active_questions(event.kind), themes())


def active_questions(kind: EventKind) -> list[EvaluationQuestion]:
    """The questions of a kind's form, in order."""
    return list(db.session.scalars(
        select(EvaluationQuestion)
        .where(EvaluationQuestion.kind == kind, EvaluationQuestion.is_active.is_(True))
        .order_by(EvaluationQuestion.position, EvaluationQuestion.id)))


def themes() -> list[Theme]:
    return list(db.session.scalars(select(Theme).order_by(Theme.name)))


# What the form gives per question id: a score (1–5), a text, or a theme id (NO_PREFERENCE
# for none); None or "" when left open.
Answers = dict[int, int | str | None]


def submit(token: str, answers: Answers, now: datetime | None = None) -> None:
    """Store one anonymous response to the form behind ``token``, and use the token up.

    One transaction: the invitation is claimed with a conditional UPDATE (only while unused),
    so of two posts at the same moment one stores its answers and the other is refused; then
    the response (the activity and today's date) and its answers are inserted, none of them
    pointing at the invitation. Raises LookupError, InvitationUsedError or
    EvaluationClosedError as ``open_form`` does, and InvalidAnswerError for an answer the form
    should have refused (a required one missing, a score outside 1–5, an unknown theme).
    """
    now = now or utcnow()
    begin_write_transaction()
    try:
        _store(token, answers, now)
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def _store(token: str, answers: Answers, now: datetime) -> None:
    invitation, event = _open_invitation(token, now)
    questions = active_questions(event.kind)
    answer_rows = _answer_rows(questions, answers)
    restamp = db.session.get_bind().dialect.name == "postgresql"
    of_event = EvaluationInvitation.event_id == event.id
    if restamp:
        db.session.execute(select(EvaluationInvitation.id).where(of_event)
                           .order_by(EvaluationInvitation.id).with_for_update())
    claimed = db.session.execute(
        update(EvaluationInvitation)
        .where(EvaluationInvitation.id == invitation.id, EvaluationInvitation.is_used.is_(False))
        .values(is_used=True).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        raise InvitationUsedError()
    if restamp:
        # See the module's docstring: every invitation of the activity now carries this
        # transaction's number, not only the one just used.
        db.session.execute(
            update(EvaluationInvitation)
            .where(of_event, EvaluationInvitation.id != invitation.id)
            .values(is_used=EvaluationInvitation.is_used)
            .execution_options(synchronize_session=False))
    response = EvaluationResponse(event_id=event.id, submitted_on=local(now).date())
    response.answers = answer_rows
    db.session.add(response)
    db.session.flush()


def _answer_rows(questions: list[EvaluationQuestion], answers: Answers) -> list[EvaluationAnswer]:
    theme_names = dict(db.session.execute(select(Theme.id, Theme.name)).all())
    rows = []
    for question in questions:
        given = answers.get(question.id)
        if given is None or given == "":
            if question.is_required:
                raise InvalidAnswerError()
            continue
        if question.answer_type == SCORE:
            if not isinstance(given, int) or given not in SCORES:
                raise InvalidAnswerError()
            rows.append(EvaluationAnswer(question_id=question.id, score=given))
        elif question.answer_type == TEXT:
            if not isinstance(given, str) or len(given) > TEXT_MAX_LENGTH:
                raise InvalidAnswerError()
            rows.append(EvaluationAnswer(question_id=question.id, text=given))
        else:
            if not isinstance(given, int) or (given != NO_PREFERENCE and given not in theme_names):
                raise InvalidAnswerError()
            # The theme's name is kept too: a theme deleted later still reads as chosen.
            rows.append(EvaluationAnswer(question_id=question.id,
                                         theme_id=given or None,
                                         text=theme_names.get(given, "")))
    return rows


@dataclass(frozen=True)
class Tally:
    """The scores given to one question: how many, and their sum."""

    count: int = 0
    total: int = 0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(self.count + other.count, self.total + other.total)

    @property
    def average(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def average_label(self) -> str:
        return average_label(self.average)


def _rate(responses: int, invited: int) -> float | None:
    return responses / invited if invited else None


def _invited_counts(events: list[Event], now: datetime) -> dict[int, int]:
    """How many were asked per activity: its invitations while the form is open. Once it has
    closed the invitations are purged, so then those marked present, who were all asked (the
    few anonymised in between excepted); the figure does not change when the purge runs."""
    ids = [event.id for event in events]
    if not ids:
        return {}
    invitations = dict(db.session.execute(
        select(EvaluationInvitation.event_id, func.count(EvaluationInvitation.id))
        .where(EvaluationInvitation.event_id.in_(ids))
        .group_by(EvaluationInvitation.event_id)).all())
    present = dict(db.session.execute(
        select(Attendance.event_id, func.count(Attendance.id))
        .where(Attendance.event_id.in_(ids), Attendance.is_present.is_(True))
        .group_by(Attendance.event_id)).all())
    return {event.id: (present if now >= closes_at(event) else invitations).get(event.id, 0)
            for event in events}


@dataclass(frozen=True)
class ScoreResult:
    """The scores one question got at one activity, 1 to 5."""

    question: EvaluationQuestion
    counts: dict[int, int]

    @property
    def tally(self) -> Tally:
        return Tally(sum(self.counts.values()),
                     sum(score * count for score, count in self.counts.items()))

    @property
    def most(self) -> int:
        """The largest count, the length of the longest bar."""
        return max(self.counts.values(), default=0)


@dataclass(frozen=True)
class ResponseRow:
    """One response as exported: its number, its day and the answer per question id."""

    number: int
    submitted_on: object
    answers: dict[int, int | str]


@dataclass(frozen=True)
class EventResults:
    """What one activity's evaluation gave."""

    event: Event
    invited: int
    questions: list[EvaluationQuestion]
    scores: list[ScoreResult]
    texts: dict[int, list[str]]
    themes: dict[int, list[tuple[str, int]]]
    responses: list[ResponseRow] = field(default_factory=list)
    closes_at: datetime | None = None

    @property
    def rate(self) -> float | None:
        return _rate(len(self.responses), self.invited)


def results(event: Event, now: datetime | None = None) -> EventResults:
    """The results of one activity: asked, answered, per score question the distribution and
    average, the open answers and the themes chosen per question, and every response for the
    export. The questions are those of the kind's form now, and any other with answers here."""
    now = now or utcnow()
    answered = select(EvaluationAnswer.question_id).join(EvaluationResponse).where(
        EvaluationResponse.event_id == event.id)
    questions = list(db.session.scalars(
        select(EvaluationQuestion).where(or_(
            and_(EvaluationQuestion.kind == event.kind, EvaluationQuestion.is_active.is_(True)),
            EvaluationQuestion.id.in_(answered)))
        .order_by(EvaluationQuestion.position, EvaluationQuestion.id)))
    responses = {response_id: ResponseRow(number, submitted_on, {})
                 for number, (response_id, submitted_on) in enumerate(db.session.execute(
                     select(EvaluationResponse.id, EvaluationResponse.submitted_on)
                     .where(EvaluationResponse.event_id == event.id)
                     .order_by(EvaluationResponse.id)).all(), start=1)}
    scores = {q.id: dict.fromkeys(SCORES, 0) for q in questions if q.answer_type == SCORE}
    texts: dict[int, list[str]] = {q.id: [] for q in questions if q.answer_type == TEXT}
    chosen: dict[int, Counter] = {q.id: Counter() for q in questions if q.answer_type == THEME}
    kinds = {q.id: q.answer_type for q in questions}
    for response_id, question_id, score, text, theme_name in db.session.execute(
        select(EvaluationAnswer.response_id, EvaluationAnswer.question_id,
               EvaluationAnswer.score, EvaluationAnswer.text, Theme.name)
        .join(EvaluationResponse).outerjoin(Theme, Theme.id == EvaluationAnswer.theme_id)
        .where(EvaluationResponse.event_id == event.id)
        .order_by(EvaluationAnswer.response_id, EvaluationAnswer.id)
    ):
        answer_type = kinds[question_id]
        if answer_type == SCORE and score in SCORES:
            scores[question_id][score] += 1
            value: int | str = score
        elif answer_type == TEXT:
            texts[question_id].append(text)
            value = text
        else:
            value = theme_name or text or NO_PREFERENCE_LABEL
            chosen[question_id][value] += 1
        responses[response_id].answers[question_id] = value
    return EventResults(
        event=event, invited=_invited_counts([event], now)[event.id], questions=questions,
        scores=[ScoreResult(q, scores[q.id]) for q in questions if q.id in scores],
        texts=texts,
        themes={qid: sorted(counter.items(), key=lambda item: (-item[1], item[0]))
                for qid, counter in chosen.items()},
        responses=list(responses.values()), closes_at=closes_at(event),
    )


@dataclass(frozen=True)
class ActivityRow:
    """One activity in the overview: asked, answered and the score questions' tallies."""

    event: Event
    invited: int
    responses: int
    tallies: dict[int, Tally]

    @property
    def rate(self) -> float | None:
        return _rate(self.responses, self.invited)

    def average_label(self, question_id: int) -> str:
        return self.tallies.get(question_id, Tally()).average_label


@dataclass(frozen=True)
class KindOverview:
    """The activities of one kind in a period, with totals over all of them."""

    kind: EventKind
    questions: list[EvaluationQuestion]
    rows: list[ActivityRow]

    @property
    def invited(self) -> int:
        return sum(row.invited for row in self.rows)

    @property
    def responses(self) -> int:
        return sum(row.responses for row in self.rows)

    @property
    def rate(self) -> float | None:
        return _rate(self.responses, self.invited)

    def average_label(self, question_id: int) -> str:
        """The average over every answer in the period, not the average of the averages."""
        return sum((row.tallies.get(question_id, Tally()) for row in self.rows),
                   Tally()).average_label


KINDS = (EventKind.training, EventKind.visit, EventKind.intervision)


def overview(start: datetime, end: datetime, kind: EventKind | None = None,
             now: datetime | None = None) -> list[KindOverview]:
    """Per kind, the published activities that started in [start, end) and have ended, with
    people marked present or answers; six statements whatever the number of activities."""
    now = now or utcnow()
    kinds = (kind,) if kind else KINDS
    someone_there = exists().where(Attendance.event_id == Event.id,
                                   Attendance.is_present.is_(True))
    answered = exists().where(EvaluationResponse.event_id == Event.id)
    events = list(db.session.scalars(
        select(Event).where(Event.status == EventStatus.published, Event.kind.in_(kinds),
                            Event.starts_at >= start, Event.starts_at < end,
                            Event.ends_at <= now, or_(someone_there, answered))
        .order_by(Event.starts_at, Event.id)))
    ids = [event.id for event in events]
    invited = _invited_counts(events, now)
    responses = dict(db.session.execute(
        select(EvaluationResponse.event_id, func.count(EvaluationResponse.id))
        .where(EvaluationResponse.event_id.in_(ids))
        .group_by(EvaluationResponse.event_id)).all()) if ids else {}
    tallies: dict[int, dict[int, Tally]] = {event_id: {} for event_id in ids}
    if ids:
        for event_id, question_id, count, total in db.session.execute(
            select(EvaluationResponse.event_id, EvaluationAnswer.question_id,
                   func.count(EvaluationAnswer.score), func.sum(EvaluationAnswer.score))
            .join(EvaluationResponse)
            .where(EvaluationResponse.event_id.in_(ids), EvaluationAnswer.score.is_not(None))
            .group_by(EvaluationResponse.event_id, EvaluationAnswer.question_id)
        ):
            tallies[event_id][question_id] = Tally(count, int(total or 0))
    answered_ids = {question_id for by_question in tallies.values() for question_id in by_question}
    questions = list(db.session.scalars(
        select(EvaluationQuestion).where(
            EvaluationQuestion.answer_type == SCORE,
            or_(and_(EvaluationQuestion.kind.in_(kinds), EvaluationQuestion.is_active.is_(True)),
                EvaluationQuestion.id.in_(answered_ids)))
        .order_by(EvaluationQuestion.position, EvaluationQuestion.id)))
    result = []
    for each in kinds:
        rows = [ActivityRow(event, invited[event.id], responses.get(event.id, 0),
                            tallies[event.id]) for event in events if event.kind is each]
        used = {question_id for row in rows for question_id in row.tallies}
        result.append(KindOverview(each, [q for q in questions if q.id in used or (
            q.kind is each and q.is_active)], rows))
    return result


@dataclass(frozen=True)
class KindFigures:
    """The evaluations of one kind in the yearly report."""

    responses: int
    # (label, answers, tally) per score question that got answers, in the form's order.
    averages: list[tuple[str, Tally]]


def figures_per_kind(start: datetime, end: datetime) -> dict[EventKind, KindFigures]:
    """Responses and the average of each score question per kind, for the published
    activities that started in [start, end); one statement (the yearly report counts them)."""
    in_period = (Event.status == EventStatus.published, Event.starts_at >= start,
                 Event.starts_at < end)
    # The responses per kind, and the scores per kind and question, in one result: the rows of
    # the first part have no question.
    responses = (
        select(Event.kind, null().label("question_id"), literal("").label("label"),
               literal(0).label("position"), func.count(EvaluationResponse.id).label("count"),
               literal(0).label("total"))
        .join(Event, Event.id == EvaluationResponse.event_id).where(*in_period)
        .group_by(Event.kind))
    scores = (
        select(Event.kind, EvaluationQuestion.id, EvaluationQuestion.label,
               EvaluationQuestion.position, func.count(EvaluationAnswer.score),
               func.sum(EvaluationAnswer.score))
        .select_from(EvaluationAnswer)
        .join(EvaluationResponse).join(Event, Event.id == EvaluationResponse.event_id)
        .join(EvaluationQuestion, EvaluationQuestion.id == EvaluationAnswer.question_id)
        .where(*in_period, EvaluationAnswer.score.is_not(None))
        .group_by(Event.kind, EvaluationQuestion.id, EvaluationQuestion.label,
                  EvaluationQuestion.position))
    both = union_all(responses, scores).subquery()
    counted = dict.fromkeys(KINDS, 0)
    averages: dict[EventKind, list[tuple[str, Tally]]] = {kind: [] for kind in KINDS}
    for kind, question_id, label, _position, count, total in db.session.execute(
            select(both).order_by(both.c.position, both.c.question_id)):
        kind = EventKind(kind) if not isinstance(kind, EventKind) else kind
        if question_id is None:
            counted[kind] = count
        else:
            averages[kind].append((label, Tally(count, int(total or 0))))
    return {kind: KindFigures(counted[kind], averages[kind]) for kind in KINDS}


def questions_of(kind: EventKind) -> list[EvaluationQuestion]:
    """Every question of a kind, taken out or not, in the form's order."""
    return list(db.session.scalars(
        select(EvaluationQuestion).where(EvaluationQuestion.kind == kind)
        .order_by(EvaluationQuestion.position, EvaluationQuestion.id)))


def answered_questions(question_ids: list[int]) -> set[int]:
    """Which of these questions have answers (and so cannot be deleted)."""
    if not question_ids:
        return set()
    return set(db.session.scalars(
        select(EvaluationAnswer.question_id).where(EvaluationAnswer.question_id.in_(question_ids))
        .distinct()))


@dataclass(frozen=True)
class QuestionEdit:
    """What staff set for one question: its words, whether required, shown, and its place."""

    question_id: int
    label: str
    is_required: bool
    is_active: bool
    position: int


def update_questions(kind: EventKind, edits: list[QuestionEdit], staff: StaffUser) -> int:
    """Save the questions of a kind as staff edited them; returns how many changed.

    The order follows the positions given (a question moved to a place that is taken goes
    first) and is then numbered 1, 2, 3 …. A reworded question keeps its id, so its answers
    stay together. Every changed question gets an audit line. Raises LookupError for a
    question of another kind, SchedulerError when no question would be left in the form.
    """
    questions = {question.id: question for question in questions_of(kind)}
    if any(edit.question_id not in questions for edit in edits):
        raise LookupError("question")
    edited = {edit.question_id: edit for edit in edits}
    order = sorted(questions.values(), key=lambda q: (
        edited[q.id].position if q.id in edited else q.position,
        0 if q.id in edited and edited[q.id].position != q.position else 1,
        q.position, q.id))
    changed = 0
    for place, question in enumerate(order, start=1):
        edit = edited.get(question.id)
        changes = []
        if edit is not None:
            if edit.label != question.label:
                changes.append(f"tekst was «{question.label}»")
                question.label = edit.label
            if edit.is_required != question.is_required:
                changes.append("verplicht" if edit.is_required else "niet verplicht")
                question.is_required = edit.is_required
            if edit.is_active != question.is_active:
                changes.append("weer in de vragenlijst" if edit.is_active
                               else "uit de vragenlijst gehaald")
                question.is_active = edit.is_active
        if place != question.position:
            changes.append(f"plaats {question.position} → {place}")
            question.position = place
        if changes:
            changed += 1
            audit.record(staff, "evaluation.question_edit", "evaluation_question", question.id,
                         f"{labels.KIND[kind]}: «{question.label}»: {'; '.join(changes)}")
    if not any(question.is_active for question in questions.values()):
        # A form without questions would store empty responses that count as answers.
        db.session.rollback()
        raise SchedulerError("Laat minstens één vraag in de vragenlijst staan.")
    db.session.commit()
    return changed


def add_question(kind: EventKind, answer_type: str, label: str, is_required: bool,
                 staff: StaffUser) -> EvaluationQuestion:
    """Add a question at the end of a kind's form; audited. Raises ValueError for an unknown
    answer type."""
    if answer_type not in ANSWER_TYPES:
        raise ValueError(answer_type)
    last = db.session.scalar(
        select(func.max(EvaluationQuestion.position)).where(EvaluationQuestion.kind == kind))
    question = EvaluationQuestion(kind=kind, position=(last or 0) + 1, answer_type=answer_type,
                                  label=label, is_required=is_required, is_active=True)
    db.session.add(question)
    db.session.flush()
    audit.record(staff, "evaluation.question_add", "evaluation_question", question.id,
                 f"{labels.KIND[kind]}: «{label}» ({ANSWER_TYPES[answer_type].lower()})")
    db.session.commit()
    return question


def delete_question(kind: EventKind, question_id: int, staff: StaffUser) -> None:
    """Delete a question that has no answers; audited. Raises LookupError for a question of
    another kind, QuestionHasAnswersError when it has answers (take it out instead)."""
    question = db.session.get(EvaluationQuestion, question_id)
    if question is None or question.kind is not kind:
        raise LookupError(question_id)
    if answered_questions([question_id]):
        raise QuestionHasAnswersError()
    audit.record(staff, "evaluation.question_delete", "evaluation_question", question.id,
                 f"{labels.KIND[kind]}: «{question.label}»")
    db.session.delete(question)
    db.session.commit()
