"""Blueprint "evaluations": the anonymous evaluation form after an activity."""

from flask import Blueprint, abort, make_response, redirect, render_template, url_for

from scheduler.forms.evaluations import AnswerForm
from scheduler.responses import private
from scheduler.services import evaluations
from scheduler.services.evaluations import (
    EvaluationClosedError,
    InvalidAnswerError,
    InvitationUsedError,
)

bp = Blueprint("evaluations", __name__)


def _gone(refusal: InvitationUsedError | EvaluationClosedError):
    heading = ("Je hebt deze vragenlijst al ingevuld" if isinstance(refusal, InvitationUsedError)
               else "Deze vragenlijst is afgesloten")
    html = render_template("evaluations/gone.html", heading=heading, text=refusal.message)
    return private(make_response(html, 410))


@bp.route("/evaluatie/<token:token>", methods=["GET", "POST"])
def answer(token: str):
    """The questions about one activity; answered once, anonymously, then a thank-you."""
    try:
        opened = evaluations.open_form(token)
    except LookupError:
        abort(404)
    except (InvitationUsedError, EvaluationClosedError) as refusal:
        return _gone(refusal)
    form = AnswerForm.for_questions(opened.questions, opened.themes)
    if form.validate_on_submit():
        try:
            evaluations.submit(token, form.answers())
        except LookupError:
            abort(404)
        except (InvitationUsedError, EvaluationClosedError) as refusal:
            return _gone(refusal)
        except InvalidAnswerError as refusal:
            form.form_errors.append(refusal.message)
        else:
            return redirect(url_for("evaluations.thanks"), 303)
    html = render_template("evaluations/answer.html", form=form, event=opened.event,
                           closes_at=evaluations.closes_at(opened.event), token=token)
    return private(make_response(html, 422 if form.errors or form.form_errors else 200))


@bp.get("/evaluatie/bedankt")
def thanks():
    """Where the form lands once answered; it names nothing, as the answers are anonymous."""
    return private(make_response(render_template("evaluations/thanks.html")))
