"""Staff actions on attestations: the attendance of an activity made final, one attestation
looked at, downloaded, revoked or issued again, the name on it corrected."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.forms.attestations import NameForm, RevokeForm
from scheduler.forms.fields import ConfirmForm
from scheduler.models import Attestation, Event, Registration
from scheduler.responses import attestation_pdf_response
from scheduler.services import attestation_document, attestations
from scheduler.views.staff.blueprint import bp, button_action


@bp.post("/activiteiten/<int:event_id>/aanwezigheid-definitief")
def attendance_final(event_id: int):
    """Declare the attendance complete: attestations go out (for a series, after its last
    session's attendance is final too)."""
    event = db.get_or_404(Event, event_id)
    return button_action(
        lambda: attestations.make_final(event, current_user),
        lambda mailed: f"De aanwezigheid is definitief. {mailed} attesten worden gemaild.",
        lambda _result: url_for("staff.participants", event_id=event_id))


def _render(attestation: Attestation, form: RevokeForm, status: int = 200,
            name_form: NameForm | None = None):
    history = db.session.scalars(
        select(Attestation).where(Attestation.registration_id == attestation.registration_id)
        .order_by(Attestation.id.desc())).all() if attestation.registration_id else [attestation]
    registration = attestation.registration
    if name_form is None and registration is not None and registration.anonymised_at is None:
        name_form = NameForm(formdata=None, first_name=registration.first_name,
                             last_name=registration.last_name)
    return render_template(
        "staff/attestation.html", attestation=attestation, form=form, history=history,
        name_form=name_form if attestation.is_valid else None,
        attendance_final=registration is not None
        and attestations.is_final(registration.places_owner),
        sessions=attestation_document.sessions_of(attestation), registration=registration,
        participants_event_id=_participants_event_id(attestation),
        may_issue_again=registration is not None and history[0].revoked_at is not None,
        withdrawn=attestations.no_longer_holds(attestation), action_form=ConfirmForm(),
    ), status


def _participants_event_id(attestation: Attestation) -> int | None:
    if attestation.event_id is not None:
        return attestation.event_id
    registration = attestation.registration
    sessions = registration.series.events if registration and registration.series else []
    return sessions[0].id if sessions else None


@bp.route("/attesten/<int:attestation_id>", methods=["GET", "POST"])
def attestation(attestation_id: int):
    """One attestation with its earlier versions; revoke it with a reason."""
    found = db.get_or_404(Attestation, attestation_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            attestations.revoke(found, form.reden.data.strip(), current_user)
        except SchedulerError as refusal:
            # Changed in another tab meanwhile: the form is gone from the page, so say it above.
            flash(refusal.message, "error")
            return _to_current_version(found)
        flash("Het attest is ingetrokken; de controlepagina zegt het.", "success")
        return redirect(url_for("staff.attestation", attestation_id=found.id), 303)
    return _render(found, form, 422 if form.errors else 200)


def _to_current_version(attestation: Attestation):
    """303 to the person's latest version of this attestation (this one when it is)."""
    latest = attestations.latest_of([attestation.registration]).get(
        attestation.registration_id) if attestation.registration is not None else None
    return redirect(url_for("staff.attestation", attestation_id=(latest or attestation).id), 303)


@bp.post("/attesten/<int:attestation_id>/naam")
def attestation_name(attestation_id: int):
    """Correct the name the person registered with; the attestation is issued anew."""
    found = db.get_or_404(Attestation, attestation_id)
    registration = found.registration
    if registration is None:
        abort(404)
    if not found.is_valid:
        flash("Dit attest is intussen vervangen, ingetrokken of niet meer geldig: verbeter de "
              "naam op de versie die nu geldt.", "error")
        return _to_current_version(found)
    form = NameForm()
    if not form.validate_on_submit():
        return _render(found, RevokeForm(formdata=None), 422, name_form=form)
    try:
        reissue = attestations.correct_name(found, form.first_name.data, form.last_name.data,
                                            current_user)
    except SchedulerError as refusal:
        flash(refusal.message, "error")
        return _to_current_version(found)
    if not reissue.issued:
        flash("De naam is dezelfde gebleven; het attest is niet gewijzigd.", "success")
        return redirect(url_for("staff.attestation", attestation_id=found.id), 303)
    flash("De naam is verbeterd. Er is een nieuw attest met een nieuwe code"
          + ("; het wordt gemaild." if reissue.mailed else "."), "success")
    return redirect(url_for("staff.attestation", attestation_id=reissue.issued[0].id), 303)


@bp.get("/attesten/<int:attestation_id>/attest.pdf")
def attestation_pdf(attestation_id: int):
    """The PDF of a valid attestation; a revoked or replaced one is not to be handed out."""
    found = db.get_or_404(Attestation, attestation_id)
    if not found.is_valid:
        abort(404)
    return attestation_pdf_response(found)


@bp.post("/attesten/<int:attestation_id>/wissen")
def attestation_erase(attestation_id: int):
    """Erase an attestation and its other versions on the person's request (admins)."""
    found = db.get_or_404(Attestation, attestation_id)
    return button_action(
        lambda: attestations.erase(found, current_user),
        lambda count: f"{count} versie(s) van het attest gewist; de code werkt niet meer.",
        lambda _result: url_for("staff.privacy_lookup"))


@bp.post("/inschrijvingen/<int:registration_id>/attest-opnieuw")
def attestation_issue_again(registration_id: int):
    """After a revocation, a new attestation of what the person attended."""
    registration = db.get_or_404(Registration, registration_id)
    return button_action(
        lambda: attestations.issue_again(registration, current_user),
        "Er is een nieuw attest uitgereikt.",
        lambda issued: _page_of(issued or attestations.latest_of([registration]).get(
            registration.id)))


def _page_of(attestation: Attestation | None) -> str:
    if attestation is None:
        return url_for("staff.events")
    return url_for("staff.attestation", attestation_id=attestation.id)
