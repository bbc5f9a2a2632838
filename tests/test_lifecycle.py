"""What a cancelled or past activity still does, and the smaller lifecycle rules of issue 14."""

import csv
import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import func, select

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import OutboxMessage, Registration, RegistrationStatus, utcnow
from scheduler.services import moderation, places, planning, registrations
from tests.helpers import applicant, statuses

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


def test_a_cancellation_on_a_cancelled_activity_promotes_nobody(cancelled_full_activity):
    event, (confirmed, first_waiting, _second), _admin = cancelled_full_activity
    registrations.cancel_registration(confirmed.token)
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
    assert message.calendar_method == "CANCEL"
    (vevent,) = icalendar.Calendar.from_ical(message.calendar).walk("VEVENT")
    assert str(vevent["uid"]) == event.uid and str(vevent["status"]) == "CANCELLED"


def test_declining_someone_who_waited_sends_no_calendar(make_event, staff):
    event = make_event(is_moderated=True)
    pending = registrations.register(event.id, applicant(1)).registration
    moderation.decline(pending, event.id, staff.create())
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "declined")).one()
    assert message.calendar is None


def test_the_waiting_mail_says_why_when_it_is_the_organisation(make_event):
    event = make_event(capacity=5, max_per_organisation=1)
    registrations.register(event.id, applicant(1, organisation="Gent"))
    second = registrations.register(event.id, applicant(2, organisation="Gent")).registration
    assert second.waiting_reason == places.ORGANISATION_LIMIT
    (message,) = [m for m in second.messages if m.kind == "registration_waiting"]
    assert "maximum aantal plaatsen" in message.text_body
    assert "volzet" not in message.text_body


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
    assert message.calendar_method == "PUBLISH"
    entries = icalendar.Calendar.from_ical(message.calendar).walk("VEVENT")
    assert sorted(str(entry["uid"]) for entry in entries) == sorted(s.uid for s in sessions)
    assert {str(entry["status"]) for entry in entries} == {"CANCELLED"}


def snapshot() -> tuple[list, int]:
    """Every registration's status and how many mails are queued."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Registration.id, Registration.status).order_by(Registration.id)).all()
    return [tuple(row) for row in rows], db.session.scalar(select(func.count(OutboxMessage.id)))


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
