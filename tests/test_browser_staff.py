"""The staff pages in headless Chromium: logging in, attendance toggles, accessibility."""

import pytest
from playwright.sync_api import expect

from scheduler import demo
from scheduler.extensions import db
from scheduler.services import staff as staff_service
from tests.helpers import serious_violations

pytestmark = pytest.mark.browser
PASSWORD = "een lang genoeg wachtwoord"


@pytest.fixture
def logged_in(page, live_app, live_server):
    with live_app.app_context():
        demo.seed()
        staff_service.create_staff("baas@vvsg.be", PASSWORD, is_admin=True)
        db.session.remove()
    page.goto(live_server.url + "/beheer/")
    page.fill("#email", "baas@vvsg.be")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Aanmelden')")
    expect(page.locator("h1")).to_have_text("Overzicht")
    return page


def test_attendance_toggles_in_place(logged_in, live_server):
    page = logged_in
    page.click("text=Activiteiten")
    page.click("tr:has-text('LIVC van Vilvoorde') >> text=Inschrijvingen")
    first = page.locator("form.attendance").first
    page.evaluate("window.stillTheSamePage = true")
    first.locator("button:has-text('Aanwezig')").click()
    present = page.locator("form.attendance").first.locator("button:has-text('Aanwezig')")
    expect(present).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.stillTheSamePage") is True
    page.reload()
    expect(present).to_have_attribute("aria-pressed", "true")


def test_staff_pages_have_no_serious_accessibility_violations(logged_in, live_server):
    page = logged_in
    for path in ("/beheer/", "/beheer/activiteiten", "/beheer/activiteiten/1",
                 "/beheer/activiteiten/5/inschrijvingen", "/beheer/bereik", "/beheer/medewerkers",
                 "/beheer/reeksen/nieuw"):
        page.goto(live_server.url + path)
        assert serious_violations(page) == [], path
