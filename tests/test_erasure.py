"""Erasure and access reach everything held about a person, and the life of an activity goes
on without them."""

from datetime import timedelta

from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import (
    AuditEntry,
    Event,
    OutboxMessage,
    RegistrationStatus,
    TrainingRequest,
    utcnow,
)
from scheduler.services import moderation, planning, privacy, registrations
from tests.helpers import applicant, event_fields, statuses
from tests.test_privacy import export, look_up
from tests.test_requests import request_form

S = RegistrationStatus


def recipients() -> list[str]:
    return db.session.scalars(select(OutboxMessage.recipient).order_by(OutboxMessage.id)).all()


def test_an_erased_persons_place_goes_to_the_first_in_line(make_event, staff):
    event = make_event(capacity=1)
    registrations.register(event.id, applicant(1, organisation="A"))
    waiting = registrations.register(event.id, applicant(2, organisation="B")).registration
    before = len(recipients())
    privacy.erase("AN1@example.org", staff.create())
    assert [status for status, _ in statuses(event)] == [S.cancelled, S.confirmed]
    db.session.refresh(waiting)
    new_mails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.id > before)).all()
    assert [(m.kind, m.recipient) for m in new_mails] == [("promoted", waiting.email)]
    assert "an1@example.org" not in [address.lower() for address in recipients()]


def test_the_audit_log_keeps_the_action_and_drops_the_address(make_event, staff):
    event = make_event(is_moderated=True, capacity=1)
    admin = staff.create()
    first = registrations.register(event.id, applicant(1, organisation="A")).registration
    second = registrations.register(event.id, applicant(2, organisation="B")).registration
    moderation.approve(first, event.id, admin)
    moderation.decline(first, event.id, admin)
    moderation.register_by_hand(event.id, applicant(3, organisation="C"), admin)
    moderation.approve(second, event.id, admin)
    summaries = db.session.scalars(select(AuditEntry.summary)).all()
    assert not any("an2@" in s.lower() or "an3@" in s.lower() for s in summaries)
    privacy.erase("an1@example.org", admin)
    entries = db.session.scalars(select(AuditEntry)).all()
    assert not any("@" in entry.summary for entry in entries), [e.summary for e in entries]
    assert [e.action for e in entries].count("registration.approve") == 2


def test_access_lists_and_erasure_removes_a_training_request(client, staff):
    client.post("/vorming-aanvragen", data=request_form(email="An@Mechelen.be"))
    stored = db.session.scalars(select(TrainingRequest)).one()
    staff.login("baas@vvsg.be", is_admin=True)
    page = look_up(client, "an@mechelen.be")
    assert "Hoe werkt de LIVC?" in page and "1 aanvragen" in page
    exported = export(client, "an@mechelen.be")
    assert exported["training_requests"][0]["phone"] == "+32 15 29 76 54"
    assert exported["mails"][0]["subject"]
    client.post(f"/beheer/aanvragen/{stored.id}/plannen")
    client.post("/beheer/privacy/wissen", data={"email": "an@mechelen.be"})
    db.session.refresh(stored)
    assert (stored.contact_name, stored.email, stored.phone, stored.local_questions) == \
        ("", "", "", "")
    after = export(client, "an@mechelen.be")
    assert after["training_requests"] == [] and after["mails"] == []
    event = db.session.get(Event, stored.event_id)
    client.post(f"/beheer/activiteiten/{event.id}/publiceren")
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_publishing_again_does_not_mail_the_requester_again(client, staff):
    client.post("/vorming-aanvragen", data=request_form())
    stored = db.session.scalars(select(TrainingRequest)).one()
    staff.login()
    client.post(f"/beheer/aanvragen/{stored.id}/plannen")
    db.session.refresh(stored)
    for _ in range(2):
        client.post(f"/beheer/activiteiten/{stored.event_id}/publiceren")
        client.post(f"/beheer/activiteiten/{stored.event_id}/depubliceren")
    told = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "request_published")).all()
    assert len(told) == 1


def test_no_mail_goes_to_an_erased_person_of_a_running_activity(make_event, staff):
    """Their registration keeps its seat (the activity has begun) but has no address left."""
    event = make_event(starts_at=utcnow() - timedelta(hours=1))
    admin = staff.create()
    registration = registrations.register(event.id, applicant(1), staff=admin).registration
    registrations.register(event.id, applicant(2), staff=admin)
    privacy.erase("an1@example.org", admin)
    db.session.refresh(registration)
    assert registration.status is S.confirmed and registration.email == ""
    planning.save_event(event, event_fields(event, venue="Raadzaal, tweede verdieping"), admin)
    changed = db.session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.kind == "event_changed")).all()
    assert changed == ["an2@example.org"]


def test_erasure_frees_places_in_every_activity_and_series_at_once(make_event, make_series,
                                                                   staff):
    series = make_series(capacity=1)
    session = make_event(series=series)
    activities = [make_event(capacity=1), session]
    waiting = []
    for activity in activities:
        registrations.register(activity.id, applicant(1, organisation="A"))
        waiting.append(registrations.register(
            activity.id, applicant(len(waiting) + 2, organisation="B")).registration)
    admin = staff.create()
    assert privacy.erase("an1@example.org", admin) == 2
    for person in waiting:
        db.session.refresh(person)
        assert person.status is S.confirmed
    entries = len(db.session.scalars(select(AuditEntry)).all())
    assert privacy.erase("an1@example.org", admin) == 0
    assert len(db.session.scalars(select(AuditEntry)).all()) == entries
