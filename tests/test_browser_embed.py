"""The embeddable agenda in headless Chromium: framed by a page of another origin, while every
other page refuses to be framed; and the snippet and preview on the subscribe page."""

import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import LiveServer
from tests.helpers import serious_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def municipal_intranet(demo_site):
    """A page of another origin (another host name and port) that frames our pages."""
    framed_url = demo_site.url + "/embed?soort=intervisie"
    html = f"""<!doctype html><html lang="nl"><head><title>Intranet</title></head><body>
      <h1>Intranet van de gemeente</h1>
      <iframe id="embedded" title="Agenda" src="{framed_url}"
              width="600" height="400"></iframe>
      <iframe id="refused" title="Hele site" src="{demo_site.url}/" width="600" height="400">
      </iframe></body></html>""".encode()

    def intranet(_environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html]

    with LiveServer(intranet) as server:
        server.url = server.url.replace("127.0.0.1", "localhost")
        server.framed_url = framed_url
        yield server


def test_another_site_frames_the_embedded_agenda_but_not_the_site(page, municipal_intranet):
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(municipal_intranet.url + "/")

    embedded = page.frame_locator("#embedded")
    expect(embedded.locator(".embed-item").first).to_be_visible()
    kinds = embedded.locator(".embed-facts > span:first-child").all_inner_texts()
    assert kinds and set(kinds) == {"Intervisiemoment"}
    # Chromium refused to show the whole site in a frame: that frame holds its error page.
    expect(page.frame_locator("#refused").locator("h1")).not_to_contain_text("Agenda")
    assert [frame.url for frame in page.frames[1:]] == [
        municipal_intranet.framed_url, "chrome-error://chromewebdata/"]
    assert any("frame-ancestors" in text for text in console), console

    with page.expect_popup() as opened:
        embedded.locator(".embed-title a").first.click()
    activity = opened.value
    activity.wait_for_load_state()
    assert "/activiteiten/intervisie-" in activity.url
    expect(activity.locator("h1")).to_contain_text("Intervisie")
    assert page.context.cookies() == []


def test_the_subscribe_page_previews_the_snippet_it_gives(page, demo_site, live_app):
    errors = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(demo_site.url + "/abonneren")
    preview = page.frame_locator("iframe.embed-preview")
    expect(preview.locator(".embed-item").first).to_be_visible()

    with page.expect_response(lambda response: "/abonneren/insluiten" in response.url):
        page.select_option("#insluiten-soort", "werkbezoek")
    expect(page.locator("#embed-snippet")).to_have_value(
        '<iframe src="' + live_app.config["PUBLIC_BASE_URL"] + '/embed?soort=werkbezoek" '
        'title="Agenda: '
        'Lokale aanpak van radicalisering" width="100%" height="600" style="border:0" '
        'loading="lazy"></iframe>')
    expect(preview.locator(".embed-facts > span:first-child").first).to_have_text("Werkbezoek")
    kinds = preview.locator(".embed-facts > span:first-child").all_inner_texts()
    assert set(kinds) == {"Werkbezoek"}
    assert page.url == demo_site.url + "/abonneren"
    expect(page.locator("[data-copy=embed-snippet]")).to_be_visible()
    assert errors == []


def test_the_snippet_is_chosen_without_javascript_too(page_without_js, demo_site):
    page = page_without_js
    page.goto(demo_site.url + "/abonneren")
    page.check("input[name=soort][value=vorming]")
    page.click("text=Toon mijn link")
    page.wait_for_url("**soort=vorming**")
    page.select_option("#insluiten-soort", "intervisie")
    page.click("text=Toon mijn fragment")
    page.wait_for_url("**insluiten-soort=intervisie**")
    assert "/embed?soort=intervisie" in page.locator("#embed-snippet").input_value()
    # The calendar choice made before is still there, and the other way round.
    assert "soort=vorming" in page.locator("#feed-url").input_value()
    page.check("input[name=soort][value=werkbezoek]")
    page.click("text=Toon mijn link")
    page.wait_for_url("**werkbezoek**")
    assert "/embed?soort=intervisie" in page.locator("#embed-snippet").input_value()
    # Copying needs JavaScript: no button that does nothing.
    expect(page.locator("[data-copy]").first).to_be_hidden()


@pytest.mark.parametrize("path", ["/embed", "/embed?soort=lezing", "/toegankelijkheid"])
def test_the_new_pages_have_no_serious_accessibility_violations(page, demo_site, path):
    page.goto(demo_site.url + path)
    assert serious_violations(page) == []
