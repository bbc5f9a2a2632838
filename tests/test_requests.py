"""Training on request: the form, staff planning and publishing; the offering page."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import (
    Event,
    EventStatus,
    OutboxMessage,
    RequestStatus,
    TrainingPart,
    TrainingRequest,
    utcnow,
)
from scheduler.services import privacy
from tests.helpers import words


def request_form(**overrides) -> dict:
    data = {
        "organisation": "Mechelen", "contact_name": "An Peeters", "email": "an@mechelen.be",
        "phone": "+32 15 29 76 54", "audience": "both", "expected_count": "25",
        "preferred_dates": "12/03/2031 of eind maart", "local_questions": "Hoe werkt de LIVC?",
        "consent": "y",
    }
    data.update(overrides)
    return data


def test_the_parts_are_data_from_the_migrations(app):
    titles = db.session.scalars(select(TrainingPart.title).order_by(TrainingPart.position)).all()
    assert len(titles) == 5 and titles[2] == "De informatieflux"


def test_request_is_stored_and_confirmed_by_mail(client):
    parts = db.session.scalars(select(TrainingPart.id).order_by(TrainingPart.position)).all()
    data = request_form()
    data["parts"] = [str(parts[0]), str(parts[2])]
    response = client.post("/vorming-aanvragen", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith("/bedankt")
    stored = db.session.scalars(select(TrainingRequest)).one()
    assert stored.organisation.name == "Mechelen" and stored.status is RequestStatus.new
    assert [p.id for p in stored.parts] == [parts[0], parts[2]]
    (mail,) = db.session.scalars(select(OutboxMessage)).all()
    assert mail.recipient == "an@mechelen.be" and mail.training_request_id == stored.id
    assert "De informatieflux" in words(mail).text_body


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"email": "an@"}, "geen geldig e-mailadres"), ({"preferred_dates": ""}, "data of periodes"),
     ({"phone": "bel me"}, "Alleen cijfers"), ({"expected_count": "9000"}, "tussen 1 en 500"),
     ({"consent": ""}, "Zonder je toestemming"), ({"website": "spam"}, "niet verwerkt")],
)
def test_bad_requests_are_refused_inline(client, overrides, message):
    response = client.post("/vorming-aanvragen", data=request_form(**overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert 'value="An Peeters"' in response.get_data(as_text=True)
    assert db.session.scalars(select(TrainingRequest)).all() == []


def test_inline_check_of_one_field(client, hx):
    bad = client.get("/vorming-aanvragen/controle/email?email=an@", headers=hx)
    good = client.get("/vorming-aanvragen/controle/email?email=an@gent.be", headers=hx)
    assert "geen geldig e-mailadres" in bad.get_data(as_text=True)
    assert 'id="email-field"' in good.get_data(as_text=True)
    assert "field-error" not in good.get_data(as_text=True)
    assert client.get("/vorming-aanvragen/controle/consent").status_code == 404


def test_staff_plan_the_request_and_publishing_mails_the_requester(client, staff):
    client.post("/vorming-aanvragen", data=request_form())
    stored = db.session.scalars(select(TrainingRequest)).one()
    staff.login()
    page = client.get(f"/beheer/aanvragen/{stored.id}").get_data(as_text=True)
    assert "Hoe werkt de LIVC?" in page
    client.post(f"/beheer/aanvragen/{stored.id}", data={"status": "in_discussion",
                                                       "internal_notes": "Gebeld op maandag"})
    db.session.refresh(stored)
    assert stored.status is RequestStatus.in_discussion
    planned = client.post(f"/beheer/aanvragen/{stored.id}/plannen")
    assert planned.status_code == 303
    db.session.refresh(stored)
    event = db.session.get(Event, stored.event_id)
    assert stored.status is RequestStatus.planned and event.status is EventStatus.draft
    assert event.municipality.name == "Mechelen" and event.capacity == 25
    assert "Hoe werkt de LIVC?" in event.description
    assert event.starts_at.date().isoformat() == "2031-03-12"
    client.post(f"/beheer/activiteiten/{event.id}/publiceren")
    published = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "request_published")).one()
    assert published.recipient == "an@mechelen.be" and event.slug in words(published).text_body


def test_staff_edit_parts_and_the_referrals(client, staff):
    staff.login()
    client.post("/beheer/vormingsonderdelen/nieuw", data={
        "title": "Polarisering in de klas", "position": "9", "is_active": "y"})
    assert "Polarisering in de klas" in client.get("/vorming-aanvragen").get_data(as_text=True)
    client.post("/beheer/teksten/referrals", data={
        "title": "Waarvoor verwijzen we door?", "body": "Naar **collega's**."})
    offering = client.get("/aanbod").get_data(as_text=True)
    assert "Waarvoor verwijzen we door?" in offering and "<strong>collega's</strong>" in offering


def test_offering_page_lists_next_activities_and_helpdesk(client, make_event):
    make_event(title="Basisvorming in Genk")
    page = client.get("/aanbod").get_data(as_text=True)
    assert "Basisvorming in Genk" in page
    assert "radicalisering@vvsg.be" in page
    assert "Theologische" in page or "theologische" in page


def test_old_requests_are_anonymised(client):
    client.post("/vorming-aanvragen", data=request_form())
    stored = db.session.scalars(select(TrainingRequest)).one()
    stored.created_at = utcnow() - timedelta(days=400)
    db.session.commit()
    report = privacy.purge()
    db.session.refresh(stored)
    assert report.requests == 1
    assert (stored.contact_name, stored.email, stored.local_questions) == ("", "", "")
    assert stored.organisation.name == "Mechelen"
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_deleting_the_draft_planned_from_a_request_reopens_the_request(client, staff):
    client.post("/vorming-aanvragen", data=request_form())
    stored = db.session.scalars(select(TrainingRequest)).one()
    staff.login()
    client.post(f"/beheer/aanvragen/{stored.id}/plannen")
    db.session.refresh(stored)
    event_id = stored.event_id
    response = client.post(f"/beheer/activiteiten/{event_id}/verwijderen")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Event, event_id) is None
    assert stored.event_id is None and stored.status is RequestStatus.in_discussion
