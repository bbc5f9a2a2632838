"""What the evaluations gave, for staff: per activity (the distribution and average of each
score question, the open answers, the themes chosen, every response for the export), per kind
over a period, and the figures of the yearly report. Nothing here names a person: the answers
are stored without one (see ``evaluations``)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from babel.numbers import format_decimal
from sqlalchemy import and_, exists, func, literal, null, or_, select, union_all

from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    EvaluationAnswer,
    EvaluationInvitation,
    EvaluationQuestion,
    EvaluationResponse,
    Event,
    EventKind,
    EventStatus,
    Theme,
    utcnow,
)
from scheduler.services.evaluations import (
    NO_PREFERENCE_LABEL,
    SCORE,
    SCORES,
    TEXT,
    THEME,
    closes_at,
)


def average_label(value: float | None) -> str:
    """An average as Belgian Dutch writes it: 4,3; a dash when nobody answered."""
    return "–" if value is None else format_decimal(value, "0.0", locale="nl_BE")


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
