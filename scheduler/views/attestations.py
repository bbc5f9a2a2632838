"""Blueprint "attestations": the public page that confirms an attestation is genuine, and the
participant's download from the personal page."""

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for

from scheduler.extensions import limiter
from scheduler.forms.attestations import VerifyForm
from scheduler.responses import attestation_pdf_response, private
from scheduler.services import attestation_document, attestations
from scheduler.services import registrations as registration_service

bp = Blueprint("attestations", __name__)

# Codes are unguessable; the limit only keeps someone from trying them by the million.
VERIFY_LIMIT = "30 per minute"


def _unindexed(response):
    """A verification page names a person: never in a search engine or a shared cache."""
    response.headers["X-Robots-Tag"] = "noindex"
    return private(response)


@bp.get("/attest")
@limiter.limit(VERIFY_LIMIT)
def verify_form():
    """Where a code typed from paper is checked; a valid-looking code goes to its page."""
    form = VerifyForm(formdata=request.args or None)
    if request.args and form.validate():
        code = attestations.normalised_code(form.code.data)
        return redirect(url_for("attestations.verify", code=code), 303)
    status = 422 if form.errors else 200
    return _unindexed(make_response(render_template("attestations/verify_form.html", form=form),
                                    status))


@bp.get("/attest/<code>")
@limiter.limit(VERIFY_LIMIT)
def verify(code: str):
    """Whether an attestation is genuine and still valid: name, activity, dates, hours."""
    attestation = attestations.find(code)
    if attestation is None:
        # The form again, to try once more: a code from paper is easily mistyped.
        form = VerifyForm(formdata=None, code=code[:60])
        form.code.errors = ["Er is geen attest met deze code: kijk ze na, of het attest werd "
                            "intussen gewist."]
        return _unindexed(make_response(
            render_template("attestations/verify_form.html", form=form), 404))
    if code != attestation.code:
        # Typed as it came (lower case, spaces): one address per attestation.
        return redirect(url_for("attestations.verify", code=attestation.code), 301)
    return _unindexed(make_response(render_template(
        "attestations/verify.html", attestation=attestation,
        sessions=attestation_document.sessions_of(attestation),
        withdrawn=attestations.no_longer_holds(attestation))))


@bp.get("/inschrijving/<token:token>/attest.pdf")
def download(token: str):
    """The participant's current attestation, as a PDF."""
    registration = registration_service.find_by_personal_token(token)
    attestation = attestations.shown_to(registration) if registration else None
    if attestation is None or not attestation.is_valid:
        abort(404)
    return attestation_pdf_response(attestation)
