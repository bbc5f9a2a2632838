"""The agenda and activity pages in headless Chromium, with and without JavaScript."""

import pytest
from playwright.sync_api import expect

from tests.helpers import serious_violations

pytestmark = pytest.mark.browser


def kinds_shown(page) -> set[str]:
    classes = page.locator("#agenda-results article.event-card").evaluate_all(
        "cards => cards.map(card => card.className)"
    )
    return {name for value in classes for name in value.split() if name.startswith("kind-")}


def test_agenda_renders(page, demo_site):
    page.goto(demo_site.url + "/")
    assert page.locator("h1").inner_text() == "Agenda"
    assert page.locator("#agenda-results article.event-card").count() >= 10
    assert kinds_shown(page) == {"kind-training", "kind-visit", "kind-intervision"}


def test_filter_updates_the_list_in_place_and_back_restores_it(page, demo_site):
    page.goto(demo_site.url + "/")
    page.evaluate("window.stillTheSamePage = true")

    with page.expect_response(lambda response: "soort=werkbezoek" in response.url):
        page.select_option("#soort", "werkbezoek")
    page.wait_for_url("**/?soort=werkbezoek")
    expect(page.locator("#agenda-results article.kind-training")).to_have_count(0)
    assert kinds_shown(page) == {"kind-visit"}
    assert page.evaluate("window.stillTheSamePage") is True

    page.go_back()
    page.wait_for_url(demo_site.url + "/")
    expect(page.locator("#agenda-results article.kind-training").first).to_be_visible()
    assert kinds_shown(page) == {"kind-training", "kind-visit", "kind-intervision"}
    assert page.locator("#soort").input_value() == ""

    page.go_forward()
    page.wait_for_url("**/?soort=werkbezoek")
    expect(page.locator("#agenda-results article.kind-training")).to_have_count(0)
    assert kinds_shown(page) == {"kind-visit"}
    assert page.locator("#soort").input_value() == "werkbezoek"


def test_filter_works_without_javascript(page_without_js, demo_site):
    page = page_without_js
    page.goto(demo_site.url + "/")
    page.select_option("#soort", "intervisie")
    page.click("text=Filteren")
    page.wait_for_url("**/?soort=intervisie**")
    assert kinds_shown(page) == {"kind-intervision"}
    assert page.locator("#soort").input_value() == "intervisie"


@pytest.mark.parametrize(
    "path", ["/", "/?soort=werkbezoek", "/activiteiten/werkbezoek-livc-vilvoorde", "/archief",
             "/activiteiten/bestaat-niet", "/abonneren", "/privacy", "/mijn-inschrijvingen",
             "/mijn-inschrijvingen?verstuurd=1"]
)
def test_pages_have_no_serious_accessibility_violations(page, demo_site, path):
    page.goto(demo_site.url + path)
    assert serious_violations(page) == []


def test_no_console_errors_or_csp_violations(page, demo_site):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(demo_site.url + "/")
    page.select_option("#soort", "vorming")
    page.wait_for_url("**/?soort=vorming")
    page.goto(demo_site.url + "/activiteiten/werkbezoek-livc-vilvoorde")
    assert errors == []


def test_asking_for_my_registrations_lands_on_the_answer(page, demo_site):
    page.goto(demo_site.url + "/")
    page.click("footer >> text=Mijn inschrijvingen")
    page.fill("#email", "niemand@example.org")
    page.click("button:has-text('Mail me mijn inschrijvingen')")
    answer = page.locator("[role=status]")
    expect(answer).to_contain_text("Bekijk je mailbox")
    expect(answer).to_be_focused()
