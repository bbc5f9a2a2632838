"""A person's rights: look up, export and erase everything held about an e-mail address."""

from flask import flash, jsonify, redirect, render_template, url_for
from flask_login import current_user

from scheduler.extensions import db
from scheduler.forms.fields import ConfirmForm
from scheduler.forms.staff import PrivacyLookupForm
from scheduler.services import audit, privacy
from scheduler.views.staff.blueprint import bp


# Looked up by POST: an address in a query string stays in access logs and browser history,
# also after the person's data was erased.
@bp.route("/privacy", methods=["GET", "POST"])
def privacy_lookup():
    """What is held about an e-mail address, on one page; each lookup is logged."""
    form = PrivacyLookupForm()
    data = None
    if form.validate_on_submit():
        data = privacy.lookup(form.email.data)
        audit.record(current_user, "privacy.lookup", "person", None, "opzoeking")
        db.session.commit()
    status = 400 if form.errors else 200
    return render_template("staff/privacy.html", form=form, data=data,
                           action_form=ConfirmForm()), status


@bp.post("/privacy.json")
def privacy_export():
    """The same as JSON, to hand to the person who asked."""
    form = PrivacyLookupForm()
    if not form.validate_on_submit():
        return jsonify(errors=form.errors), 400
    audit.record(current_user, "privacy.export", "person", None, "export")
    db.session.commit()
    response = jsonify(privacy.lookup(form.email.data))
    response.headers["Content-Disposition"] = 'attachment; filename="gegevens.json"'
    return response


@bp.post("/privacy/wissen")
def privacy_erase():
    """Erase everything about an e-mail address (admins only); the log keeps only the fact."""
    form = PrivacyLookupForm()
    if not form.validate_on_submit():
        flash("Geef een geldig e-mailadres.", "error")
        return redirect(url_for("staff.privacy_lookup"), 303)
    erased = privacy.erase(form.email.data, current_user)
    flash(f"Gewist: {erased} inschrijvingen en alle mails, agenda-links en attesten.", "success")
    return redirect(url_for("staff.privacy_lookup"), 303)
