"""Staff pages for the people of one activity: decide, promote, add, attendance, export."""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from scheduler import labels
from scheduler.dates import local
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.forms.fields import ConfirmForm
from scheduler.forms.staff import StaffRegistrationForm
from scheduler.htmx import is_htmx, reload_whole_page
from scheduler.models import Event, Registration, utcnow
from scheduler.services import attestations, audit, handover, moderation, outbox, places
from scheduler.services.organisations import municipality_names
from scheduler.views.staff.blueprint import bp, button_action
from scheduler.views.staff.exports import csv_download


def _load(event_id: int, registration_id: int) -> tuple[Event, Registration]:
    event = db.get_or_404(Event, event_id)
    registration = db.get_or_404(Registration, registration_id)
    if not places.belongs_to(registration, event):
        abort(404)
    return event, registration


@bp.get("/activiteiten/<int:event_id>/inschrijvingen")
def participants(event_id: int):
    """Everyone registered, with status, organisation, role, remarks and attendance."""
    event = db.get_or_404(Event, event_id)
    people = places.list_for_event(event)
    now = utcnow()
    return render_template(
        "staff/participants.html", event=event, people=people,
        attendance=moderation.attendance_for(event),
        seats=places.summaries([event])[event.id], action_form=ConfirmForm(),
        emails="; ".join(p.email for p in people if p.is_active),
        mails=outbox.delivery_by_registration([p.id for p in people]),
        attestation_of=attestations.latest_of(people),
        may_make_final=event.attendance_may_be_final(now),
        now=now,
    )


def _act(event_id: int, registration_id: int, action, success: str):
    event, registration = _load(event_id, registration_id)
    return button_action(
        lambda: action(registration, event.id, current_user), success,
        lambda _result: url_for("staff.participants", event_id=event_id))


@bp.post("/activiteiten/<int:event_id>/inschrijvingen/<int:registration_id>/goedkeuren")
def registration_approve(event_id: int, registration_id: int):
    """Approve a registration that awaits approval."""
    return _act(event_id, registration_id, moderation.approve, "Goedgekeurd en gemaild.")


@bp.post("/activiteiten/<int:event_id>/inschrijvingen/<int:registration_id>/weigeren")
def registration_decline(event_id: int, registration_id: int):
    """Decline a registration; its place goes to the waiting list."""
    return _act(event_id, registration_id, moderation.decline, "Niet weerhouden en gemaild.")


@bp.post("/activiteiten/<int:event_id>/inschrijvingen/<int:registration_id>/overdracht-goedkeuren")
def handover_approve(event_id: int, registration_id: int):
    """Let the proposed colleague take over the place in a closed group."""
    return _act(event_id, registration_id, handover.approve,
                "Overdracht goedgekeurd; de betrokkenen zijn gemaild.")


@bp.post("/activiteiten/<int:event_id>/inschrijvingen/<int:registration_id>/overdracht-weigeren")
def handover_refuse(event_id: int, registration_id: int):
    """Refuse a hand-over: the original keeps the place."""
    return _act(event_id, registration_id, handover.refuse,
                "Overdracht geweigerd; de deelnemer houdt de plaats en is gemaild.")


@bp.post("/activiteiten/<int:event_id>/inschrijvingen/<int:registration_id>/doorschuiven")
def registration_promote(event_id: int, registration_id: int):
    """Move someone up from the waiting list by hand."""
    return _act(event_id, registration_id, moderation.promote, "Doorgeschoven en gemaild.")


@bp.post("/activiteiten/<int:event_id>/inschrijvingen/<int:registration_id>/aanwezigheid")
def registration_attendance(event_id: int, registration_id: int):
    """Mark present or absent: htmx swaps the one row, a plain form returns to the list."""
    event, registration = _load(event_id, registration_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if request.form.get("aanwezig") not in ("0", "1"):
        abort(400)
    present = request.form.get("aanwezig") == "1"
    anchor = f"r{registration.id}"
    try:
        moderation.set_attendance(registration, event, present, current_user)
    except SchedulerError as refusal:
        flash(refusal.message, "error")
        if is_htmx():
            # A page older than the refusal: it is shown again, with the message on top.
            return reload_whole_page()
        return redirect(url_for("staff.participants", event_id=event_id, _anchor=anchor), 303)
    if is_htmx():
        return render_template(
            "staff/_attendance.html", event=event, person=registration, present=present,
            action_form=ConfirmForm(),
            attestation=attestations.latest_of([registration]).get(registration.id),
        )
    return redirect(url_for("staff.participants", event_id=event_id, _anchor=anchor), 303)


@bp.route("/activiteiten/<int:event_id>/inschrijvingen/nieuw", methods=["GET", "POST"])
def registration_add(event_id: int):
    """Add someone by hand, also after registration closed; places still hold."""
    event = db.get_or_404(Event, event_id)
    form = StaffRegistrationForm()
    if form.validate_on_submit():
        try:
            outcome = moderation.register_by_hand(event.id, form.applicant(), current_user)
        except SchedulerError as refusal:
            form.form_errors.append(refusal.message)
        else:
            status = labels.REGISTRATION_STATUS[outcome.registration.status]
            flash(f"Toegevoegd: {status}." if outcome.is_new else "Al ingeschreven.", "success")
            return redirect(url_for("staff.participants", event_id=event.id), 303)
    return render_template(
        "staff/registration_add.html", event=event, form=form, municipalities=municipality_names()
    ), 422 if form.errors or form.form_errors else 200


@bp.get("/activiteiten/<int:event_id>/inschrijvingen.csv")
def participants_csv(event_id: int) -> Response:
    """The list for Excel in Belgium: UTF-8 with BOM and ';' between columns."""
    event = db.get_or_404(Event, event_id)
    people = places.list_for_event(event)
    attendance = moderation.attendance_for(event)
    header = ["Voornaam", "Naam", "E-mail", "Organisatie", "Rol", "Functie", "Status",
              "Opmerkingen", "Noden", "Overgedragen aan", "Aanwezig", "Ingeschreven op"]
    rows = []
    for person in people:
        present = attendance.get(person.id)
        rows.append([
            person.first_name, person.last_name, person.email, person.organisation_name,
            labels.ROLE[person.role], person.function, labels.REGISTRATION_STATUS[person.status],
            person.remarks, person.needs, person.handed_over_to_name,
            "" if present is None else ("ja" if present else "nee"),
            local(person.created_at).strftime("%Y-%m-%d %H:%M"),
        ])
    audit.record(current_user, "registration.export", "event", event.id, f"{len(people)} rijen")
    db.session.commit()
    return csv_download(header, rows, f"{event.slug}-inschrijvingen.csv")
