"""Staff pages for activities: list, create, edit, preview, publish, duplicate, cancel, delete."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from scheduler.errors import (
    EditConflictError,
    ScheduleChangeRefusedError,
    SchedulerError,
    SlugTakenError,
)
from scheduler.extensions import db
from scheduler.forms.fields import ConfirmForm
from scheduler.forms.staff import (
    CancelEventForm,
    EventForm,
    SeriesForm,
    SeriesSettingsForm,
    SessionForm,
)
from scheduler.markdown import render_markdown
from scheduler.models import Event, Series, utcnow
from scheduler.services import agenda, places, planning
from scheduler.services import series as series_service
from scheduler.services.organisations import municipality_names
from scheduler.views.staff.blueprint import bp, button_action

SECTIONS = {"komend": "upcoming", "voorbij": "past", "ontwerp": "drafts"}


def _event_or_404(event_id: int) -> Event:
    return db.get_or_404(Event, event_id)


@bp.get("/activiteiten")
def events():
    """Upcoming, past or draft activities with their fill rate and waiting list."""
    section = request.args.get("toon", "komend")
    if section not in SECTIONS:
        abort(404)
    found = planning.list_for_staff(SECTIONS[section], utcnow())
    return render_template(
        "staff/events.html", events=found, seats=places.summaries(found),
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
    form = EventForm(themes=agenda.list_themes())
    if form.validate_on_submit():
        try:
            event = planning.save_event(None, form.fields(), current_user).subject
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
    form = EventForm(themes=agenda.list_themes(), is_session=event.is_session)
    if request.method == "GET":
        form.fill_from(event)
    elif form.validate_on_submit():
        try:
            outcome = planning.save_event(event, form.fields(), current_user,
                                          seen_version=form.edited_version.data or None)
        except SlugTakenError as refusal:
            form.slug.errors.append(refusal.message)
        except ScheduleChangeRefusedError as refusal:
            form.day.errors.append(refusal.message)
        except EditConflictError as refusal:
            form.form_errors.append(refusal.message)
            return _render_form(form, event, 409)
        else:
            flash_places("De wijzigingen zijn bewaard.", outcome)
            return redirect(url_for("staff.event_edit", event_id=event.id), 303)
    return _render_form(form, event, 422 if form.errors else 200)


@bp.post("/markdown-voorbeeld")
def markdown_preview():
    """The description as the public page will show it (for htmx)."""
    text = request.form.get("description", "")[:20_000]
    return render_template("staff/_preview.html", html=render_markdown(text))


def _button_action(event_id: int, action, success: str):
    event = _event_or_404(event_id)

    def then(result) -> str:
        shown = result.id if isinstance(result, Event) else event_id
        if db.session.get(Event, shown) is None:
            return url_for("staff.events", toon="ontwerp")
        return url_for("staff.event_edit", event_id=shown)

    return button_action(lambda: action(event), success, then)


@bp.post("/activiteiten/<int:event_id>/publiceren")
def event_publish(event_id: int):
    """Make a draft public."""
    return _button_action(
        event_id, lambda e: planning.set_published(e, True, current_user),
        "De activiteit staat nu in de agenda.")


@bp.post("/activiteiten/<int:event_id>/depubliceren")
def event_unpublish(event_id: int):
    """Take an activity back to draft."""
    return _button_action(
        event_id, lambda e: planning.set_published(e, False, current_user),
        "De activiteit is teruggezet naar ontwerp.")


@bp.post("/activiteiten/<int:event_id>/dupliceren")
def event_duplicate(event_id: int):
    """Copy an activity as a draft, to plan it on a new date."""
    return _button_action(
        event_id, lambda e: planning.duplicate_event(e, current_user),
        "Kopie gemaakt. Pas de datum aan en publiceer.")


@bp.post("/activiteiten/<int:event_id>/verwijderen")
def event_delete(event_id: int):
    """Delete a draft without registrations."""
    return _button_action(
        event_id, lambda e: planning.delete_draft(e, current_user),
        "Het ontwerp is verwijderd.")


@bp.route("/activiteiten/<int:event_id>/annuleren", methods=["GET", "POST"])
def event_cancel(event_id: int):
    """Cancel with a reason; everyone registered gets a mail and a calendar cancellation."""
    event = _event_or_404(event_id)
    form = CancelEventForm()
    if form.validate_on_submit():
        try:
            mailed = planning.cancel_event(event, form.reason.data, current_user)
        except SchedulerError as refusal:
            flash(refusal.message, "error")
        else:
            flash(f"De activiteit is geannuleerd; {mailed} "
                  f"{'deelnemer krijgt' if mailed == 1 else 'deelnemers krijgen'} een mail.",
                  "success")
        return redirect(url_for("staff.event_edit", event_id=event.id), 303)
    status = 422 if form.errors else 200
    return render_template("staff/event_cancel.html", event=event, form=form), status


@bp.route("/reeksen/nieuw", methods=["GET", "POST"])
def series_new():
    """Create a series and all its sessions (as drafts) in one go."""
    form = SeriesForm()
    if form.validate_on_submit():
        try:
            series = series_service.create_series(form.fields(), current_user)
        except SlugTakenError as refusal:
            form.slug.errors.append(refusal.message)
        else:
            flash(f"Reeks gemaakt met {len(series.events)} bijeenkomsten (als ontwerp).", "success")
            return redirect(url_for("staff.series_detail", series_id=series.id), 303)
    return render_template(
        "staff/series_form.html", form=form, municipalities=municipality_names()
    ), 422 if form.errors else 200


def flash_places(done: str, outcome: planning.PlacesOutcome) -> None:
    """Say what a change did to the places: who moved up, and who is now above capacity."""
    flash(done, "success")
    if outcome.promoted:
        flash(f"{len(outcome.promoted)} van de wachtlijst doorgeschoven en gemaild.", "success")
    if outcome.over_capacity:
        flash(f"Er zijn {outcome.over_capacity} inschrijvingen meer dan de nieuwe capaciteit. "
              "Ze behouden hun plaats; annuleer er zelf als dat nodig is.", "warning")
    reissue = outcome.reissue
    if reissue is not None and reissue.count:
        flash(f"{reissue.count} attesten vermelden nu de nieuwe gegevens en kregen een nieuwe "
              "code" + ("; ze worden gemaild." if reissue.mailed else "."), "success")


def _render_series(series: Series, settings_form: SeriesSettingsForm,
                   session_form: SessionForm, status: int = 200):
    return render_template(
        "staff/series.html", series=series, settings_form=settings_form,
        session_form=session_form, seats=places.seats_of(series),
        municipalities=municipality_names(), confirm_form=ConfirmForm(),
    ), status


@bp.route("/reeksen/<int:series_id>", methods=["GET", "POST"])
def series_detail(series_id: int):
    """A series: its places and moderation (which its sessions take), and its sessions."""
    series = db.get_or_404(Series, series_id)
    form = SeriesSettingsForm()
    if request.method == "GET":
        form.fill_from(series)
    elif form.validate_on_submit():
        outcome = series_service.update_series(series, form.settings(), current_user)
        flash_places("De reeks is bewaard.", outcome)
        return redirect(url_for("staff.series_detail", series_id=series.id), 303)
    return _render_series(series, form, SessionForm(formdata=None),
                          422 if form.errors else 200)


@bp.post("/reeksen/<int:series_id>/bijeenkomsten")
def series_add_session(series_id: int):
    """Add a meeting; published at once (and sent to the enrolled) while the series is."""
    series = db.get_or_404(Series, series_id)
    form = SessionForm()
    if form.validate_on_submit():
        session = series_service.add_session(series, form.fields(), current_user)
        flash("Bijeenkomst toegevoegd" + (" en gepubliceerd." if session.is_published
                                          else " als ontwerp."), "success")
        return redirect(url_for("staff.series_detail", series_id=series.id), 303)
    settings_form = SeriesSettingsForm(formdata=None)
    settings_form.fill_from(series)
    return _render_series(series, settings_form, form, 422)


@bp.post("/reeksen/<int:series_id>/publiceren")
def series_publish(series_id: int):
    """Publish every draft session of the series."""
    series = db.get_or_404(Series, series_id)
    return button_action(
        lambda: series_service.publish_series(series, current_user),
        lambda published: f"{published} bijeenkomsten gepubliceerd.",
        lambda _result: url_for("staff.series_detail", series_id=series.id))
