"""The evaluation form in headless Chromium, with and without JavaScript, and the staff's
results; axe finds nothing serious on any of them."""

from datetime import time, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    EvaluationInvitation,
    EvaluationResponse,
    Event,
    EventKind,
    EventStatus,
    Registration,
    RegistrationStatus,
    Role,
    Theme,
    utcnow,
)
from scheduler.services import evaluations
from scheduler.services import staff as staff_service
from tests.helpers import serious_violations

pytestmark = pytest.mark.browser
PASSWORD = "een lang genoeg wachtwoord"


@pytest.fixture
def evaluation(live_app, live_server):
    """A training held yesterday with three people present and invited; its id, the links of
    the form and the ids of its questions in order."""
    with live_app.app_context():
        starts_at = brussels_to_utc(local(utcnow()).date() - timedelta(days=1), time(9))
        event = Event(kind=EventKind.training, status=EventStatus.published,
                      title="Basisvorming radicalisering", slug="basisvorming",
                      starts_at=starts_at, ends_at=starts_at + timedelta(hours=3))
        db.session.add_all([event, Theme(slug="polarisering", name="Polarisering")])
        db.session.flush()
        for number in range(3):
            person = Registration(event=event, first_name="An", last_name=str(number),
                                  email=f"an{number}@example.org",
                                  email_normalised=f"an{number}@example.org",
                                  role=Role.medewerker, status=RegistrationStatus.confirmed)
            db.session.add(person)
            db.session.flush()
            db.session.add(Attendance(registration_id=person.id, event_id=event.id,
                                      is_present=True))
        db.session.commit()
        evaluations.queue_invitations()
        tokens = list(db.session.scalars(
            select(EvaluationInvitation.token).order_by(EvaluationInvitation.id)))
        questions = [q.id for q in evaluations.active_questions(EventKind.training)]
        event_id = event.id
        db.session.remove()
    links = [f"{live_server.url}/evaluatie/{token}" for token in tokens]
    return event_id, links, questions


def responses(live_app) -> int:
    with live_app.app_context():
        count = db.session.scalar(select(func.count(EvaluationResponse.id)))
        db.session.remove()
    return count


def fill_in(page, questions: list[int]) -> None:
    score, usefulness, useful, _better, theme = questions
    page.check(f"#vraag_{score}-3")  # 4
    page.check(f"#vraag_{usefulness}-4")  # 5
    page.fill(f"#vraag_{useful}", "De casussen uit andere gemeenten.")
    page.select_option(f"#vraag_{theme}", label="Polarisering")


def test_a_participant_answers_and_a_missing_score_is_shown_at_its_field(
        page, evaluation, live_app):
    _event_id, (link, *_), questions = evaluation
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Wat vond je ervan?")
    expect(page.locator("main")).to_contain_text("Basisvorming radicalisering")
    assert serious_violations(page) == []
    page.fill(f"#vraag_{questions[2]}", "Alleen tekst, geen score.")
    page.click("button:has-text('Antwoorden versturen')")
    error = page.locator(f"#vraag_{questions[0]}-error")
    expect(error).to_contain_text("Kies een score van 1")
    expect(page.locator(f"#vraag_{questions[0]}-field")).to_have_attribute(
        "aria-describedby", f"vraag_{questions[0]}-error")
    expect(page.locator(f"#vraag_{questions[2]}")).to_have_value("Alleen tekst, geen score.")
    assert serious_violations(page) == []
    assert responses(live_app) == 0
    fill_in(page, questions)
    page.click("button:has-text('Antwoorden versturen')")
    expect(page.locator("h1")).to_have_text("Bedankt voor je antwoorden")
    assert serious_violations(page) == []
    assert responses(live_app) == 1
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Je hebt deze vragenlijst al ingevuld")


def test_the_form_works_without_javascript(page_without_js, evaluation, live_app):
    _event_id, (_first, link, _third), questions = evaluation
    page = page_without_js
    page.goto(link)
    fill_in(page, questions)
    page.click("button:has-text('Antwoorden versturen')")
    expect(page.locator("h1")).to_have_text("Bedankt voor je antwoorden")
    assert responses(live_app) == 1


def test_the_staff_results_and_overview_have_no_serious_violations(
        page, evaluation, live_app, live_server):
    event_id, links, questions = evaluation
    for link in links[:2]:
        page.goto(link)
        fill_in(page, questions)
        page.click("button:has-text('Antwoorden versturen')")
        expect(page.locator("h1")).to_have_text("Bedankt voor je antwoorden")
    with live_app.app_context():
        staff_service.create_staff("baas@vvsg.be", PASSWORD, is_admin=True)
        db.session.remove()
    page.goto(live_server.url + "/beheer/")
    page.fill("#email", "baas@vvsg.be")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Aanmelden')")
    page.click("nav >> text=Evaluaties")
    expect(page.locator("h1")).to_have_text("Evaluaties")
    expect(page.locator("#kind-training + table tbody tr")).to_have_count(1)
    assert serious_violations(page) == []
    page.click("text=Basisvorming radicalisering")
    expect(page.locator("main")).to_contain_text("66,7")
    assert serious_violations(page) == []
    page.goto(live_server.url + "/beheer/evaluaties/vragen/vorming")
    assert serious_violations(page) == []
    page.fill(f"#label_{questions[3]}", "Wat moet er anders?")
    page.click("button:has-text('Vragen bewaren')")
    expect(page.locator(".flash")).to_contain_text("1 vraag gewijzigd")
