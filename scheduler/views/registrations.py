"""Blueprint "registrations": signing up, and the personal page of one registration."""

import hashlib

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from limits import parse as parse_limit

from scheduler.errors import EditConflictError, SchedulerError
from scheduler.extensions import limiter
from scheduler.forms.public import (
    HandOverForm,
    MyRegistrationsForm,
    OwnDetailsForm,
    PersonalButtonForm,
    RegistrationForm,
)
from scheduler.htmx import is_htmx, with_trigger
from scheduler.links import public_url
from scheduler.models import RegistrationStatus, utcnow
from scheduler.responses import private
from scheduler.services import (
    agenda,
    attestations,
    feeds,
    handover,
    materials,
    notifications,
    people,
    places,
)
from scheduler.services import registrations as registration_service
from scheduler.views.events import render_detail

bp = Blueprint("registrations", __name__)


def _registration_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


def _registration_or_404(token: str):
    registration = registration_service.find_by_personal_token(token)
    if registration is None:
        abort(404)
    return registration


def _personal_form(template: str, registration, form, **context):
    """A form on a personal page; 422 while it is refused, so nothing was stored."""
    html = render_template(template, registration=registration, form=form, **context)
    return private(make_response(html, 422 if form.errors or form.form_errors else 200))


def _form_refused(slug: str, form: RegistrationForm):
    event = agenda.get_public_event(slug)
    if event is None:
        abort(404)
    if is_htmx():
        html = render_template("registrations/_form.html", event=event, form=form)
        return make_response(html, 422)
    return render_detail(event, form=form, status=422)


@bp.post("/activiteiten/<slug:slug>/inschrijven")
@limiter.limit(_registration_limit)
def create(slug: str):
    """Register for an activity; htmx gets the outcome in place, a plain post is redirected."""
    form = RegistrationForm()
    if not form.validate():
        return _form_refused(slug, form)
    try:
        outcome = registration_service.register_on_page(slug, form.applicant())
    except LookupError:
        abort(404)
    except SchedulerError as refusal:
        form.form_errors.append(refusal.message)
        return _form_refused(slug, form)
    # A new and an already registered address get the same answer: the page must not tell
    # anyone whether a colleague registered. Where they stand, and their link, go by mail.
    if not is_htmx():
        return redirect(url_for("registrations.sent", slug=slug), 303)
    html = render_template("registrations/_outcome.html", title=outcome.title,
                           closed_group=outcome.closed_group)
    return with_trigger(private(make_response(html)), "registration-created")


@bp.get("/activiteiten/<slug:slug>/ingeschreven")
def sent(slug: str):
    """Where a registration without JavaScript lands, new or not."""
    event = agenda.get_public_event(slug)
    if event is None:
        abort(404)
    return render_template("registrations/sent.html", event=event, title=event.title,
                           closed_group=event.places_owner.is_moderated)


def _overview_limit() -> str:
    return current_app.config["OVERVIEW_RATE_LIMIT"]


def _may_mail(address: str) -> bool:
    """Whether this address may be sent another overview now, whoever asks for it.

    Counted here and not by a route limit: a route limit would answer 429 and tell its
    remaining count in headers, and so say how often someone asked about the address.
    """
    item = parse_limit(current_app.config["OVERVIEW_ADDRESS_RATE_LIMIT"])
    digest = hashlib.sha256(people.normalise_email(address).encode()).hexdigest()
    return limiter.limiter.hit(item, "overview-address", digest)


@bp.route("/mijn-inschrijvingen", methods=["GET", "POST"])
@limiter.limit(_overview_limit, methods=["POST"])
def overview():
    """Mail a person their registrations with their personal links. The answer is the same
    for any address, and so is it when that address was asked for too often."""
    form = MyRegistrationsForm()
    if form.validate_on_submit():
        if not current_app.config.get("RATELIMIT_ENABLED", True) or _may_mail(form.email.data):
            registration_service.send_overview(form.email.data)
        return redirect(url_for("registrations.overview", verstuurd=1), 303)
    html = render_template("registrations/overview.html", form=form,
                           sent=request.args.get("verstuurd") == "1")
    return private(make_response(html, 422 if form.errors else 200))


@bp.get("/inschrijving/<token:token>")
def detail(token: str):
    """The personal page of one registration: its status, place in line, and how to cancel."""
    registration = _registration_or_404(token)
    sessions = (
        agenda.list_sessions(registration.series) if registration.series else []
    )
    person = people.find_person(registration.email)
    feed_url = public_url("feeds.personal", token=person.feed_token) if person else None
    now = utcnow()
    html = render_template(
        "registrations/detail.html",
        registration=registration,
        sessions=sessions,
        requested_hand_over=registration_service.requested_hand_over(registration),
        may_hand_over=handover.refusal(registration, now) is None,
        may_correct=registration.is_active
        and not places.is_over(registration.places_owner, now),
        meeting_links=notifications.meeting_links(
            registration, [registration.event] if registration.event else sessions),
        position=places.waiting_position(registration),
        now=now,
        feed_url=feed_url,
        attestation=attestations.latest_of([registration]).get(registration.id),
        materials=materials.for_registration(registration),
    )
    return private(make_response(html))


@bp.post("/inschrijving/<token:token>/agenda-link-vernieuwen")
@limiter.limit(_registration_limit)
def renew_feed(token: str):
    """Give the person a new personal feed address; the old one answers 404 from now on."""
    registration = registration_service.find_by_personal_token(token)
    person = people.find_person(registration.email) if registration else None
    if person is None:
        abort(404)
    if PersonalButtonForm().validate_on_submit():
        feeds.renew_feed_token(person)
        flash("Je persoonlijke agenda-link is vernieuwd. De oude link werkt niet meer: "
              "abonneer je opnieuw met de nieuwe.", "success")
    return redirect(url_for("registrations.detail", token=token, _anchor="agenda"), 303)


@bp.route("/inschrijving/<token:token>/annuleren", methods=["GET", "POST"])
@limiter.limit(_registration_limit, methods=["POST"])
def cancel(token: str):
    """Ask for confirmation, then cancel; the first person on the waiting list moves up."""
    registration = _registration_or_404(token)
    form = PersonalButtonForm()
    if form.validate_on_submit():
        try:
            registration_service.cancel_registration(token)
        except SchedulerError as refusal:
            flash(refusal.message, "error")
        else:
            flash("Je inschrijving is geannuleerd. Bedankt om je plaats vrij te maken.", "success")
        return redirect(url_for("registrations.detail", token=token), 303)
    html = render_template("registrations/cancel.html", registration=registration, form=form)
    return private(make_response(html))


@bp.route("/inschrijving/<token:token>/gegevens", methods=["GET", "POST"])
@limiter.limit(_registration_limit, methods=["POST"])
def correct_details(token: str):
    """A person corrects their name and function and says what they need to take part."""
    registration = _registration_or_404(token)
    form = OwnDetailsForm(obj=registration)
    if form.validate_on_submit():
        try:
            registration_service.correct_details(token, form.details(),
                                                 seen_version=form.version.data or None)
        except EditConflictError as conflict:
            form = OwnDetailsForm(formdata=None, obj=registration)
            form.version.data = registration_service.details_version(registration)
            form.form_errors.append(conflict.message)
        except SchedulerError as refusal:
            form.form_errors.append(refusal.message)
        else:
            flash("Je gegevens zijn aangepast.", "success")
            return redirect(url_for("registrations.detail", token=token), 303)
    if request.method == "GET":
        form.version.data = registration_service.details_version(registration)
    return _personal_form("registrations/own_details.html", registration, form,
                          refusal=registration_service.correction_refused(registration,
                                                                          utcnow()))


@bp.route("/inschrijving/<token:token>/overdragen", methods=["GET", "POST"])
@limiter.limit(_registration_limit, methods=["POST"])
def hand_over(token: str):
    """Give the place to a colleague of the same organisation (for a closed group: ask)."""
    registration = _registration_or_404(token)
    form = HandOverForm()
    if form.validate_on_submit():
        try:
            handed = handover.hand_over(token, form.colleague())
        except SchedulerError as refusal:
            form.form_errors.append(refusal.message)
        else:
            flash(f"Je plaats is overgedragen aan {handed.handed_over_to_name}."
                  if handed.status is RegistrationStatus.handed_over else
                  "Je vraag is verstuurd. Tot de organisatoren beslissen, houd je je plaats.",
                  "success")
            return redirect(url_for("registrations.detail", token=token), 303)
    return _personal_form("registrations/hand_over.html", registration, form,
                          refusal=handover.refusal(registration, utcnow()))
