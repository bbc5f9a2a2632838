"""Public forms without a session: refused when another website posts them, and their pages
set no cookie and come from memory with live places."""

import pytest
from sqlalchemy import func, select

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import Registration, TrainingRequest
from scheduler.services import registrations
from tests.fixtures.databases import base_config
from tests.helpers import applicant, form_data, personal_link, published_training

ROUTE_VALUES = {"slug": "vorming-1", "token": "x" * 32, "event_id": "1", "registration_id": "1",
                "user_id": "1", "series_id": "1", "kind": "vorming", "request_id": "1",
                "part_id": "1", "key": "referrals", "attestation_id": "1", "material_id": "1",
                "question_id": "1"}
PUBLIC_BLUEPRINTS = ("registrations", "requests", "evaluations")
TOKEN_CHECKED_IN_VIEW = ("staff.event_material_upload", "staff.series_material_upload")


def _stored_count() -> int:
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(Registration))
            + db.session.scalar(select(func.count()).select_from(TrainingRequest)))


def _post_routes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        path = rule.rule
        for name, value in ROUTE_VALUES.items():
            path = path.replace(f"<int:{name}>", value).replace(f"<slug:{name}>", value)
            path = path.replace(f"<token:{name}>", value).replace(f"<{name}>", value)
        found.append((rule.endpoint, path))
    return found


@pytest.fixture
def register_with(guarded_app):
    """Posts a registration for a published training with these request headers."""
    client = guarded_app.test_client()
    with guarded_app.app_context():
        published_training()

        def post(headers: dict):
            return client.post("/activiteiten/vorming/inschrijven", data=form_data(1),
                               headers=headers)

        yield post


@pytest.fixture
def guarded_app(database_url):
    """An app with Flask-WTF's token on, as in production."""
    app = create_app(base_config(database_url, WTF_CSRF_ENABLED=True,
                                 PUBLIC_BASE_URL="https://agenda.example.org"))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_post_route_refuses_another_website_and_staff_routes_also_need_the_token(
        guarded_app):
    client = guarded_app.test_client()
    routes = _post_routes(guarded_app)
    assert len(routes) >= 20
    for endpoint, path in routes:
        refused = client.post(path, data={}, headers={"Sec-Fetch-Site": "cross-site"})
        assert refused.status_code in (400, 403), path
        if endpoint.split(".")[0] in PUBLIC_BLUEPRINTS:
            assert refused.status_code == 403, path
            assert "Formulier van een andere website" in refused.text
        elif endpoint in TOKEN_CHECKED_IN_VIEW:
            # An upload reads its body (and its token) once the view raised the size limit:
            # the login guard answers first.
            response = client.post(path, data={})
            assert response.status_code == 302 and "/beheer/aanmelden" in response.location
        else:
            assert client.post(path, data={}).status_code == 400, path


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    # Another subdomain or port of the same site is someone else's page all the same.
    {"Sec-Fetch-Site": "same-site", "Origin": "https://agenda.example.org"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/form.html"},
    {"Origin": "https://agenda.example.org.evil.example"},
    {"Origin": "https://agenda.example.org:8443"},
    {"Origin": "", "Referer": "https://evil.example/"},
], ids=["cross-site", "same-site", "origin", "null-origin", "referer", "lookalike", "other-port",
        "empty-origin"])
def test_a_registration_posted_from_another_website_is_refused_and_stores_nothing(
        guarded_app, register_with, headers):
    response = register_with(headers)
    assert response.status_code == 403
    assert "Formulier van een andere website" in response.text
    assert "er is niets opgeslagen" in response.text
    assert _stored_count() == 0
    inline = register_with({**headers, "HX-Request": "true"})
    assert inline.status_code == 403 and inline.headers["HX-Retarget"] == "#alerts"
    refused_request = guarded_app.test_client().post(
        "/vorming-aanvragen", data={"organisation": "Gent"}, headers=headers)
    assert refused_request.status_code == 403
    assert _stored_count() == 0


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin", "Origin": "https://agenda.example.org"},
    # Typed in the address bar or opened from a bookmark.
    {"Sec-Fetch-Site": "none"},
    # Browsers without Fetch Metadata: the origin is the configured address, or the host
    # the request came in on.
    {"Origin": "https://agenda.example.org"},
    {"Origin": "http://localhost"},
    {"Referer": "https://agenda.example.org/activiteiten/vorming"},
    # A script or a monitor, not a browser: nothing to forge.
    {},
    {"Referer": ""},
], ids=["same-origin", "none", "configured-origin", "own-host", "own-referer", "no-browser",
        "empty-referer"])
def test_a_registration_from_our_own_pages_goes_through(register_with, headers):
    response = register_with(headers)
    assert response.status_code == 303
    assert "Set-Cookie" not in response.headers
    assert _stored_count() == 1


def test_no_public_page_sets_a_cookie(guarded_app):
    with guarded_app.app_context():
        registrations.register(published_training().id, applicant(1))
        personal = personal_link("an1@example.org")
        client = guarded_app.test_client()
        paths = ["/", "/?soort=vorming", "/archief", "/activiteiten/vorming",
                 "/activiteiten/vorming/ingeschreven", "/mijn-inschrijvingen",
                 "/vorming-aanvragen", "/vorming-aanvragen/bedankt", "/aanbod", "/abonneren",
                 "/privacy", "/agenda.ics", personal, personal + "/annuleren",
                 personal + "/gegevens", personal + "/overdragen"]
        for path in paths:
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(path, headers=headers)
                assert response.status_code == 200, path
                assert "Set-Cookie" not in response.headers, path
        assert client.get_cookie("session") is None


def test_the_activity_page_comes_from_memory_and_shows_a_registration_at_once(
        client, make_event, count_queries, hx):
    event = make_event(capacity=2)
    url = f"/activiteiten/{event.slug}"
    first = client.get(url)
    assert "Nog 2 plaatsen" in first.text
    with count_queries() as statements:
        again = client.get(url)
        fragment = client.get(url, headers=hx)
        fragment_again = client.get(url, headers=hx)
    assert again.data == first.data
    assert len(statements) <= 4, "only the fragment's first rendering may query"
    assert fragment_again.data == fragment.data and "<html" not in fragment.text

    client.post(f"{url}/inschrijven", data=form_data(1))
    assert "Nog 1 plaats" in client.get(url).text
    assert "Nog 1 plaats" in client.get(url, headers=hx).text
    registrations.register(event.id, applicant(2))
    assert "Volzet" in client.get(url).text
