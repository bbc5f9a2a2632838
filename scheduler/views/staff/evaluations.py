"""Staff pages for evaluations: the questions per kind and the results."""

from datetime import time, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from scheduler.dates import brussels_to_utc, local
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.forms.evaluations import EvaluationFilterForm, NewQuestionForm, QuestionsForm
from scheduler.forms.fields import KIND_SLUG, KIND_SLUGS, ConfirmForm
from scheduler.models import Event, EventKind, utcnow
from scheduler.services import evaluation_questions as question_service
from scheduler.services import evaluation_results
from scheduler.services.evaluations import ANSWER_TYPES
from scheduler.views.staff.blueprint import bp, button_action
from scheduler.views.staff.exports import csv_download


@bp.get("/activiteiten/<int:event_id>/evaluatie")
def event_evaluation(event_id: int):
    """What the participants of one activity answered: rate, scores with a chart, open
    answers and themes."""
    event = db.get_or_404(Event, event_id)
    return render_template("staff/evaluation.html", event=event, kind_slug=KIND_SLUG[event.kind],
                           results=evaluation_results.results(event), now=utcnow())


@bp.get("/activiteiten/<int:event_id>/evaluatie.csv")
def event_evaluation_csv(event_id: int):
    """Every response of one activity, a column per question, for Excel in Belgium."""
    event = db.get_or_404(Event, event_id)
    results = evaluation_results.results(event)
    header = ["Antwoord", "Datum", *(question.label for question in results.questions)]
    rows = [[row.number, row.submitted_on.isoformat(),
             *(row.answers.get(question.id, "") for question in results.questions)]
            for row in results.responses]
    return csv_download(header, rows, f"evaluatie-{event.slug}.csv")


@bp.get("/evaluaties")
def evaluations():
    """The evaluations of a period per kind: a row per activity and the kind's totals."""
    if any(len(request.args.getlist(name)) > 1 for name in ("van", "tot", "soort")):
        abort(400)
    form = EvaluationFilterForm(request.args)
    if not form.validate():
        # The errors show beside the filters; nothing is counted for a period that cannot be.
        return render_template("staff/evaluations.html", form=form, overview=None,
                               kind_slug=KIND_SLUG), 400
    first, last = form.period(local(utcnow()).date())
    overview = evaluation_results.overview(
        brussels_to_utc(first, time()), brussels_to_utc(last + timedelta(days=1), time()),
        KIND_SLUGS.get(form.soort.data or ""))
    return render_template("staff/evaluations.html", form=form, overview=overview,
                           first=first, last=last, kind_slug=KIND_SLUG)


def _kind_or_404(kind: str) -> EventKind:
    if kind not in KIND_SLUGS:
        abort(404)
    return KIND_SLUGS[kind]


def _questions_page(kind: EventKind, form: QuestionsForm | None = None,
                    new_form: NewQuestionForm | None = None):
    questions = question_service.questions_of(kind)
    form = form or QuestionsForm.for_questions(questions)
    new_form = new_form or NewQuestionForm(prefix="nieuw", formdata=None)
    refused = bool(form.errors or new_form.errors)
    return render_template(
        "staff/evaluation_questions.html", kind=kind, kind_slug=KIND_SLUG, form=form,
        new_form=new_form, action_form=ConfirmForm(), answer_types=ANSWER_TYPES,
        answered=question_service.answered_questions([q.id for q in questions]),
    ), 422 if refused else 200


@bp.route("/evaluaties/vragen/<kind>", methods=["GET", "POST"])
def evaluation_questions(kind: str):
    """The questions of one kind's form: their words, required, shown, and their order."""
    event_kind = _kind_or_404(kind)
    form = QuestionsForm.for_questions(question_service.questions_of(event_kind))
    if form.validate_on_submit():
        try:
            changed = question_service.update_questions(event_kind, form.edits(),
                                                          current_user)
        except SchedulerError as refusal:
            flash(refusal.message, "error")
            return _questions_page(event_kind, form=form)[0], 422
        flash(f"Bewaard: {changed} {'vraag' if changed == 1 else 'vragen'} gewijzigd."
              if changed else "Er was niets gewijzigd.", "success")
        return redirect(url_for("staff.evaluation_questions", kind=kind), 303)
    if request.method == "GET":
        form = None
    return _questions_page(event_kind, form=form)


@bp.post("/evaluaties/vragen/<kind>/nieuw")
def evaluation_question_add(kind: str):
    """Add a question at the end of one kind's form."""
    event_kind = _kind_or_404(kind)
    new_form = NewQuestionForm(prefix="nieuw")
    if not new_form.validate_on_submit():
        return _questions_page(event_kind, new_form=new_form)
    question_service.add_question(event_kind, new_form.answer_type.data, new_form.label.data,
                                    new_form.is_required.data, current_user)
    flash("De vraag is toegevoegd, achteraan in de vragenlijst.", "success")
    return redirect(url_for("staff.evaluation_questions", kind=kind), 303)


@bp.post("/evaluaties/vragen/<kind>/<int:question_id>/verwijderen")
def evaluation_question_delete(kind: str, question_id: int):
    """Delete a question without answers; one with answers can only be taken out."""
    event_kind = _kind_or_404(kind)

    def delete() -> None:
        try:
            question_service.delete_question(event_kind, question_id, current_user)
        except LookupError:
            abort(404)

    return button_action(delete, "De vraag is verwijderd.",
                         lambda _result: url_for("staff.evaluation_questions", kind=kind))
