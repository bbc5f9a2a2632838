"""In Chromium: a municipality asks for the training, staff plan and publish it."""

import pytest
from playwright.sync_api import expect

from scheduler.extensions import db
from scheduler.services import staff as staff_service
from tests.helpers import serious_violations

pytestmark = pytest.mark.browser
PASSWORD = "een lang genoeg wachtwoord"


def test_request_to_published_training(page, live_app, live_server):
    with live_app.app_context():
        staff_service.create_staff("baas@vvsg.be", PASSWORD, is_admin=True)
        db.session.remove()
    page.goto(live_server.url + "/aanbod")
    page.click("text=Vraag de vorming aan")
    assert serious_violations(page) == []
    page.fill("#organisation", "Mechelen")
    page.fill("#contact_name", "An Peeters")
    page.fill("#email", "an@")
    page.press("#email", "Tab")
    expect(page.locator("#email-error")).to_contain_text("geen geldig e-mailadres")
    page.fill("#email", "an@mechelen.be")
    page.press("#email", "Tab")
    expect(page.locator("#email-error")).to_have_count(0)
    page.check("#audience-2")
    page.fill("#preferred_dates", "12/03/2031")
    page.fill("#local_questions", "Hoe starten we een LIVC?")
    page.locator("#parts input").first.check()
    page.check("#consent")
    page.click("button:has-text('Aanvraag versturen')")
    expect(page.locator("h1")).to_have_text("Bedankt voor je aanvraag")

    page.goto(live_server.url + "/beheer/aanmelden")
    page.fill("#email", "baas@vvsg.be")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Aanmelden')")
    page.click("nav >> text=Aanvragen")
    page.click("text=Mechelen")
    expect(page.locator("main")).to_contain_text("Hoe starten we een LIVC?")
    page.click("button:has-text('Plannen als activiteit')")
    expect(page.locator("main")).to_contain_text("Ontwerp gemaakt uit de aanvraag")
    page.click("button:has-text('Publiceren')")
    expect(page.locator("main")).to_contain_text("staat nu in de agenda")
    page.click("text=Publieke pagina")
    expect(page.locator("h1")).to_contain_text("Mechelen")
    expect(page.locator("main")).to_contain_text("Hoe starten we een LIVC?")
