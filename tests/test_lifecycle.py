"""What a cancelled or past activity still does, and the smaller lifecycle rules of issue 14."""

import csv
import io
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    AuditEntry,
    Event,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    utcnow,
)
from scheduler.services import moderation, places, planning, registrations
from scheduler.services import series as series_service
from tests.helpers import applicant, event_fields, statuses, words

S = RegistrationStatus
PROMOTIONS = ("promoted", "promoted_pending", "approved")


def kinds(registration: Registration) -> list[str]:
    return [message.kind for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.registration_id == registration.id))]


@pytest.fixture
def cancelled_full_activity(make_event, staff):
    """One place, taken; two waiting; then staff cancel the activity."""
    event = make_event(capacity=1)
    people = [registrations.register(event.id, applicant(n, organisation=f"Org {n}")).registration
              for n in (1, 2, 3)]
    admin = staff.create()
    planning.cancel_event(event, "Spreker ziek.", admin)
    return event, people, admin


def test_a_cancellation_on_a_cancelled_activity_is_refused_and_promotes_nobody(
        cancelled_full_activity):
    """There is nothing left to cancel: everyone already had the cancellation."""
    event, (confirmed, first_waiting, _second), _admin = cancelled_full_activity
    before = len(kinds(confirmed))
    with pytest.raises(SchedulerError, match="gaat niet door"):
        registrations.cancel_registration(confirmed.token)
    assert len(kinds(confirmed)) == before
    db.session.refresh(first_waiting)
    assert first_waiting.status is S.waiting
    assert not set(kinds(first_waiting)) & set(PROMOTIONS)


def test_declining_on_a_cancelled_activity_is_refused(cancelled_full_activity):
    """Everyone already had the cancellation; a decline would only mail them again."""
    event, (confirmed, first_waiting, _second), admin = cancelled_full_activity
    with pytest.raises(SchedulerError):
        moderation.decline(confirmed, event.id, admin)
    db.session.refresh(first_waiting)
    assert first_waiting.status is S.waiting and "declined" not in kinds(confirmed)


def test_a_cancelled_activity_takes_nobody_by_hand_nor_by_promotion(cancelled_full_activity):
    event, (_confirmed, first_waiting, _second), admin = cancelled_full_activity
    with pytest.raises(SchedulerError):
        moderation.register_by_hand(event.id, applicant(9), admin)
    with pytest.raises(SchedulerError):
        moderation.promote(first_waiting, event.id, admin)
    planning.save_event(event, planning.EventFields(
        kind=event.kind, title=event.title, slug=event.slug, starts_at=event.starts_at,
        ends_at=event.ends_at, venue=event.venue, capacity=5), admin)
    assert [status for status, _ in statuses(event)] == [S.confirmed, S.waiting, S.waiting]


def test_approving_on_a_cancelled_activity_is_refused(make_event, staff):
    event = make_event(is_moderated=True)
    pending = registrations.register(event.id, applicant(1)).registration
    admin = staff.create()
    planning.cancel_event(event, "Weg.", admin)
    with pytest.raises(SchedulerError):
        moderation.approve(pending, event.id, admin)
    assert "approved" not in kinds(pending)


def test_a_past_activity_promotes_nobody(make_event, staff):
    event = make_event(capacity=1, starts_at=utcnow() + timedelta(hours=1))
    registrations.register(event.id, applicant(1, organisation="A"))
    registrations.register(event.id, applicant(2, organisation="B"))
    event.starts_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    planning.save_event(event, planning.EventFields(
        kind=event.kind, title=event.title, slug=event.slug, starts_at=event.starts_at,
        ends_at=event.ends_at, venue=event.venue, capacity=5), staff.create())
    assert statuses(event)[1] == (S.waiting, 1)


def test_back_to_draft_is_refused_while_people_are_registered(client, staff, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1))
    staff.login()
    response = client.post(f"/beheer/activiteiten/{event.id}/depubliceren",
                           follow_redirects=True)
    assert "annuleer de activiteit in plaats van" in response.text
    db.session.refresh(event)
    assert event.is_published


def test_the_personal_page_says_the_activity_is_off(client, cancelled_full_activity):
    _event, (confirmed, first_waiting, _second), _admin = cancelled_full_activity
    for person in (confirmed, first_waiting):
        page = client.get(f"/inschrijving/{person.token}").text
        assert "Deze activiteit gaat niet door" in page and "Spreker ziek." in page
        assert "Inschrijving annuleren" not in page and "bevestigd" not in page
        assert "schuif je automatisch door" not in page


def test_declining_someone_confirmed_cancels_their_invitation(make_event, staff):
    event = make_event()
    confirmed = registrations.register(event.id, applicant(1)).registration
    moderation.decline(confirmed, event.id, staff.create())
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "declined")).one()
    assert words(message).calendar_method == "CANCEL"
    (vevent,) = icalendar.Calendar.from_ical(words(message).calendar).walk("VEVENT")
    assert str(vevent["uid"]) == event.uid and str(vevent["status"]) == "CANCELLED"


def test_declining_someone_who_waited_sends_no_calendar(make_event, staff):
    event = make_event(is_moderated=True)
    pending = registrations.register(event.id, applicant(1)).registration
    moderation.decline(pending, event.id, staff.create())
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "declined")).one()
    assert words(message).calendar is None


def test_the_waiting_mail_says_why_when_it_is_the_organisation(make_event):
    event = make_event(capacity=5, max_per_organisation=1)
    registrations.register(event.id, applicant(1, organisation="Gent"))
    second = registrations.register(event.id, applicant(2, organisation="Gent")).registration
    assert second.waiting_reason == places.ORGANISATION_LIMIT
    (message,) = [m for m in second.messages if m.kind == "registration_waiting"]
    assert "maximum aantal plaatsen" in words(message).text_body
    assert "volzet" not in words(message).text_body


def test_reach_leaves_out_cancelled_activities(client, staff, make_event):
    held = make_event(starts_at=utcnow() + timedelta(days=3))
    called_off = make_event(starts_at=utcnow() + timedelta(days=4))
    registrations.register(held.id, applicant(1, organisation="Gent"))
    registrations.register(called_off.id, applicant(2, organisation="Genk"))
    planning.cancel_event(called_off, "Weg.", staff.create())
    staff.login()
    today = date.today()
    query = f"?van={today - timedelta(days=30)}&tot={today + timedelta(days=30)}"
    exported = client.get("/beheer/bereik.csv" + query).data.decode("utf-8-sig")
    rows = {row[1]: row for row in csv.reader(io.StringIO(exported), delimiter=";")}
    assert rows["Gent"][3] == "1" and rows["Genk"][3] == "0"


def test_the_export_gives_the_moment_of_registration_in_brussels_time(client, staff, make_event):
    event = make_event()
    person = registrations.register(event.id, applicant(1)).registration
    staff.login()
    exported = client.get(f"/beheer/activiteiten/{event.id}/inschrijvingen.csv")
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig")), delimiter=";"))
    brussels = person.created_at.astimezone(ZoneInfo("Europe/Brussels"))
    assert rows[1][-1] == brussels.strftime("%Y-%m-%d %H:%M")



def test_cancelling_a_series_enrolment_marks_its_sessions_cancelled(make_event, make_series):
    series = make_series(capacity=5)
    sessions = [make_event(series=series, starts_at=utcnow() + timedelta(days=days))
                for days in (5, 12)]
    person = registrations.register(sessions[0].id, applicant(1)).registration
    registrations.cancel_registration(person.token)
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "cancelled_by_person")).one()
    assert words(message).calendar_method == "PUBLISH"
    entries = icalendar.Calendar.from_ical(words(message).calendar).walk("VEVENT")
    assert sorted(str(entry["uid"]) for entry in entries) == sorted(s.uid for s in sessions)
    assert {str(entry["status"]) for entry in entries} == {"CANCELLED"}


def snapshot() -> tuple:
    """Every registration's and activity's status, the mails queued and the audit log."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Registration.id, Registration.status).order_by(Registration.id)).all()
    activities = db.session.execute(select(Event.id, Event.status).order_by(Event.id)).all()
    return ([tuple(row) for row in rows], [tuple(row) for row in activities],
            db.session.scalar(select(func.count(OutboxMessage.id))),
            db.session.scalar(select(func.count(AuditEntry.id))))


def test_every_action_posted_twice_changes_and_mails_nothing_the_second_time(
        client, staff, make_event):
    """A double click, a reload or a second tab: the second post is refused in words."""
    event = make_event(capacity=2, is_moderated=True)
    people = [registrations.register(event.id, applicant(n, organisation=f"Org {n}")).registration
              for n in (1, 2, 3, 4)]
    staff.login("baas@vvsg.be", is_admin=True)
    registration_url = f"/beheer/activiteiten/{event.id}/inschrijvingen"
    posts = [
        (f"{registration_url}/{people[0].id}/goedkeuren", {}),
        (f"{registration_url}/{people[1].id}/weigeren", {}),
        (f"{registration_url}/{people[3].id}/doorschuiven", {}),
        (f"/inschrijving/{people[0].token}/annuleren", {}),
        (f"/beheer/activiteiten/{event.id}/publiceren", {}),
        ("/beheer/privacy/wissen", {"email": people[2].email}),
        (f"/beheer/activiteiten/{event.id}/annuleren", {"reason": "Spreker ziek."}),
    ]
    for url, data in posts:
        first = client.post(url, data=data)
        assert first.status_code in (200, 303), url
        before = snapshot()
        second = client.post(url, data=data)
        assert second.status_code in (200, 303, 404, 409, 422), url
        assert snapshot() == before, url


def test_a_series_that_takes_places_again_fills_them_at_once(make_event, make_series, staff):
    """Every session cancelled, a place added meanwhile, then staff add a session and publish it."""
    series = make_series(capacity=1)
    sessions = [make_event(series=series, starts_at=utcnow() + timedelta(days=days))
                for days in (5, 12)]
    registrations.register(sessions[0].id, applicant(1, organisation="A"))
    waiting = registrations.register(sessions[0].id, applicant(2, organisation="B")).registration
    admin = staff.create()
    for session in sessions:
        planning.cancel_event(session, "Geen zaal.", admin)
    series_service.update_series(series, series_service.SeriesSettings(
        title=series.title, capacity=2), admin)
    db.session.refresh(waiting)
    assert waiting.status is S.waiting
    added = series_service.add_session(series, series_service.SessionFields(
        day=(utcnow() + timedelta(days=30)).date(), start_time=time(9), end_time=time(12)), admin)
    assert added.status is EventStatus.draft  # nothing of the series is public any more
    planning.set_published(added, True, admin)
    db.session.refresh(waiting)
    assert waiting.status is S.confirmed and "promoted" in kinds(waiting)


@pytest.fixture
def running_full_activity(make_event, staff):
    """Begun an hour ago, one place: a walk-in holds it, a second one waits."""
    event = make_event(capacity=1, starts_at=utcnow() - timedelta(hours=1))
    admin = staff.create()
    registrations.register(event.id, applicant(1, organisation="A"), staff=admin)
    waiting = registrations.register(event.id, applicant(2, organisation="B"),
                                     staff=admin).registration
    return event, admin, waiting


def test_an_activity_moved_back_before_its_start_fills_its_places(running_full_activity):
    event, admin, waiting = running_full_activity
    planning.save_event(event, event_fields(event, capacity=2), admin)
    db.session.refresh(waiting)
    assert waiting.status is S.waiting  # it has begun: nobody gets a place
    later = utcnow() + timedelta(days=2)
    planning.save_event(event, event_fields(event, starts_at=later,
                                            ends_at=later + timedelta(hours=3)), admin)
    db.session.refresh(waiting)
    assert waiting.status is S.confirmed and "promoted" in kinds(waiting)


def test_nobody_is_added_by_hand_to_a_draft(make_event, staff):
    event = make_event(status=EventStatus.draft)
    with pytest.raises(SchedulerError):
        moderation.register_by_hand(event.id, applicant(1), staff.create())
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_a_series_enrolment_is_not_cancelled_when_no_session_goes_on(make_event, make_series,
                                                                      staff):
    series = make_series()
    session = make_event(series=series)
    person = registrations.register(session.id, applicant(1)).registration
    planning.cancel_event(session, "Weg.", staff.create())
    with pytest.raises(SchedulerError, match="gaat niet door"):
        registrations.cancel_registration(person.token)


def test_on_a_running_activity_staff_decide_and_nobody_overtakes_the_list(
        client, running_full_activity):
    """Walk-ins: the list no longer moves by itself once it began, but staff may still move
    someone up, and a later walk-in waits behind those already waiting."""
    event, admin, waiting = running_full_activity
    planning.save_event(event, event_fields(event, capacity=5), admin)
    later = moderation.register_by_hand(event.id, applicant(3, organisation="C"), admin)
    assert later.registration.status is S.waiting
    page = client.get(f"/inschrijving/{waiting.token}").text
    assert "niet meer automatisch door" in page and "Inschrijving annuleren" not in page
    moderation.promote(waiting, event.id, admin)
    assert [status for status, _ in statuses(event)] == [S.confirmed, S.confirmed, S.waiting]


def test_a_session_is_added_once_from_two_tabs(make_event, make_series, staff):
    series = make_series()
    make_event(series=series)
    admin = staff.create()
    fields = series_service.SessionFields(
        day=(utcnow() + timedelta(days=40)).date(), start_time=time(9), end_time=time(12))
    series_service.add_session(series, fields, admin)
    with pytest.raises(SchedulerError, match="al een bijeenkomst"):
        series_service.add_session(series, fields, admin)
    db.session.refresh(series)
    assert len(series.events) == 2


def test_a_copied_session_is_an_extra_one(make_event, make_series, staff):
    series = make_series(title="Intervisie")
    session = make_event(series=series, title="Intervisie (1/1)")
    copy = planning.duplicate_event(session, staff.create())
    assert copy.title == "Intervisie (extra bijeenkomst)" and copy.series_id == series.id


def test_cancelling_a_place_on_the_list_sends_no_calendar(make_event):
    event = make_event(capacity=1)
    registrations.register(event.id, applicant(1, organisation="A"))
    waiting = registrations.register(event.id, applicant(2, organisation="B")).registration
    registrations.cancel_registration(waiting.token)
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "cancelled_by_person")).one()
    assert words(message).calendar is None
