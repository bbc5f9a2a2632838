"""An attendee of the demo's past training in headless Chromium: their personal page with the
attestation and the materials, the download, and a third party verifying the code; staff
revoke it, and see the participants and materials. axe finds nothing serious on any of these
pages."""

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import Attestation, Registration
from scheduler.services import staff as staff_service
from tests.helpers import serious_violations

pytestmark = pytest.mark.browser
PASSWORD = "een lang genoeg wachtwoord"


@pytest.fixture
def attendee(demo_site, live_app):
    """The personal link and the attestation of someone present at the demo's training."""
    with live_app.app_context():
        attestation = db.session.scalars(
            select(Attestation).where(Attestation.replaced_at.is_(None),
                                      Attestation.event_id.is_not(None))
            .order_by(Attestation.id)).first()
        token = db.session.get(Registration, attestation.registration_id).token
        found = (token, attestation.code, attestation.person_name, attestation.id,
                 attestation.event_id)
        staff_service.create_staff("beheer@vvsg.be", PASSWORD)
        db.session.remove()
    return found


def test_an_attendee_downloads_the_attestation_and_the_slides_and_a_third_party_verifies_it(
        page, demo_site, attendee, tmp_path):
    token, code, name, _attestation_id, _event_id = attendee
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(f"{demo_site.url}/inschrijving/{token}")
    assert serious_violations(page) == []
    section = page.locator("#attest")
    assert section.get_by_role("heading", name="Attest van deelname").is_visible()
    with page.expect_download() as download_info:
        section.get_by_role("link", name="Attest downloaden (pdf)").click()
    saved = tmp_path / "attest.pdf"
    download_info.value.save_as(saved)
    text = " ".join(PdfReader(saved).pages[0].extract_text().split())
    assert name in text and code in text

    materials = page.locator("#materiaal")
    with page.expect_download() as slides_info:
        materials.get_by_role("link", name="Presentatie basispakket").click()
    assert slides_info.value.suggested_filename.endswith(".pdf")

    page.goto(f"{demo_site.url}/attest")
    assert serious_violations(page) == []
    page.get_by_label("Code op het attest").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Nagaan").click()
    assert page.get_by_text("Dit attest is echt en geldig.").is_visible()
    assert page.get_by_text(name).is_visible()
    assert serious_violations(page) == []
    assert errors == []

    # A code mistyped: the message next to the field (Chromium logs the 422 it came with).
    page.goto(f"{demo_site.url}/attest")
    page.get_by_label("Code op het attest").fill("12345")
    page.get_by_role("button", name="Nagaan").click()
    assert page.locator(".field-error").is_visible()
    assert serious_violations(page) == []


def test_staff_revoke_and_the_verification_page_says_so(page, demo_site, attendee):
    token, code, _name, attestation_id, event_id = attendee
    page.goto(f"{demo_site.url}/beheer/")
    page.fill("#email", "beheer@vvsg.be")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Aanmelden')")
    page.goto(f"{demo_site.url}/beheer/attesten/{attestation_id}")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Attest intrekken").click()
    assert page.locator(".field-error").is_visible()
    page.get_by_label("Reden").fill("Niet aanwezig volgens de lijst van de lesgever.")
    page.get_by_role("button", name="Attest intrekken").click()
    assert page.get_by_text("Ingetrokken op").is_visible()
    assert page.get_by_role("button", name="Opnieuw uitreiken").is_visible()
    page.goto(f"{demo_site.url}/attest/{code}")
    assert page.get_by_text("Dit attest is ingetrokken").is_visible()
    assert page.get_by_text("Niet aanwezig volgens de lijst van de lesgever.").is_visible()
    page.goto(f"{demo_site.url}/inschrijving/{token}")
    assert page.locator("#attest").get_by_text("ingetrokken").is_visible()
    page.goto(f"{demo_site.url}/beheer/activiteiten/{event_id}/inschrijvingen")
    assert page.get_by_text("De aanwezigheid is definitief").is_visible()
    assert serious_violations(page) == []
    page.goto(f"{demo_site.url}/beheer/activiteiten/{event_id}/materiaal")
    assert page.get_by_text("Presentatie basispakket").first.is_visible()
    assert serious_violations(page) == []
