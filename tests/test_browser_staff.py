"""The staff pages in headless Chromium: logging in, attendance toggles, accessibility."""

import io

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
                 "/beheer/rapport", "/beheer/teksten/accessibility",
                 "/beheer/reeksen/nieuw"):
        page.goto(live_server.url + path)
        assert serious_violations(page) == [], path


def test_the_reach_map_renders_and_a_click_narrows_the_table(logged_in, live_server):
    page = logged_in
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(live_server.url + "/beheer/bereik")
    expect(page.locator("svg.reach-map path[id^='nis-']")).to_have_count(304)
    nis_code = page.locator("svg.reach-map path.reach-3").first.get_attribute("id")
    link = page.locator(f"svg.reach-map-links a:has(use[href='#{nis_code}'])")
    name = link.locator("title").text_content().split(":")[0]
    link.click()
    page.wait_for_url("**gemeente=*")
    expect(page.locator("#gemeente + p")).to_contain_text(f"Alleen {name}.")
    expect(page.locator("svg.reach-map path.is-selected")).to_have_count(1)
    assert errors == []


def test_the_yearly_report_prints_on_a4(logged_in, live_server):
    from pypdf import PdfReader

    page = logged_in
    page.goto(live_server.url + "/beheer/rapport")
    expect(page.locator("h1")).to_contain_text("Jaarrapport")
    assert serious_violations(page) == []
    printed = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    assert 1 <= len(printed.pages) <= 4
    for sheet in printed.pages:
        # A4 is 210 × 297 mm: 595 × 842 points.
        assert round(float(sheet.mediabox.width)) == 595
        assert round(float(sheet.mediabox.height)) == 842
    text = "".join(sheet.extract_text() for sheet in printed.pages)
    assert "Jaarrapport" in text and "Bereikte gemeenten" in text
    # The site's navigation and the year form are not printed.
    assert "Afmelden" not in text and "Cijfers exporteren" not in text


def test_attendance_by_keyboard_keeps_focus_on_the_pressed_button(logged_in, live_server):
    page = logged_in
    page.click("text=Activiteiten")
    page.click("tr:has-text('LIVC van Vilvoorde') >> text=Inschrijvingen")
    form_id = page.locator(
        "form.attendance:has(button[value='1'][aria-pressed='false'])").first.get_attribute("id")
    person = page.locator(f"#{form_id} .visually-hidden").text_content().split(" van ")[1][:-1]
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches('#{form_id} button[value=\"1\"]')"):
            break
    else:
        pytest.fail("Tab never reached the Aanwezig button")
    page.evaluate(f"window.oldForm = document.getElementById('{form_id}')")
    page.keyboard.press("Enter")
    page.wait_for_function("id => document.getElementById(id) !== window.oldForm", arg=form_id)
    expect(page.locator("#attendance-status")).to_have_text(f"{person}: aanwezig genoteerd.")
    focused = page.evaluate("""() => [document.activeElement.closest('form')?.id,
        document.activeElement.textContent, document.activeElement.getAttribute('aria-pressed'),
        document.activeElement.isConnected]""")
    assert focused == [form_id, "Aanwezig", "true", True]
    assert page.evaluate("window.oldForm.isConnected") is False
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.closest('form')?.id, "
                            "document.activeElement.textContent]")
    assert focused == [form_id, "Afwezig"]
