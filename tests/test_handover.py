"""Handing a place over to a colleague: the place stays with the organisation, nobody on the
waiting list is overtaken, a closed group waits for staff, a series hands over what is left."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import (
    AuditEntry,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    utcnow,
)
from scheduler.services import people, places, planning, privacy, registrations
from tests.helpers import applicant, personal_link, statuses, vevents, words

CONFIRMED, WAITING = RegistrationStatus.confirmed, RegistrationStatus.waiting
HANDED_OVER, DECLINED = RegistrationStatus.handed_over, RegistrationStatus.declined


def colleague(number: int = 9, **overrides) -> dict:
    data = {"first_name": "Bart", "last_name": f"Claes {number}",
            "email": f"bart{number}@example.org", "role": "medewerker",
            "function": "Diensthoofd"}
    data.update(overrides)
    return data


def hand_over(client, original: str, **overrides):
    return client.post(f"{personal_link(original)}/overdragen", data=colleague(**overrides))


def registration_of(email: str) -> Registration:
    db.session.expire_all()
    return db.session.scalars(select(Registration).where(Registration.email_normalised == email)
                              .order_by(Registration.id.desc())).first()


def mails_to(address: str) -> list[OutboxMessage]:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == address)
                              .order_by(OutboxMessage.id)).all()


def test_the_colleague_takes_the_place_with_their_own_link_and_invitation(client, staff,
                                                                         make_event):
    event = make_event(capacity=3)
    registrations.register(event.id, applicant(1, function="Schepen", needs="Vegetarisch"))
    response = hand_over(client, "an1@example.org")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "overgedragen aan Bart Claes 9" in page
    assert "Inschrijving annuleren" not in page and "Plaats overdragen" not in page
    original, taker = registration_of("an1@example.org"), registration_of("bart9@example.org")
    assert original.status is HANDED_OVER and original.handed_over_to_id == taker.id
    assert taker.status is CONFIRMED and taker.organisation_id == original.organisation_id
    assert taker.token != original.token and taker.function == "Diensthoofd"
    assert places.seats_of(event).taken == 1
    (cancel,) = [m for m in mails_to("an1@example.org") if m.kind == "handed_over"]
    assert words(cancel).calendar_method == "CANCEL" and "Bart Claes 9" in words(cancel).text_body
    # Nothing is left to cancel, and nobody prepares for someone who no longer comes.
    assert "Je inschrijving bekijken: http" in words(cancel).text_body and "of annuleren" not in \
        words(cancel).text_body
    assert original.needs == ""
    (invitation,) = mails_to("bart9@example.org")
    assert invitation.kind == "handover_received" and words(invitation).calendar_method == "REQUEST"
    assert f"/inschrijving/{taker.token}" in words(invitation).text_body
    assert "An Peeters 1" in words(invitation).text_body
    (uid,) = vevents(words(invitation).calendar.encode())
    assert uid == event.uid == next(iter(vevents(words(cancel).calendar.encode())))
    assert "Je bent ingeschreven" in client.get(f"/inschrijving/{taker.token}").text
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "registration.handover")).one()
    assert entry.subject_id == original.id and "@" not in entry.summary
    staff.login()
    export = client.get(f"/beheer/activiteiten/{event.id}/inschrijvingen.csv")
    header, handed, taken = export.data.decode("utf-8-sig").splitlines()[:3]
    column = header.split(";").index("Overgedragen aan")
    assert (handed.split(";")[column], taken.split(";")[column]) == ("Bart Claes 9", "")


def test_in_a_full_activity_nobody_on_the_waiting_list_is_overtaken(client, make_event):
    event = make_event(capacity=2)
    for number in (1, 2, 3, 4):
        registrations.register(event.id, applicant(number))
    hand_over(client, "an2@example.org")
    assert statuses(event) == [(CONFIRMED, None), (HANDED_OVER, None), (WAITING, 1),
                               (WAITING, 2), (CONFIRMED, None)]
    assert not [m for m in mails_to("an3@example.org") if m.kind.startswith("promoted")]


def test_the_maximum_per_organisation_still_holds(client, make_event):
    event = make_event(capacity=5, max_per_organisation=1)
    registrations.register(event.id, applicant(1))
    registrations.register(event.id, applicant(2))
    assert registration_of("an2@example.org").waiting_reason == "organisation_limit"
    hand_over(client, "an1@example.org")
    assert statuses(event) == [(HANDED_OVER, None), (WAITING, 1), (CONFIRMED, None)]
    assert registration_of("bart9@example.org").organisation_name == "Gent"


def test_a_closed_group_waits_for_staff_and_the_original_keeps_the_place(client, staff,
                                                                          make_event):
    event = make_event(capacity=1, is_moderated=True)
    registrations.register(event.id, applicant(1))
    registrations.register(event.id, applicant(2))
    registrations.register(make_event().id, applicant(9, email="bart9@example.org"))
    original = registration_of("an1@example.org")
    original.status = CONFIRMED
    db.session.commit()
    response = hand_over(client, "an1@example.org")
    page = client.get(response.headers["Location"]).text
    assert "Je bent ingeschreven" in page and "De organisatoren beslissen nog" in page
    assert "Plaats overdragen" not in page
    assert "aan Bart Claes 9 vervalt dan" in client.get(
        f"{personal_link('an1@example.org')}/annuleren").text
    # The colleague knows nothing yet: their own calendar does not show it either.
    feed = client.get(f"/mijn/{people.find_person('bart9@example.org').feed_token}.ics").data
    assert event.uid not in vevents(feed)
    assert [m.kind for m in mails_to("an1@example.org")][-1] == "handover_requested"
    assert [m.kind for m in mails_to("bart9@example.org")] == ["registration_confirmed"]
    proposed = registration_of("bart9@example.org")
    assert proposed.status is RegistrationStatus.handover_requested
    assert statuses(event)[:2] == [(CONFIRMED, None), (WAITING, 1)]
    staff.login()
    participants = client.get(f"/beheer/activiteiten/{event.id}/inschrijvingen").text
    assert "overdracht van An Peeters 1" in participants
    assert "Overname door Bart" in client.get("/beheer/").text
    client.post(f"/beheer/activiteiten/{event.id}/inschrijvingen/{proposed.id}"
                "/overdracht-goedkeuren")
    assert statuses(event) == [(HANDED_OVER, None), (WAITING, 1), (CONFIRMED, None)]
    assert [m.kind for m in mails_to("bart9@example.org")] == [
        "registration_confirmed", "handover_received"]
    assert db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("registration.handover%"))).all() == [
        "registration.handover_request", "registration.handover_approve"]


def test_staff_refuse_a_hand_over_and_nothing_of_the_colleague_is_kept(client, staff,
                                                                      make_event):
    event = make_event(is_moderated=True)
    registrations.register(event.id, applicant(1))
    registration_of("an1@example.org").status = CONFIRMED
    db.session.commit()
    hand_over(client, "an1@example.org")
    proposed = registration_of("bart9@example.org")
    staff.login()
    client.post(f"/beheer/activiteiten/{event.id}/inschrijvingen/{proposed.id}"
                "/overdracht-weigeren")
    assert registration_of("bart9@example.org") is None
    original = registration_of("an1@example.org")
    assert original.status is CONFIRMED and original.handed_over_to_id is None
    assert [m.kind for m in mails_to("an1@example.org")][-1] == "handover_refused"
    assert "Plaats overdragen" in client.get(personal_link("an1@example.org")).text


def test_a_hand_over_waiting_for_approval_goes_when_the_place_goes(client, make_event):
    event = make_event(capacity=1, is_moderated=True)
    registrations.register(event.id, applicant(1))
    registrations.register(event.id, applicant(2))
    registration_of("an1@example.org").status = CONFIRMED
    db.session.commit()
    hand_over(client, "an1@example.org")
    registrations.cancel_registration(registration_of("an1@example.org").token)
    assert registration_of("bart9@example.org") is None
    assert statuses(event) == [(RegistrationStatus.cancelled, None),
                               (RegistrationStatus.pending, None), (DECLINED, None)]


def test_a_series_hands_over_the_sessions_still_to_come(client, make_event, make_series):
    series = make_series(capacity=4)
    past = make_event(series=series, starts_at=utcnow() - timedelta(days=7))
    coming = [make_event(series=series) for _ in range(2)]
    registrations.register(coming[0].id, applicant(1))
    hand_over(client, "an1@example.org")
    original, taker = registration_of("an1@example.org"), registration_of("bart9@example.org")
    assert original.status is HANDED_OVER and taker.series_id == series.id
    (invitation,) = mails_to("bart9@example.org")
    assert set(vevents(words(invitation).calendar.encode())) == {s.uid for s in coming}
    (cancel,) = [m for m in mails_to("an1@example.org") if m.kind == "handed_over"]
    assert {str(e["status"]) for e in vevents(words(cancel).calendar.encode()).values()} == {
        "CANCELLED"}
    assert set(vevents(words(cancel).calendar.encode())) == {s.uid for s in coming}
    feed = client.get(f"/mijn/{people.find_person('an1@example.org').feed_token}.ics")
    shown = {uid: str(entry["status"]) for uid, entry in vevents(feed.data).items()}
    assert shown == {past.uid: "CONFIRMED", coming[0].uid: "CANCELLED",
                     coming[1].uid: "CANCELLED"}


@pytest.mark.parametrize("situation, message", [
    ("started", "bezig"), ("closed", "De inschrijvingen zijn gesloten"),
    ("own address", "je eigen e-mailadres"), ("waiting", "op de wachtlijst"),
])
def test_a_hand_over_is_refused_with_a_clear_message(client, make_event, situation, message):
    now = utcnow()
    if situation == "started":
        event = make_event(starts_at=now - timedelta(minutes=10))
    elif situation == "closed":
        event = make_event(registration_closes_at=now - timedelta(hours=1))
    else:
        event = make_event(capacity=1)
    if situation == "waiting":
        registrations.register(event.id, applicant(2))
    db.session.add(Registration(
        event=event, first_name="An", last_name="Peeters 1", email="an1@example.org",
        email_normalised="an1@example.org", role=applicant(1).role,
        status=WAITING if situation == "waiting" else CONFIRMED))
    db.session.commit()
    data = {"email": "AN1@example.org"} if situation == "own address" else {}
    response = hand_over(client, "an1@example.org", **data)
    assert response.status_code == 422 and message in response.text
    assert registration_of("bart9@example.org") is None
    assert registration_of("an1@example.org").status in (CONFIRMED, WAITING)


def test_the_form_says_what_is_missing_next_to_the_field(client, make_event):
    registrations.register(make_event().id, applicant(1))
    response = hand_over(client, "an1@example.org", email="geen-adres", first_name=" ")
    assert response.status_code == 422
    assert "Dit is geen geldig e-mailadres" in response.text
    assert "Vul de voornaam in." in response.text
    assert registration_of("an1@example.org").status is CONFIRMED


def test_what_the_original_sees_does_not_tell_whether_the_colleague_was_registered(
        client, make_event):
    """The colleague already holds a place: theirs stays, the freed place goes to the waiting
    list, and the original's page reads exactly as after an ordinary hand-over."""
    starts_at = utcnow() + timedelta(days=12)
    known, unknown = (make_event(capacity=2, starts_at=starts_at) for _ in range(2))
    for event in (known, unknown):
        registrations.register(event.id, applicant(1))
    registrations.register(known.id, applicant(9, first_name="Bartholomeus",
                                              email="bart9@example.org"))
    registrations.register(known.id, applicant(3))
    pages = []
    for event in (known, unknown):
        token = db.session.scalars(select(Registration.token).where(
            Registration.event_id == event.id,
            Registration.email_normalised == "an1@example.org")).one()
        response = client.post(f"/inschrijving/{token}/overdragen", data=colleague())
        page = client.get(response.headers["Location"]).text
        pages.append(page.replace(event.title, "").replace(event.slug, "")
                     .replace(token, ""))
    assert pages[0] == pages[1]
    assert statuses(known) == [(HANDED_OVER, None), (CONFIRMED, None), (CONFIRMED, None),
                               (DECLINED, None)]
    (not_needed,) = [m for m in mails_to("bart9@example.org") if m.kind == "handover_not_needed"]
    assert "Je neemt de plaats over" not in words(not_needed).text_body
    assert [m.kind for m in mails_to("bart9@example.org")] == [
        "registration_confirmed", "handover_not_needed", "handover_received"]


def test_a_colleague_on_the_waiting_list_gets_the_place(client, make_event):
    event = make_event(capacity=1)
    registrations.register(event.id, applicant(1))
    registrations.register(event.id, applicant(3))
    registrations.register(event.id, applicant(9, email="bart9@example.org"))
    hand_over(client, "an1@example.org")
    assert statuses(event) == [(HANDED_OVER, None), (WAITING, 1), (CONFIRMED, None),
                               (DECLINED, None)]
    assert [m.kind for m in mails_to("bart9@example.org")][-1] == "handover_received"


def closed_group_with_a_request(client, make_event, **fields) -> tuple:
    """A closed group where An holds a place and asked to hand it to Bart."""
    event = make_event(is_moderated=True, **fields)
    registrations.register(event.id, applicant(1))
    registration_of("an1@example.org").status = CONFIRMED
    db.session.commit()
    hand_over(client, "an1@example.org")
    return event, registration_of("bart9@example.org")


def decide(client, event, proposed, verb: str):
    return client.post(f"/beheer/activiteiten/{event.id}/inschrijvingen/{proposed.id}"
                       f"/overdracht-{verb}")


def test_a_refused_proposal_keeps_its_id_so_a_stale_button_acts_on_nobody(client, staff,
                                                                          make_event):
    event, first = closed_group_with_a_request(client, make_event)
    staff.login()
    decide(client, event, first, "weigeren")
    hand_over(client, "an1@example.org", email="ceel@example.org")
    second = registration_of("ceel@example.org")
    assert second.id != first.id
    response = decide(client, event, first, "goedkeuren")
    assert response.status_code < 500
    assert registration_of("ceel@example.org").status is RegistrationStatus.handover_requested
    set_aside = db.session.get(Registration, first.id)
    assert (set_aside.email, set_aside.first_name, set_aside.status) == ("", "", DECLINED)


def test_erasing_the_proposed_colleague_drops_the_proposal(client, staff, make_event):
    event, proposed = closed_group_with_a_request(client, make_event)
    assert privacy.erase("bart9@example.org", staff.create()) == 0
    original = registration_of("an1@example.org")
    assert original.status is CONFIRMED and original.handed_over_to_id is None
    assert db.session.get(Registration, proposed.id).email == ""
    assert "Plaats overdragen" in client.get(personal_link("an1@example.org")).text


def test_cancelling_the_activity_drops_a_proposal_and_nobody_hears_they_keep_a_place(
        client, staff, make_event):
    event, proposed = closed_group_with_a_request(client, make_event)
    planning.cancel_event(event, "Spreker ziek.", staff.create())
    assert db.session.get(Registration, proposed.id).status is DECLINED
    assert "handover_refused" not in [m.kind for m in mails_to("an1@example.org")]
    (cancelled,) = [m for m in mails_to("an1@example.org") if m.kind == "event_cancelled"]
    assert "of annuleren" not in words(cancelled).text_body
    page = client.get(personal_link("an1@example.org")).text
    assert "Spreker ziek. Je hoeft niets te doen" in page and "beslissen nog" not in page


def test_staff_approve_a_proposal_made_before_registration_closed(client, staff, make_event):
    event, proposed = closed_group_with_a_request(client, make_event)
    event.registration_closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    staff.login()
    decide(client, event, proposed, "goedkeuren")
    assert registration_of("an1@example.org").status is HANDED_OVER
    assert db.session.get(Registration, proposed.id).status is CONFIRMED


def test_a_handed_over_registration_has_nothing_left_to_cancel(client, make_event):
    registrations.register(make_event().id, applicant(1))
    hand_over(client, "an1@example.org")
    link = personal_link("an1@example.org")
    page = client.post(f"{link}/annuleren", follow_redirects=True).text
    assert "Je hebt je plaats overgedragen; er is niets meer te annuleren." in page


def test_the_colleague_can_see_what_was_typed_about_them(client, staff, make_event):
    registrations.register(make_event().id, applicant(1))
    hand_over(client, "an1@example.org")
    named = privacy.lookup("bart9@example.org")["named_in_hand_overs"]
    assert [entry["name"] for entry in named] == ["Bart Claes 9"]
    privacy.erase("bart9@example.org", staff.create())
    assert registration_of("an1@example.org").handed_over_to_name == ""
