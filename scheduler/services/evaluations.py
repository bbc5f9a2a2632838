"""Evaluations after an activity: who is asked and the anonymous answers. What staff see is in
``evaluation_results``, the questions they word in ``evaluation_questions``.

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

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, exists, func, select, update

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
    Theme,
    new_token,
    utcnow,
)
from scheduler.services import notifications
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


def open_days() -> int:
    return current_app.config["EVALUATION_OPEN_DAYS"]


def closes_at(event: Event) -> datetime:
    """The moment the form of this activity stops taking answers."""
    return event.ends_at + timedelta(days=open_days())


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
