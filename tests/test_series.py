"""Series and their sessions: one owner of the places, staff change a series, nothing detaches."""

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from scheduler.dates import brussels_to_utc
from scheduler.extensions import db
from scheduler.models import (
    Event,
    EventKind,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Series,
    utcnow,
)
from scheduler.services import places, registrations
from scheduler.services import series as series_service
from tests.helpers import applicant, event_form, form_data, parse, statuses, vevents, words

S = RegistrationStatus
BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.fixture
def closed_group(make_series, make_event, make_registration, make_theme):
    """The closed intervision group of the report: 3 confirmed, 2 awaiting approval."""
    series = make_series(slug="intervisiegroep-livc", title="Intervisiegroep LIVC-coördinatoren",
                         capacity=6, is_moderated=True)
    theme = make_theme()
    # Mornings, whatever the hour the tests run: the forms below change the times of day.
    start = brussels_to_utc((utcnow() + timedelta(days=20)).date(), time(10))
    sessions = [
        make_event(series=series, kind=EventKind.intervision, capacity=None,
                   slug=f"intervisiegroep-livc-{number}", title=f"Intervisiegroep ({number}/3)",
                   starts_at=start + timedelta(days=30 * number), themes=[theme])
        for number in range(1, 4)
    ]
    for number in range(5):
        make_registration(series, email=f"lid{number}@example.org",
                          status=S.confirmed if number < 3 else S.pending)
    return series, sessions


def mails(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def session_form(session: Event, **overrides) -> dict:
    """The session's form as the page fills it in, then changed by ``overrides``."""
    local = session.starts_at.astimezone(BRUSSELS)
    data = event_form(
        kind="intervision", audience="both", title=session.title, slug=session.slug,
        day=local.date().isoformat(), start_time=local.strftime("%H:%M"),
        end_time=(local + timedelta(hours=3)).strftime("%H:%M"), municipality="",
        venue=session.venue, address=session.address, summary=session.summary,
        description=session.description,
        themes=[str(theme.id) for theme in session.themes],
    )
    del data["capacity"]
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def test_a_session_takes_places_and_moderation_from_its_series(closed_group):
    series, sessions = closed_group
    assert all(session.places_owner is series for session in sessions)
    seats = places.summaries(sessions)
    assert {seats[s.id].taken for s in sessions} == {5}
    assert seats[sessions[0].id].capacity == 6


def test_the_reported_scenario_keeps_the_session_in_its_group(client, staff, closed_group):
    """Typing 2 in "capacity" of the first session and saving detached it; now it cannot."""
    series, sessions = closed_group
    first = sessions[0]
    staff.login()
    response = client.post(f"/beheer/activiteiten/{first.id}",
                           data=session_form(first, capacity="2"))
    assert response.status_code == 303
    db.session.expire_all()
    assert first.series_id == series.id and first.capacity is None
    assert series.capacity == 6 and series.is_moderated
    assert places.summaries([first])[first.id].taken == 5

    client.get("/beheer/afmelden")
    for number in (1, 2):
        client.post(f"/activiteiten/{first.slug}/inschrijven",
                    data=form_data(number, email=f"vreemde{number}@example.org"))
    strangers = db.session.scalars(
        select(Registration).where(Registration.email.like("vreemde%"))).all()
    assert [(r.series_id, r.status) for r in strangers] == [(series.id, S.pending)] * 1 + \
        [(series.id, S.waiting)]


SESSION_FIELD_CHANGES = {
    "kind": "training", "audience": "medewerkers", "title": "Andere titel",
    "slug": "andere-slug", "summary": "Nieuw", "description": "Nieuwe *tekst*",
    "day": "2031-05-06", "end_day": "2031-05-07", "start_time": "09:00", "end_time": "17:00",
    "venue": "Elders", "address": "Straat 2", "municipality": "Gent",
    "online_url": "https://meet.example.org/x", "registration_opens_at": "2030-01-01T09:00",
    "registration_closes_at": "2026-12-01T09:00", "themes": [],
    "capacity": "2", "max_per_organisation": "1", "is_moderated": None,
}


@pytest.mark.parametrize("name", sorted(SESSION_FIELD_CHANGES))
def test_saving_any_field_of_a_session_keeps_it_in_its_series(client, staff, closed_group, name):
    series, sessions = closed_group
    first = sessions[0]
    staff.login()
    data = session_form(first, **{name: SESSION_FIELD_CHANGES[name]})
    if name == "is_moderated":
        data.pop("is_moderated", None)
    response = client.post(f"/beheer/activiteiten/{first.id}", data=data)
    assert response.status_code == 303, response.text
    db.session.expire_all()
    assert first.series_id == series.id
    assert (first.capacity, first.max_per_organisation, first.is_moderated) == (None, None, False)
    assert (series.capacity, series.max_per_organisation, series.is_moderated) == (6, None, True)
    assert places.summaries([first])[first.id].taken == 5
    assert first.places_owner is series


def test_session_form_shows_what_the_series_owns_with_a_link(client, staff, closed_group):
    series, sessions = closed_group
    staff.login()
    page = client.get(f"/beheer/activiteiten/{sessions[0].id}").text
    assert 'name="capacity"' not in page and 'name="is_moderated"' not in page
    assert 'name="max_per_organisation"' not in page
    assert f'href="/beheer/reeksen/{series.id}"' in page
    assert "6 plaatsen" in page and "eerst goedgekeurd" in page
    standalone = client.get("/beheer/activiteiten/nieuw").text
    assert 'name="capacity"' in standalone


@pytest.mark.parametrize("action", ["publiceren", "depubliceren", "dupliceren"])
def test_status_changes_and_copies_keep_sessions_in_their_series(client, staff, closed_group,
                                                                 action):
    series, sessions = closed_group
    staff.login()
    session = sessions[1]
    if action == "publiceren":
        session.status = EventStatus.draft
        db.session.commit()
    client.post(f"/beheer/activiteiten/{session.id}/{action}")
    db.session.expire_all()
    assert all(event.series_id == series.id for event in db.session.scalars(select(Event)))
    if action == "dupliceren":
        copy = db.session.scalars(select(Event).where(Event.slug == f"{session.slug}-2")).one()
        assert copy.series_id == series.id and copy.capacity is None


def test_cancelling_one_session_tells_everyone_and_the_series_goes_on(client, staff,
                                                                      closed_group):
    series, sessions = closed_group
    staff.login()
    response = client.post(f"/beheer/activiteiten/{sessions[1].id}/annuleren",
                           data={"reason": "De zaal is niet beschikbaar."})
    assert response.status_code == 303
    cancelled = mails("event_cancelled")
    assert len(cancelled) == 5
    with_invitation = [m for m in cancelled if words(m).calendar]
    assert len(with_invitation) == 3
    for message in with_invitation:
        invitation = parse(words(message).calendar.encode())
        assert invitation["METHOD"] == "CANCEL"
        assert [str(v["uid"]) for v in invitation.walk("VEVENT")] == [sessions[1].uid]
    feed = vevents(client.get(f"/reeks/{series.slug}.ics").data)
    assert str(feed[sessions[1].uid]["status"]) == "CANCELLED"
    assert str(feed[sessions[2].uid]["status"]) == "CONFIRMED"
    # The series still takes registrations through its other sessions.
    outcome = registrations.register(sessions[2].id, applicant(7))
    assert outcome.registration.series_id == series.id


def test_cancelling_twice_or_a_draft_is_refused(client, staff, closed_group):
    _series, sessions = closed_group
    staff.login()
    for _ in range(2):
        client.post(f"/beheer/activiteiten/{sessions[0].id}/annuleren", data={"reason": "Weg."})
    assert len(mails("event_cancelled")) == 5
    sessions[1].status = EventStatus.draft
    db.session.commit()
    client.post(f"/beheer/activiteiten/{sessions[1].id}/annuleren", data={"reason": "Weg."})
    db.session.refresh(sessions[1])
    assert sessions[1].status is EventStatus.draft


def test_moving_a_session_sends_an_updated_invitation(client, staff, closed_group):
    _series, sessions = closed_group
    session = sessions[2]
    uid, sequence = session.uid, session.sequence
    staff.login()
    client.post(f"/beheer/activiteiten/{session.id}", data=session_form(session, day="2031-09-09"))
    db.session.refresh(session)
    assert session.sequence == sequence + 1
    changed = mails("event_changed")
    assert len(changed) == 5
    for message in (m for m in changed if words(m).calendar):
        (vevent,) = parse(words(message).calendar.encode()).walk("VEVENT")
        assert str(vevent["uid"]) == uid and int(vevent["sequence"]) == session.sequence
        assert words(message).calendar_method == "REQUEST"


def test_adding_a_session_to_a_published_series_invites_the_confirmed(client, staff,
                                                                      closed_group):
    series, sessions = closed_group
    staff.login()
    response = client.post(f"/beheer/reeksen/{series.id}/bijeenkomsten", data={
        "day": "2031-12-02", "start_time": "13:30", "end_time": "16:30", "venue": "Zaal 2"})
    assert response.status_code == 303
    db.session.expire_all()
    added = db.session.scalars(select(Event).where(Event.venue == "Zaal 2")).one()
    assert added.series_id == series.id and added.status is EventStatus.published
    assert added.title == f"{series.title} (extra bijeenkomst)"
    invited = mails("session_added")
    assert len(invited) == 3
    for message in invited:
        assert words(message).calendar_method == "REQUEST"
        (vevent,) = parse(words(message).calendar.encode()).walk("VEVENT")
        assert str(vevent["uid"]) == added.uid
    assert added.uid in vevents(client.get(f"/reeks/{series.slug}.ics").data)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"start_time": "16:30", "end_time": "13:30"}, "Het einde moet na het begin liggen."),
    ({"day": "2020-01-07"}, "Kies een moment dat nog moet komen."),
    ({"day": ""}, "Kies een datum."),
])
def test_adding_a_session_with_bad_input_changes_nothing(client, staff, closed_group, overrides,
                                                         message):
    series, _sessions = closed_group
    staff.login()
    data = {"day": "2031-12-02", "start_time": "13:30", "end_time": "16:30", **overrides}
    response = client.post(f"/beheer/reeksen/{series.id}/bijeenkomsten", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert db.session.scalar(select(db.func.count(Event.id))) == 3


def series_settings(series: Series, **overrides) -> dict:
    data = {"title": series.title, "summary": series.summary,
            "capacity": "" if series.capacity is None else str(series.capacity),
            "max_per_organisation": series.max_per_organisation or "",
            "is_moderated": "y" if series.is_moderated else None}
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def test_raising_the_series_capacity_promotes_in_order_with_the_maximum(
        client, staff, make_series, make_event):
    series = make_series(capacity=1, max_per_organisation=1)
    session = make_event(series=series, kind=EventKind.intervision, capacity=None)
    registrations.register(session.id, applicant(1, organisation="Gent"))
    registrations.register(session.id, applicant(2, organisation="Gent"))
    registrations.register(session.id, applicant(3, organisation="Genk"))
    registrations.register(session.id, applicant(4, organisation="Aalst"))
    staff.login()
    response = client.post(f"/beheer/reeksen/{series.id}", data=series_settings(
        series, capacity="3"), follow_redirects=True)
    assert "2 van de wachtlijst doorgeschoven" in response.text
    assert statuses(series) == [(S.confirmed, None), (S.waiting, 1), (S.confirmed, None),
                                (S.confirmed, None)]
    assert sorted(m.recipient for m in mails("promoted")) == ["an3@example.org",
                                                             "an4@example.org"]
    # Raising the maximum per organisation lets the one from Gent in once a place is free.
    client.post(f"/beheer/reeksen/{series.id}", data=series_settings(
        series, capacity="4", max_per_organisation="2"))
    assert statuses(series)[1] == (S.confirmed, None)


def test_lowering_the_capacity_keeps_everyone_and_says_how_many_are_above(
        client, staff, closed_group):
    series, _sessions = closed_group
    staff.login()
    response = client.post(f"/beheer/reeksen/{series.id}", data=series_settings(
        series, capacity="2"), follow_redirects=True)
    assert "3 inschrijvingen meer dan de nieuwe capaciteit" in response.text
    assert [status for status, _ in statuses(series)] == [S.confirmed] * 3 + [S.pending] * 2
    assert mails("declined") == [] and mails("cancelled_by_person") == []


def test_editing_the_series_renames_its_sessions_and_sets_moderation(client, staff, make_series,
                                                                     make_event):
    series = series_service.create_series(series_service.SeriesFields(
        title="Reeks A", slug="reeks-a", kind=EventKind.intervision,
        dates=(utcnow().date() + timedelta(days=40), utcnow().date() + timedelta(days=80)),
        start_time=time(9), end_time=time(12),
        capacity=5, is_moderated=True), staff.create())
    staff.login()
    client.post(f"/beheer/reeksen/{series.id}", data=series_settings(
        series, title="Reeks B", is_moderated=None))
    db.session.expire_all()
    assert [event.title for event in series.events] == ["Reeks B (1/2)", "Reeks B (2/2)"]
    assert series.is_moderated is False
    assert all(not event.is_moderated and event.capacity is None for event in series.events)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"title": ""}, "Geef een titel."),
    ({"capacity": "-1"}, "Geef 0 of meer plaatsen."),
    ({"capacity": "veel"}, "Ongeldig getal."),
])
def test_bad_series_settings_change_nothing(client, staff, closed_group, overrides, message):
    series, _sessions = closed_group
    staff.login()
    response = client.post(f"/beheer/reeksen/{series.id}",
                           data=series_settings(series, **overrides))
    assert response.status_code == 422
    assert message in response.text
    db.session.expire_all()
    assert series.capacity == 6 and series.title.startswith("Intervisiegroep")


def test_raising_the_capacity_of_an_activity_promotes_at_once(client, staff, make_event):
    event = make_event(capacity=1, slug="vol")
    for number in (1, 2, 3):
        registrations.register(event.id, applicant(number, organisation=f"Org {number}"))
    staff.login()
    data = event_form(title=event.title, slug=event.slug, capacity="2")
    response = client.post(f"/beheer/activiteiten/{event.id}", data=data,
                           follow_redirects=True)
    assert "1 van de wachtlijst doorgeschoven" in response.text
    assert statuses(event) == [(S.confirmed, None), (S.confirmed, None), (S.waiting, 1)]
    assert [m.recipient for m in mails("promoted")] == ["an2@example.org"]


@pytest.mark.parametrize("action", ["publiceren", "depubliceren"])
def test_a_cancelled_session_stays_cancelled(client, staff, closed_group, action):
    series, sessions = closed_group
    staff.login()
    client.post(f"/beheer/activiteiten/{sessions[0].id}/annuleren", data={"reason": "Ziek."})
    response = client.post(f"/beheer/activiteiten/{sessions[0].id}/{action}",
                           follow_redirects=True)
    assert "blijft geannuleerd" in response.text
    db.session.expire_all()
    assert sessions[0].status is EventStatus.cancelled
    feed = vevents(client.get(f"/reeks/{series.slug}.ics").data)
    assert str(feed[sessions[0].uid]["status"]) == "CANCELLED"


def test_mails_about_one_session_name_that_session(client, staff, closed_group):
    _series, sessions = closed_group
    staff.login()
    client.post(f"/beheer/activiteiten/{sessions[1].id}/annuleren", data={"reason": "Ziek."})
    assert {words(m).subject for m in mails("event_cancelled")} == {
        f"Geannuleerd: {sessions[1].title}"}


def test_saving_a_session_unchanged_mails_nobody(client, staff, closed_group):
    _series, sessions = closed_group
    session = sessions[0]
    sequence = session.sequence
    staff.login()
    response = client.post(f"/beheer/activiteiten/{session.id}", data=session_form(session),
                           follow_redirects=True)
    assert "De wijzigingen zijn bewaard." in response.text
    assert "capaciteit" not in response.text.split("<main")[1].split("<form")[0]
    db.session.refresh(session)
    assert session.sequence == sequence
    assert db.session.scalar(select(db.func.count(OutboxMessage.id))) == 0


def test_more_places_in_a_moderated_series_await_approval(client, staff, closed_group):
    series, sessions = closed_group
    for number in (1, 2, 3):
        registrations.register(sessions[0].id, applicant(number, organisation=f"Org {number}"))
    assert [s for s, _ in statuses(series)][5:] == [S.pending, S.waiting, S.waiting]
    staff.login()
    client.post(f"/beheer/reeksen/{series.id}", data=series_settings(series, capacity="7"))
    assert [s for s, _ in statuses(series)][5:] == [S.pending, S.pending, S.waiting]
    assert [m.recipient for m in mails("promoted_pending")] == ["an2@example.org"]


def test_a_session_added_to_a_draft_series_is_a_draft_and_mails_nobody(client, staff,
                                                                      closed_group):
    series, sessions = closed_group
    for session in sessions:
        session.status = EventStatus.draft
    sessions[-1].registration_closes_at = sessions[-1].starts_at - timedelta(days=1)
    db.session.commit()
    staff.login()
    client.post(f"/beheer/reeksen/{series.id}/bijeenkomsten", data={
        "day": "2031-12-02", "start_time": "13:30", "end_time": "16:30"})
    added = db.session.scalars(select(Event).order_by(Event.id.desc())).first()
    assert added.status is EventStatus.draft and added.series_id == series.id
    assert added.registration_closes_at == sessions[-1].registration_closes_at
    assert mails("session_added") == []


@pytest.mark.parametrize("cancel_first", [True, False])
def test_a_session_is_not_moved_when_cancelled_or_into_the_past(client, staff, closed_group,
                                                                cancel_first):
    _series, sessions = closed_group
    session = sessions[0]
    staff.login()
    if cancel_first:
        client.post(f"/beheer/activiteiten/{session.id}/annuleren", data={"reason": "Ziek."})
        day, message = "2031-09-01", "Een geannuleerde activiteit verplaats je niet meer."
    else:
        day = "2020-01-07"
        message = "Een gepubliceerde activiteit verplaats je niet naar een moment dat voorbij is."
    starts_at, sequence = session.starts_at, session.sequence
    mailed = db.session.scalar(select(db.func.count(OutboxMessage.id)))
    response = client.post(f"/beheer/activiteiten/{session.id}",
                           data=session_form(session, day=day))
    assert response.status_code == 422
    assert message in response.text
    db.session.expire_all()
    assert session.starts_at == starts_at and session.sequence == sequence
    assert db.session.scalar(select(db.func.count(OutboxMessage.id))) == mailed


def test_a_session_that_already_began_today_is_not_added(client, staff, closed_group):
    series, _sessions = closed_group
    staff.login()
    began = utcnow().astimezone(BRUSSELS) - timedelta(minutes=10)
    if began.hour == 23 and began.minute >= 50:
        began -= timedelta(minutes=20)  # the meeting must end on the day it began
    response = client.post(f"/beheer/reeksen/{series.id}/bijeenkomsten", data={
        "day": began.date().isoformat(), "start_time": began.strftime("%H:%M"),
        "end_time": (began + timedelta(minutes=5)).strftime("%H:%M")})
    assert response.status_code == 422
    assert "Kies een moment dat nog moet komen." in response.text


def test_a_session_published_once_is_not_deleted(client, staff, closed_group):
    """Mails went out about it; deleting it would also break their record (it answered 500)."""
    series, _sessions = closed_group
    staff.login()
    client.post(f"/beheer/reeksen/{series.id}/bijeenkomsten", data={
        "day": "2031-12-02", "start_time": "13:30", "end_time": "16:30"})
    added = db.session.scalars(select(Event).order_by(Event.id.desc())).first()
    client.post(f"/beheer/activiteiten/{added.id}/depubliceren")
    response = client.post(f"/beheer/activiteiten/{added.id}/verwijderen",
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Alleen een ontwerp zonder inschrijvingen" in response.text
    db.session.expire_all()
    assert db.session.get(Event, added.id) is not None


def test_the_place_of_an_activity_that_began_can_still_be_corrected(client, staff,
                                                                    make_event):
    began = (utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0)
    event = make_event(starts_at=began, slug="webinar", title="Webinar")
    staff.login()
    local = event.starts_at.astimezone(BRUSSELS)
    response = client.post(f"/beheer/activiteiten/{event.id}", data=event_form(
        title=event.title, slug=event.slug, day=local.date().isoformat(),
        start_time=local.strftime("%H:%M"),
        end_day=(local + timedelta(hours=3)).date().isoformat(),  # late at night: tomorrow
        end_time=(local + timedelta(hours=3)).strftime("%H:%M"),
        online_url="https://meet.example.org/juist"))
    assert response.status_code == 303
    db.session.refresh(event)
    assert event.online_url == "https://meet.example.org/juist"


def test_the_reason_for_waiting_follows_the_maximum(client, staff, make_series, make_event):
    series = make_series(capacity=3, max_per_organisation=1)
    session = make_event(series=series, kind=EventKind.intervision, capacity=None)
    registrations.register(session.id, applicant(1, organisation="Gent"))
    second = registrations.register(session.id, applicant(2, organisation="Gent")).registration
    registrations.register(session.id, applicant(3, organisation="Genk"))
    registrations.register(session.id, applicant(4, organisation="Aalst"))
    assert second.waiting_reason == places.ORGANISATION_LIMIT
    staff.login()
    # Full now: once the maximum is gone, the organisation is no longer why they wait.
    client.post(f"/beheer/reeksen/{series.id}", data=series_settings(
        series, max_per_organisation=""))
    db.session.refresh(second)
    assert second.status is S.waiting and second.waiting_reason is None
    page = client.get(f"/inschrijving/{second.token}").text
    assert "None" not in page and "maximum" not in page


def test_the_series_summary_and_titles_reach_the_sessions(client, staff, closed_group):
    series, sessions = closed_group
    for session in sessions:
        session.summary = series.summary
    sessions[2].summary = "Eigen tekst"
    db.session.commit()
    staff.login()
    client.post(f"/beheer/reeksen/{series.id}", data=series_settings(
        series, summary="Nieuwe samenvatting"))
    db.session.expire_all()
    assert [s.summary for s in sessions] == ["Nieuwe samenvatting"] * 2 + ["Eigen tekst"]


def test_a_title_of_only_spaces_is_empty(client, staff, closed_group):
    series, _sessions = closed_group
    staff.login()
    response = client.post(f"/beheer/reeksen/{series.id}",
                           data=series_settings(series, title="   "))
    assert response.status_code == 422 and "Geef een titel." in response.text
