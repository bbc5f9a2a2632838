"""Registering and cancelling in headless Chromium, with htmx and without JavaScript."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import Event, EventKind, EventStatus, Registration, utcnow
from tests.fixtures.browser import LiveServer
from tests.helpers import personal_link, serious_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def activity(live_app, live_server):
    """Returns a function that creates a published activity and gives its URL."""

    def make(slug: str, capacity: int) -> str:
        with live_app.app_context():
            starts_at = utcnow() + timedelta(days=14)
            db.session.add(Event(
                kind=EventKind.training, status=EventStatus.published, title=f"Vorming {slug}",
                slug=slug, starts_at=starts_at, ends_at=starts_at + timedelta(hours=3),
                capacity=capacity, venue="Stadhuis",
            ))
            db.session.commit()
            db.session.remove()
        return f"{live_server.url}/activiteiten/{slug}"

    return make


@pytest.fixture
def mailed_link(live_app, live_server):
    """The personal page's address, as the confirmation mail gives it."""

    def find(email: str) -> str:
        with live_app.app_context():
            path = personal_link(email)
            db.session.remove()
        return live_server.url + path

    return find


def fill(page, number: int, email: str | None = None) -> None:
    page.fill("#first_name", "Lotte")
    page.fill("#last_name", f"Janssens {number}")
    page.fill("#email", email or f"lotte{number}@example.org")
    page.fill("#organisation", "Mechelen")
    page.check("#role-1")
    page.check("#consent")


def test_register_in_place_and_the_counter_drops(page, activity):
    url = activity("met-htmx", capacity=3)
    page.goto(url)
    seats = page.locator(".event-facts .seats")
    expect(seats).to_contain_text("Nog 3 plaatsen")
    page.evaluate("window.stillTheSamePage = true")
    fill(page, 1)
    page.click("button:has-text('Inschrijven')")
    expect(page.locator("#registration-body")).to_contain_text("Bekijk je mailbox")
    expect(page.locator("#registration-body")).to_be_focused()
    expect(seats).to_contain_text("Nog 2 plaatsen")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.url == url


def test_long_words_stay_within_a_phone_screen(page, live_app, activity):
    url = activity("lange-woorden", capacity=3)
    word = "Radicaliseringspreventieketenoverleg" * 4
    with live_app.app_context():
        event = db.session.scalars(select(Event).where(Event.slug == "lange-woorden")).one()
        event.title = word
        event.venue = word
        event.description = f"# {word}\n\nhttps://example.org/{word}/{word}"
        db.session.commit()
        db.session.remove()
    page.set_viewport_size({"width": 360, "height": 740})
    for address in (url, url.rsplit("/", 2)[0] + "/"):
        page.goto(address)
        expect(page.get_by_text(word).first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, address


def test_invalid_email_shows_inline_error_and_keeps_values(page, activity):
    page.goto(activity("fout-adres", capacity=3))
    fill(page, 1, email="lotte@")
    page.click("button:has-text('Inschrijven')")
    error = page.locator("#email-error")
    expect(error).to_contain_text("geen geldig e-mailadres")
    expect(page.locator("#last_name")).to_have_value("Janssens 1")
    expect(page.locator("#email")).to_have_value("lotte@")
    expect(page.locator("#email")).to_be_focused()
    expect(page.locator("#email")).to_have_attribute("aria-describedby", "email-hint email-error")


def test_double_click_creates_one_registration(page, activity):
    url = activity("dubbelklik", capacity=5)
    page.goto(url)
    fill(page, 1)
    page.locator("button:has-text('Inschrijven')").dblclick()
    expect(page.locator("#registration-body")).to_contain_text("Bekijk je mailbox")
    page.goto(url)
    expect(page.locator(".event-facts .seats")).to_contain_text("Nog 4 plaatsen")


def test_full_activity_gives_the_waiting_list_and_cancelling_promotes(page, activity, browser,
                                                                      mailed_link):
    url = activity("volzet", capacity=1)
    page.goto(url)
    fill(page, 1)
    page.click("button:has-text('Inschrijven')")
    expect(page.locator("#registration-body")).to_contain_text("Bekijk je mailbox")
    first_link = mailed_link("lotte1@example.org")

    other = browser.new_context(locale="nl-BE").new_page()
    other.goto(url)
    expect(other.locator(".event-facts .seats")).to_contain_text("Volzet – wachtlijst")
    fill(other, 2)
    other.click("button:has-text('Inschrijven')")
    expect(other.locator("#registration-body")).to_contain_text("Bekijk je mailbox")
    waiting_link = mailed_link("lotte2@example.org")
    other.goto(waiting_link)
    expect(other.locator("main")).to_contain_text("op de wachtlijst, op plaats 1")

    page.goto(first_link)
    page.click("text=Inschrijving annuleren")
    page.click("button:has-text('Ja, annuleer mijn inschrijving')")
    expect(page.locator("main")).to_contain_text("Je inschrijving is geannuleerd")

    other.goto(url)
    expect(other.locator(".event-facts .seats")).to_contain_text("Volzet – wachtlijst")
    expect(other.locator(".event-facts .seats")).not_to_contain_text("op de wachtlijst")
    other.goto(waiting_link)
    expect(other.locator("main")).to_contain_text("Je bent ingeschreven")
    other.context.close()


def test_whole_flow_without_javascript(page_without_js, activity, mailed_link):
    page = page_without_js
    url = activity("zonder-js", capacity=1)
    page.goto(url)
    fill(page, 1, email="fout")
    page.click("button:has-text('Inschrijven')")
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#last_name")).to_have_value("Janssens 1")
    page.fill("#email", "lotte1@example.org")
    page.check("#consent")
    page.click("button:has-text('Inschrijven')")
    expect(page.locator("main")).to_contain_text("Bekijk je mailbox")
    page.goto(mailed_link("lotte1@example.org"))
    expect(page.locator("h1")).to_have_text("Je inschrijving")
    expect(page.locator("main")).to_contain_text("Je bent ingeschreven")

    page.goto(url)
    expect(page.locator(".event-facts .seats")).to_contain_text("Volzet")
    fill(page, 2)
    page.click("button:has-text('Inschrijven')")
    expect(page.locator("main")).to_contain_text("Bekijk je mailbox")
    waiting_url = mailed_link("lotte2@example.org")
    page.goto(waiting_url)
    expect(page.locator("main")).to_contain_text("op de wachtlijst, op plaats 1")

    page.goto(url)
    fill(page, 1)
    page.click("button:has-text('Inschrijven')")
    expect(page.locator("main")).to_contain_text("Bekijk je mailbox")
    page.go_back()
    page.goto(waiting_url)
    expect(page.locator("main")).to_contain_text("Inschrijving annuleren")
    page.click("text=Inschrijving annuleren")
    page.click("button:has-text('Ja, annuleer mijn inschrijving')")
    expect(page.locator("main")).to_contain_text("Je inschrijving is geannuleerd")


def test_needs_a_correction_and_a_hand_over_from_the_personal_page(page, activity,
                                                                    mailed_link):
    """What a person does with the link from their mail: state their needs, then give the
    place to a colleague, who lands on their own page with the place."""
    url = activity("overdragen", capacity=1)
    page.goto(url)
    fill(page, 1)
    page.fill("#needs", "Vegetarisch")
    page.click("button:has-text('Inschrijven')")
    expect(page.locator("#registration-body")).to_contain_text("Bekijk je mailbox")
    page.goto(mailed_link("lotte1@example.org"))
    expect(page.locator("main")).to_contain_text("Je noden: Vegetarisch")
    page.click("text=Gegevens en noden aanpassen")
    page.fill("#function", "Schepen")
    page.fill("#needs", "Rolstoeltoegankelijk")
    assert serious_violations(page) == []
    page.click("button:has-text('Bewaren')")
    expect(page.locator("main")).to_contain_text("Je noden: Rolstoeltoegankelijk")
    page.click("text=Plaats overdragen aan een collega")
    page.fill("#email", "geen-adres")
    page.click("button:has-text('Plaats overdragen')")
    expect(page.locator("#email-error")).to_contain_text("geen geldig e-mailadres")
    page.fill("#first_name", "Bart")
    page.fill("#last_name", "Claes")
    page.fill("#email", "bart@example.org")
    page.check("#role-1")
    assert serious_violations(page) == []
    page.click("button:has-text('Plaats overdragen')")
    expect(page.locator("main")).to_contain_text("Je hebt je plaats overgedragen")
    expect(page.locator("main")).to_contain_text("aan Bart Claes")
    expect(page.locator("text=Inschrijving annuleren")).to_have_count(0)
    page.goto(mailed_link("bart@example.org"))
    expect(page.locator("main")).to_contain_text("Je bent ingeschreven")
    page.goto(url)
    expect(page.locator(".event-facts .seats")).to_contain_text("Volzet")


def _forging_site(target: str):
    """A page on another website whose form posts a registration to ours."""
    fields = "".join(f'<input name="{name}" value="{value}">' for name, value in (
        ("first_name", "Mallory"), ("last_name", "Vals"), ("email", "mallory@example.org"),
        ("organisation", "Gent"), ("role", "medewerker"), ("consent", "y")))
    html = (f'<!doctype html><title>Win een prijs</title><form method="post" '
            f'action="{target}">{fields}<button>Verstuur</button></form>').encode()

    def site(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html]

    return site


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"], ids=["cross-site", "same-site"])
def test_a_form_on_another_website_cannot_register_anyone(page, activity, live_app, host):
    url = activity("doelwit", capacity=5)
    page.goto(url)
    assert page.context.cookies() == [], "reading the activity page sets no cookie"
    with LiveServer(_forging_site(f"{url}/inschrijven")) as forger:
        page.goto(forger.url.replace("127.0.0.1", host))
        with page.expect_response(f"{url}/inschrijven") as answer:
            page.click("button")
    assert answer.value.status == 403
    expect(page.locator("h1")).to_have_text("Formulier van een andere website")
    expect(page.locator("main")).to_contain_text("er is niets opgeslagen")
    with live_app.app_context():
        assert db.session.scalars(select(Registration)).all() == []
        db.session.remove()
