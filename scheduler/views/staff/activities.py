"""Staff pages for activities: list, create, edit, preview, publish, duplicate, cancel, delete."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.forms import CancelEventForm, ConfirmForm, EventForm, SeriesForm
from scheduler.markdown import render_markdown
from scheduler.models import Event, Series, utcnow
from scheduler.services import events as event_service
from scheduler.services.events import SlugTakenError
from scheduler.services.organisations import municipality_names
from scheduler.views.staff.blueprint import bp

SECTIONS = {"komend": "upcoming", "voorbij": "past", "ontwerp": "drafts"}


def _event_or_404(event_id: int) -> Event:
    return db.get_or_404(Event, event_id)


@bp.get("/activiteiten")
def events():
    """Upcoming, past or draft activities with their fill rate and waiting list."""
    section = request.args.get("toon", "komend")
    if section not in SECTIONS:
        abort(404)
    found = event_service.list_for_staff(SECTIONS[section], utcnow())
    return render_template(
        "staff/events.html", events=found, seats=event_service.seat_summaries(found),
        section=section, action_form=ConfirmForm(),
    )


def _render_form(form: EventForm, event: Event | None, status: int = 200):
    return render_template(
        "staff/event_form.html", form=form, event=event, municipalities=municipality_names(),
        confirm_form=ConfirmForm(),
    ), status


@bp.route("/activiteiten/nieuw", methods=["GET", "POST"])
def event_new():
    """Plan a new activity; it starts as a draft."""
    form = EventForm(themes=event_service.list_themes())
    if form.validate_on_submit():
        try:
            event = event_service.save_event(None, form.fields(), current_user)
        except SlugTakenError as refusal:
            form.slug.errors.append(refusal.message)
        else:
            flash("De activiteit is bewaard als ontwerp.", "success")
            return redirect(url_for("staff.event_edit", event_id=event.id), 303)
    return _render_form(form, None, 422 if form.errors else 200)


@bp.route("/activiteiten/<int:event_id>", methods=["GET", "POST"])
def event_edit(event_id: int):
    """Edit an activity; a change of time or place is mailed to everyone registered."""
    event = _event_or_404(event_id)
    form = EventForm(themes=event_service.list_themes())
    if request.method == "GET":
        form.fill_from(event)
    elif form.validate_on_submit():
        try:
            event_service.save_event(event, form.fields(), current_user)
        except SlugTakenError as refusal:
            form.slug.errors.append(refusal.message)
        else:
            flash("De wijzigingen zijn bewaard.", "success")
            return redirect(url_for("staff.event_edit", event_id=event.id), 303)
    return _render_form(form, event, 422 if form.errors else 200)


@bp.post("/markdown-voorbeeld")
def markdown_preview():
    """The description as the public page will show it (for htmx)."""
    text = request.form.get("description", "")[:20_000]
    return render_template("staff/_preview.html", html=render_markdown(text))


def _button_action(event_id: int, action, success: str):
    event = _event_or_404(event_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        result = action(event)
    except SchedulerError as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("staff.event_edit", event_id=event_id), 303)
    flash(success, "success")
    shown = result.id if isinstance(result, Event) else event_id
    if db.session.get(Event, shown) is None:
        return redirect(url_for("staff.events", toon="ontwerp"), 303)
    return redirect(url_for("staff.event_edit", event_id=shown), 303)


@bp.post("/activiteiten/<int:event_id>/publiceren")
def event_publish(event_id: int):
    """Make a draft public."""
    return _button_action(
        event_id, lambda e: event_service.set_published(e, True, current_user),
        "De activiteit staat nu in de agenda.")


@bp.post("/activiteiten/<int:event_id>/depubliceren")
def event_unpublish(event_id: int):
    """Take an activity back to draft."""
    return _button_action(
        event_id, lambda e: event_service.set_published(e, False, current_user),
        "De activiteit is teruggezet naar ontwerp.")


@bp.post("/activiteiten/<int:event_id>/dupliceren")
def event_duplicate(event_id: int):
    """Copy an activity as a draft, to plan it on a new date."""
    return _button_action(
        event_id, lambda e: event_service.duplicate_event(e, current_user),
        "Kopie gemaakt. Pas de datum aan en publiceer.")


@bp.post("/activiteiten/<int:event_id>/verwijderen")
def event_delete(event_id: int):
    """Delete a draft without registrations."""
    return _button_action(
        event_id, lambda e: event_service.delete_draft(e, current_user),
        "Het ontwerp is verwijderd.")


@bp.route("/activiteiten/<int:event_id>/annuleren", methods=["GET", "POST"])
def event_cancel(event_id: int):
    """Cancel with a reason; everyone registered gets a mail and a calendar cancellation."""
    event = _event_or_404(event_id)
    form = CancelEventForm()
    if form.validate_on_submit():
        mailed = event_service.cancel_event(event, form.reason.data, current_user)
        flash(f"De activiteit is geannuleerd; {mailed} deelnemers krijgen een mail.", "success")
        return redirect(url_for("staff.event_edit", event_id=event.id), 303)
    status = 422 if form.errors else 200
    return render_template("staff/event_cancel.html", event=event, form=form), status


@bp.route("/reeksen/nieuw", methods=["GET", "POST"])
def series_new():
    """Create a series and all its sessions (as drafts) in one go."""
    form = SeriesForm()
    if form.validate_on_submit():
        try:
            series = event_service.create_series(form.fields(), current_user)
        except SlugTakenError as refusal:
            form.slug.errors.append(refusal.message)
        else:
            flash(f"Reeks gemaakt met {len(series.events)} bijeenkomsten (als ontwerp).", "success")
            return redirect(url_for("staff.series_detail", series_id=series.id), 303)
    return render_template(
        "staff/series_form.html", form=form, municipalities=municipality_names()
    ), 422 if form.errors else 200


@bp.get("/reeksen/<int:series_id>")
def series_detail(series_id: int):
    """The sessions of a series; each one is edited like any activity."""
    series = db.get_or_404(Series, series_id)
    return render_template("staff/series.html", series=series, confirm_form=ConfirmForm())


@bp.post("/reeksen/<int:series_id>/publiceren")
def series_publish(series_id: int):
    """Publish every draft session of the series."""
    series = db.get_or_404(Series, series_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    published = event_service.publish_series(series, current_user)
    flash(f"{published} bijeenkomsten gepubliceerd.", "success")
    return redirect(url_for("staff.series_detail", series_id=series.id), 303)
