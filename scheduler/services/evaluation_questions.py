"""The questions of the evaluation form, per kind, as staff word, order, require, take out,
add and delete them; every change audited. A question with answers is never deleted, and the
form always keeps at least one question."""

from dataclasses import dataclass

from sqlalchemy import func, select

from scheduler import labels
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import EvaluationAnswer, EvaluationQuestion, EventKind, StaffUser
from scheduler.services import audit
from scheduler.services.evaluations import ANSWER_TYPES


class QuestionHasAnswersError(SchedulerError):
    message = ("Deze vraag heeft al antwoorden en blijft daarom bewaard. Zet ze uit om ze uit "
               "de vragenlijst te halen.")


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
