"""Registration rules (service, no request), then the form over HTTP with and without htmx."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from scheduler import create_app
from scheduler.errors import (
    AlreadyCancelledError,
    EventNotOpenError,
    RegistrationClosedError,
    RegistrationNotOpenYetError,
)
from scheduler.extensions import db
from scheduler.models import EventStatus, OutboxMessage, Registration, RegistrationStatus, utcnow
from scheduler.services import places, registrations
from tests.fixtures.databases import base_config
from tests.helpers import applicant, form_data, personal_link, statuses, words

S = RegistrationStatus


def test_confirmed_until_capacity_then_waiting_with_position(make_event):
    event = make_event(capacity=2)
    outcomes = [registrations.register(event.id, applicant(n, organisation=f"Org {n}"))
                for n in range(4)]
    assert [(o.registration.status, o.waiting_position) for o in outcomes] == [
        (S.confirmed, None), (S.confirmed, None), (S.waiting, 1), (S.waiting, 2)]
    assert all(o.is_new for o in outcomes)


def test_unlimited_activity_confirms_everyone(make_event):
    event = make_event(capacity=None)
    for n in range(5):
        assert registrations.register(event.id, applicant(n)).registration.status is S.confirmed


def test_moderated_activity_awaits_approval_and_holds_a_place(make_event):
    event = make_event(capacity=1, is_moderated=True)
    first = registrations.register(event.id, applicant(1))
    second = registrations.register(event.id, applicant(2))
    assert first.registration.status is S.pending
    assert (second.registration.status, second.waiting_position) == (S.waiting, 1)


@pytest.mark.parametrize("email", ["AN1@Example.org", "  an1@example.org  ", "an1@EXAMPLE.ORG"])
def test_same_email_twice_creates_nothing(make_event, email):
    event = make_event()
    first = registrations.register(event.id, applicant(1))
    again = registrations.register(event.id, applicant(1, email=email, first_name="Ander"))
    assert again.is_new is False
    assert again.registration.id == first.registration.id
    assert len(statuses(event)) == 1


def test_after_cancelling_one_may_register_again(make_event):
    event = make_event()
    first = registrations.register(event.id, applicant(1))
    registrations.cancel_registration(first.registration.token)
    again = registrations.register(event.id, applicant(1))
    assert again.is_new and again.registration.status is S.confirmed


def test_registration_window(make_event):
    now = utcnow()
    not_yet = make_event(registration_opens_at=now + timedelta(days=1))
    closed = make_event(registration_closes_at=now - timedelta(minutes=1))
    opened = make_event(registration_opens_at=now - timedelta(days=1),
                        registration_closes_at=now + timedelta(days=1))
    with pytest.raises(RegistrationNotOpenYetError):
        registrations.register(not_yet.id, applicant(1), now=now)
    with pytest.raises(RegistrationClosedError):
        registrations.register(closed.id, applicant(1), now=now)
    assert registrations.register(opened.id, applicant(1), now=now).is_new


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"status": EventStatus.draft}, EventNotOpenError),
        ({"status": EventStatus.cancelled}, EventNotOpenError),
        ({"starts_at": "past"}, RegistrationClosedError),
    ],
)
def test_draft_cancelled_and_past_activities_refuse(make_event, overrides, error):
    if overrides.get("starts_at") == "past":
        overrides["starts_at"] = utcnow() - timedelta(days=2)
    event = make_event(**overrides)
    with pytest.raises(error):
        registrations.register(event.id, applicant(1))
    assert statuses(event) == []


def test_series_enrolment_uses_the_series_places(make_event, make_series):
    series = make_series(capacity=2)
    first = make_event(series=series, capacity=None)
    second = make_event(series=series, capacity=None)
    registrations.register(first.id, applicant(1, organisation="A"))
    registrations.register(second.id, applicant(2, organisation="B"))
    third = registrations.register(first.id, applicant(3, organisation="C"))
    assert (third.registration.status, third.waiting_position) == (S.waiting, 1)
    assert third.registration.series_id == series.id and third.registration.event_id is None
    # The same person through another session of the same series: already enrolled.
    assert registrations.register(second.id, applicant(1)).is_new is False


def test_series_with_a_past_first_session_still_enrols(make_event, make_series):
    series = make_series(capacity=5)
    make_event(series=series, starts_at=utcnow() - timedelta(days=20))
    upcoming = make_event(series=series)
    outcome = registrations.register(upcoming.id, applicant(1))
    assert outcome.registration.status is S.confirmed


def test_maximum_per_organisation_sends_the_next_one_to_the_waiting_list(make_event):
    event = make_event(capacity=10, max_per_organisation=2)
    gent = [registrations.register(event.id, applicant(n, organisation="gent ")) for n in range(3)]
    genk = registrations.register(event.id, applicant(9, organisation="Genk"))
    assert [o.registration.status for o in gent] == [S.confirmed, S.confirmed, S.waiting]
    assert gent[2].registration.waiting_reason == places.ORGANISATION_LIMIT
    assert gent[0].registration.organisation.name == "Gent"
    assert genk.registration.status is S.confirmed


def test_maximum_per_organisation_counts_free_text_organisations(make_event):
    event = make_event(capacity=10, max_per_organisation=1)
    registrations.register(event.id, applicant(1, organisation="Politiezone Rupel"))
    second = registrations.register(event.id, applicant(2, organisation="politiezone rupel"))
    assert second.registration.waiting_reason == places.ORGANISATION_LIMIT


def test_cancelling_promotes_the_first_in_line(make_event):
    event = make_event(capacity=1)
    first = registrations.register(event.id, applicant(1, organisation="A")).registration
    second = registrations.register(event.id, applicant(2, organisation="B")).registration
    third = registrations.register(event.id, applicant(3, organisation="C")).registration
    cancelled, promoted = registrations.cancel_registration(first.token)
    assert cancelled.status is S.cancelled
    assert [r.id for r in promoted] == [second.id]
    assert statuses(event) == [(S.cancelled, None), (S.confirmed, None), (S.waiting, 1)]
    assert third.id


def test_promotion_skips_an_organisation_at_its_maximum(make_event):
    event = make_event(capacity=2, max_per_organisation=1)
    gent = registrations.register(event.id, applicant(1, organisation="Gent")).registration
    registrations.register(event.id, applicant(2, organisation="Genk"))
    registrations.register(event.id, applicant(3, organisation="Genk"))  # waits: Genk's limit
    aalst = registrations.register(event.id, applicant(4, organisation="Aalst")).registration
    _, promoted = registrations.cancel_registration(gent.token)
    assert [r.id for r in promoted] == [aalst.id]


def test_cancelling_a_waiting_registration_closes_the_gap(make_event):
    event = make_event(capacity=1)
    registrations.register(event.id, applicant(1, organisation="A"))
    waiting = registrations.register(event.id, applicant(2, organisation="B")).registration
    registrations.register(event.id, applicant(3, organisation="C"))
    _, promoted = registrations.cancel_registration(waiting.token)
    assert promoted == []
    assert statuses(event) == [(S.confirmed, None), (S.cancelled, None), (S.waiting, 1)]


def test_cancelling_twice_is_refused(make_event):
    event = make_event()
    registration = registrations.register(event.id, applicant(1)).registration
    registrations.cancel_registration(registration.token)
    with pytest.raises(AlreadyCancelledError):
        registrations.cancel_registration(registration.token)


def test_moderated_promotion_goes_to_approval(make_event):
    event = make_event(capacity=1, is_moderated=True)
    first = registrations.register(event.id, applicant(1, organisation="A")).registration
    registrations.register(event.id, applicant(2, organisation="B"))
    _, promoted = registrations.cancel_registration(first.token)
    assert [r.status for r in promoted] == [S.pending]


def test_tokens_are_long_random_and_not_the_id(make_event):
    event = make_event()
    tokens = {registrations.register(event.id, applicant(n)).registration.token for n in range(20)}
    assert len(tokens) == 20
    assert all(len(token) >= 32 for token in tokens)


def test_activity_page_has_the_form_with_municipalities(client, make_event):
    event = make_event()
    page = client.get(f"/activiteiten/{event.slug}").get_data(as_text=True)
    assert f'action="/activiteiten/{event.slug}/inschrijven"' in page
    assert '<option value="Beveren-Kruibeke-Zwijndrecht">' in page
    assert 'href="/privacy"' in page


def test_plain_post_says_check_your_mailbox_and_the_mail_leads_to_the_personal_page(
        client, make_event):
    event = make_event(capacity=3)
    response = client.post(f"/activiteiten/{event.slug}/inschrijven", data=form_data())
    assert response.status_code == 303
    assert response.headers["Location"] == f"/activiteiten/{event.slug}/ingeschreven"
    assert "Bekijk je mailbox" in client.get(response.headers["Location"]).text
    personal = client.get(personal_link("an1@example.org"))
    page = personal.get_data(as_text=True)
    assert "Je bent ingeschreven" in page
    assert personal.headers["Cache-Control"] == "no-store"
    assert personal.headers["Referrer-Policy"] == "same-origin"


def test_htmx_post_swaps_in_the_outcome_and_the_places_follow(client, hx, make_event):
    event = make_event(capacity=3)
    response = client.post(f"/activiteiten/{event.slug}/inschrijven", data=form_data(), headers=hx)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in page
    assert '<div id="registration-body"' in page
    assert "Bekijk je mailbox" in page
    assert "registration-created" in response.headers["HX-Trigger"]
    places_now = client.get(f"/activiteiten/{event.slug}", headers=hx).text
    assert f'id="event-{event.id}-seats"' in places_now and "Nog 2 plaatsen" in places_now


def test_when_full_the_mail_and_the_personal_page_tell_the_place_in_line(
        client, hx, make_event, make_registration):
    event = make_event(capacity=1)
    make_registration(event)
    client.post(f"/activiteiten/{event.slug}/inschrijven", data=form_data(), headers=hx)
    (mail,) = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == "an1@example.org")).all()
    assert "op plaats 1" in words(mail).text_body
    personal = client.get(personal_link("an1@example.org")).text
    assert "Je staat op de wachtlijst, op plaats 1" in personal
    assert "Volzet – wachtlijst" in client.get(f"/activiteiten/{event.slug}", headers=hx).text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "an@"}, "email", "Dit is geen geldig e-mailadres"),
        ({"first_name": ""}, "first_name", "Vul je voornaam in."),
        ({"organisation": "x" * 201}, "organisation", "maximaal 200 tekens"),
        ({"role": "koning"}, "role", "Not a valid choice"),
        ({"consent": ""}, "consent", "Zonder je toestemming"),
        ({"first_name": "An\x00"}, "first_name", "tekens die we niet kunnen verwerken"),
        ({"function": "a\nBcc: x@example.org"}, "function", "tekens die we niet"),
        ({"remarks": "nul\x00byte"}, "remarks", "tekens die we niet"),
    ],
)
def test_invalid_input_comes_back_inline_with_422(client, hx, make_event, overrides, field,
                                                   message):
    event = make_event()
    data = form_data(**overrides)
    response = client.post(f"/activiteiten/{event.slug}/inschrijven", data=data, headers=hx)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" not in page
    assert f'id="{field}-error"' in page
    assert message in page or (field == "role" and 'id="role-error"' in page)
    assert 'value="Peeters 1"' in page  # typed values are kept
    assert db.session.scalars(select(Registration)).all() == []


def test_invalid_plain_post_renders_the_whole_page_with_422(client, make_event):
    event = make_event()
    data = form_data(email="geen-adres")
    response = client.post(f"/activiteiten/{event.slug}/inschrijven", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<html" in page and 'aria-invalid="true"' in page
    assert 'aria-describedby="email-hint email-error"' in page


def comparable(response) -> tuple:
    """Everything an outsider sees of an answer but cookies, with the names taken out."""
    headers = sorted((name, value) for name, value in response.headers.items()
                     # The request id is random for every request, known address or not.
                     if name.lower() not in ("set-cookie", "date", "x-request-id"))
    text = re.sub(r"Peeters \d+|an\d+@example\.org", "", response.get_data(as_text=True))
    return response.status_code, headers, text


@pytest.mark.parametrize("htmx", [True, False])
def test_a_known_address_gets_the_same_answer_as_a_new_one(client, make_event, htmx):
    """Nobody learns from the page whether a colleague registered; the owner learns by mail."""
    event = make_event(capacity=1)
    url = f"/activiteiten/{event.slug}/inschrijven"
    headers = {"HX-Request": "true"} if htmx else {}
    client.post(url, data=form_data(1), headers=headers)
    new = client.post(url, data=form_data(2), headers=headers)
    known = client.post(url, data=form_data(1, email=" AN1@example.org"), headers=headers)
    assert comparable(new) == comparable(known)
    assert len(db.session.scalars(select(Registration)).all()) == 2
    mails = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == "an1@example.org").order_by(OutboxMessage.id)).all()
    assert [m.kind for m in mails] == ["registration_confirmed", "already_registered"]
    told = words(mails[1])
    assert "al ingeschreven" in told.text_body and "ingeschreven" in told.subject
    assert personal_link("an1@example.org") in told.text_body
    client.post(url, data=form_data(1), headers=headers)
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient == "an1@example.org")) == 2  # one reminder an hour


def test_closed_activity_refuses_with_a_message(client, hx, make_event):
    event = make_event(registration_closes_at=utcnow() - timedelta(hours=1))
    response = client.post(f"/activiteiten/{event.slug}/inschrijven", data=form_data(), headers=hx)
    assert response.status_code == 422
    assert "inschrijvingen voor deze activiteit zijn gesloten" in response.get_data(as_text=True)
    page = client.get(f"/activiteiten/{event.slug}").get_data(as_text=True)
    assert "Inschrijving gesloten" in page and 'name="email"' not in page


@pytest.mark.parametrize("path", [
    "/activiteiten/bestaat-niet/inschrijven",
])
def test_post_to_unknown_activity_is_404(client, path):
    assert client.post(path, data=form_data()).status_code == 404


@pytest.mark.parametrize("token", ["x" * 32, "kort", "a" * 65, "%27%3B--" * 4])
def test_unknown_or_malformed_token_is_404(client, token):
    assert client.get(f"/inschrijving/{token}").status_code == 404
    assert client.post(f"/inschrijving/{token}/annuleren").status_code == 404


def test_cancel_through_the_personal_link_promotes_the_waiting_person(client, make_event):
    event = make_event(capacity=1)
    url = f"/activiteiten/{event.slug}/inschrijven"
    client.post(url, data=form_data(1, organisation="A"))
    client.post(url, data=form_data(2, organisation="B"))
    first, second = personal_link("an1@example.org"), personal_link("an2@example.org")
    assert "op plaats 1" in client.get(second).get_data(as_text=True)

    confirm = client.get(first + "/annuleren").get_data(as_text=True)
    assert "Ja, annuleer mijn inschrijving" in confirm
    response = client.post(first + "/annuleren")
    assert response.status_code == 303
    assert "Deze inschrijving is geannuleerd" in client.get(first).get_data(as_text=True)
    assert "Je bent ingeschreven" in client.get(second).get_data(as_text=True)


def test_registration_posts_are_rate_limited(database_url, make_event):
    event = make_event()
    limited_app = create_app(
        base_config(database_url, RATELIMIT_ENABLED=True, REGISTRATION_RATE_LIMIT="2 per minute")
    )
    client = limited_app.test_client()
    url = f"/activiteiten/{event.slug}/inschrijven"
    codes = [client.post(url, data=form_data(n)).status_code for n in range(3)]
    limited = client.post(url, data=form_data(9))
    assert codes[:2] == [303, 303] and codes[2] == 429
    assert limited.status_code == 429
    assert "Even geduld" in limited.get_data(as_text=True)
    inline = client.post(url, data=form_data(10), headers={"HX-Request": "true"})
    assert inline.status_code == 429
    assert inline.headers["HX-Retarget"] == "#alerts"
    assert 'role="alert"' in inline.get_data(as_text=True)
    assert "<html" not in inline.get_data(as_text=True)
    with limited_app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("in_series", [False, True], ids=["activity", "session"])
def test_a_registration_takes_the_same_few_statements_however_many_came_before(
        client, make_event, make_series, count_queries, app, in_series):
    series = make_series(capacity=100, max_per_organisation=50) if in_series else None
    event = make_event(capacity=100, max_per_organisation=None if series else 50, series=series)
    url = f"/activiteiten/{event.slug}/inschrijven"
    client.post(url, data=form_data(1))  # reads the municipalities, once per process
    with count_queries() as first:
        assert client.post(url, data=form_data(2)).status_code == 303
    for number in range(3, 30):
        registrations.register(event.id, applicant(number))
    with count_queries() as later:
        assert client.post(url, data=form_data(99)).status_code == 303
    # The activity (with its series), the address with the places taken in one statement, the
    # person, the registration and its mail. On PostgreSQL the lock on the row that owns the
    # places; for a session also the series' sessions (whether one is still to come).
    on_postgres = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    expected = 5 + on_postgres + in_series
    assert len(first) == len(later) == expected, later
