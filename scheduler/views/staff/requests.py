"""Staff pages for training requests, the parts of the basic package, and public texts."""

from typing import NamedTuple

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from scheduler.extensions import db
from scheduler.forms.fields import ConfirmForm
from scheduler.forms.staff import ContentBlockForm, RequestUpdateForm, TrainingPartForm
from scheduler.models import ContentBlock, RequestStatus, TrainingPart, TrainingRequest
from scheduler.services import requests as request_service
from scheduler.views.staff.blueprint import bp


@bp.get("/aanvragen")
def training_requests():
    """All training requests, newest first, optionally of one status."""
    status = request.args.get("status")
    if status and status not in RequestStatus.__members__:
        abort(404)
    found = request_service.list_requests(RequestStatus[status] if status else None)
    return render_template("staff/requests.html", requests=found, status=status,
                           statuses=request_service.REQUEST_STATUS)


@bp.route("/aanvragen/<int:request_id>", methods=["GET", "POST"])
def training_request(request_id: int):
    """One request: what was asked, its status and notes, and planning it as an activity."""
    found = db.get_or_404(TrainingRequest, request_id)
    form = RequestUpdateForm(statuses=[(s.value, label) for s, label in
                                       request_service.REQUEST_STATUS.items()])
    if request.method == "GET":
        form.status.data, form.internal_notes.data = found.status.value, found.internal_notes
    elif form.validate_on_submit():
        request_service.update(found, RequestStatus(form.status.data),
                               form.internal_notes.data or "", current_user)
        flash("Bewaard.", "success")
        return redirect(url_for("staff.training_request", request_id=found.id), 303)
    return render_template("staff/request.html", item=found, form=form,
                           statuses=request_service.REQUEST_STATUS,
                           confirm_form=ConfirmForm()), 422 if form.errors else 200


@bp.post("/aanvragen/<int:request_id>/plannen")
def training_request_plan(request_id: int):
    """Create a draft training from the request and open it for editing."""
    found = db.get_or_404(TrainingRequest, request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if found.event_id is not None:
        return redirect(url_for("staff.event_edit", event_id=found.event_id), 303)
    event = request_service.plan_as_activity(found, current_user)
    flash("Ontwerp gemaakt uit de aanvraag. Vul datum en plaats aan en publiceer: "
          "de aanvrager krijgt dan een mail.", "success")
    return redirect(url_for("staff.event_edit", event_id=event.id), 303)


@bp.get("/vormingsonderdelen")
def training_parts():
    """The parts of the basic package that the request form offers."""
    return render_template("staff/parts.html", parts=request_service.list_parts(False),
                           form=TrainingPartForm())


@bp.route("/vormingsonderdelen/<int:part_id>", methods=["GET", "POST"])
@bp.route("/vormingsonderdelen/nieuw", methods=["GET", "POST"], defaults={"part_id": None})
def training_part(part_id: int | None):
    """Add or edit a part; an inactive part is no longer offered."""
    part = db.get_or_404(TrainingPart, part_id) if part_id else None
    form = TrainingPartForm(obj=part)
    if form.validate_on_submit():
        request_service.save_part(part, title=form.title.data,
                                  description=form.description.data or "",
                                  position=form.position.data or 0,
                                  is_active=form.is_active.data, staff=current_user)
        flash("Bewaard.", "success")
        return redirect(url_for("staff.training_parts"), 303)
    return render_template("staff/part.html", form=form, part=part), 422 if form.errors else 200


class PublicPage(NamedTuple):
    endpoint: str
    name: str
    # Why the text may not be empty; None when an empty text simply hides it.
    needs_text: str | None = None


# Where each editable text appears.
PUBLIC_PAGE_OF_BLOCK = {
    "referrals": PublicPage("requests.offering", "Aanbod"),
    "accessibility": PublicPage(
        "pages.accessibility", "Toegankelijkheid",
        needs_text="Een toegankelijkheidsverklaring zonder tekst zegt niets over de "
                   "nalevingsstatus, de beperkingen en de handhaving. Vul ze in."),
}


@bp.route("/teksten/<key>", methods=["GET", "POST"])
def content_block(key: str):
    """Edit a public text, such as the referrals on the offering page."""
    block = db.first_or_404(db.select(ContentBlock).where(ContentBlock.key == key))
    shown_on = PUBLIC_PAGE_OF_BLOCK.get(key)
    if shown_on is None:
        abort(404)
    form = ContentBlockForm(obj=block)
    if form.validate_on_submit():
        if shown_on.needs_text and not form.body.data:
            form.body.errors.append(shown_on.needs_text)
        else:
            request_service.save_block(block, form.title.data, form.body.data or "",
                                       current_user)
            flash("Bewaard.", "success")
            return redirect(url_for("staff.content_block", key=key), 303)
    return render_template("staff/content.html", form=form, block=block, shown_on=shown_on), \
        422 if form.errors else 200
