"""Blueprint "requests": a local government asks for the training; the offering page."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from scheduler.extensions import limiter
from scheduler.forms.public import TrainingRequestForm
from scheduler.markdown import render_markdown
from scheduler.models import EventKind, utcnow
from scheduler.services import agenda
from scheduler.services import requests as request_service
from scheduler.services.organisations import municipality_names

bp = Blueprint("requests", __name__)

# The fields that are checked one by one while typing (htmx); the others need the whole form.
INLINE_FIELDS = {"organisation", "contact_name", "email", "phone", "expected_count"}


def _request_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


def _form() -> TrainingRequestForm:
    return TrainingRequestForm(parts=request_service.list_parts())


@bp.route("/vorming-aanvragen", methods=["GET", "POST"])
@limiter.limit(_request_limit, methods=["POST"])
def create():
    """Ask for the training on site, with the parts and local questions that matter to you."""
    form = _form()
    if form.validate_on_submit():
        request_service.submit(form.data_for_service())
        return redirect(url_for("requests.thanks"), 303)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("requests/create.html", form=form,
                           municipalities=municipality_names()), status


@bp.get("/vorming-aanvragen/controle/<name>")
def check_field(name: str):
    """Check one field as it is typed; returns that field with or without its message."""
    if name not in INLINE_FIELDS:
        abort(404)
    form = TrainingRequestForm(formdata=request.args, meta={"csrf": False})
    field = form[name]
    field.validate(form)
    return render_template("requests/_field.html", field=field)


@bp.get("/vorming-aanvragen/bedankt")
def thanks():
    """After a request: what happens next."""
    return render_template("requests/thanks.html")


@bp.get("/aanbod")
def offering():
    """What the programme offers, its next activities, the helpdesk, and where else to go."""
    now = utcnow()
    upcoming = {
        kind.value: agenda.list_upcoming_events(
            agenda.AgendaFilters(kind=kind), now, page_size=3
        ).events
        for kind in (EventKind.training, EventKind.visit, EventKind.intervision)
    }
    referrals = request_service.get_block("referrals")
    return render_template(
        "requests/offering.html", upcoming=upcoming, referrals=referrals,
        referrals_html=render_markdown(referrals.body if referrals else ""),
    )
