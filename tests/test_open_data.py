"""Open data: schema.org Event on every activity page, the JSON API against its OpenAPI
document, the embeddable agenda, the Atom feed of new activities, the accessibility statement.

JSON-LD is read back with extruct, the API checked with openapi-core, the feed with feedparser.
"""

import json
from datetime import date, time, timedelta
from importlib.resources import files
from urllib.parse import urlsplit

import extruct
import feedparser
import pytest
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate as validate_spec
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.models import ContentBlock, EventKind, EventStatus, RegistrationStatus, utcnow
from tests.helpers import event_form

BASE = "https://agenda.example.org"
DOCUMENT = json.loads(files("scheduler").joinpath("data/openapi.json").read_text("utf-8"))
SPEC = OpenAPI.from_dict(
    {**DOCUMENT, "servers": [{"url": BASE + "/api/v1"}]},
    config=Config(extra_media_type_deserializers={"application/problem+json": json.loads}),
)
SCHEMA = "https://schema.org/"


def api_get(client, path: str, headers: dict | None = None):
    """GET an API path and check the answer against the OpenAPI document: its status, headers
    and body as the operation describes them; a path the document does not know answers a
    problem document. Every answer allows any origin and sets no cookie."""
    response = client.get(path, headers=headers or {}, base_url=BASE)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers
    request = Request(EnvironBuilder(path=path, base_url=BASE, headers=headers).get_environ())
    route = urlsplit(path).path.removeprefix("/api/v1")
    if route in DOCUMENT["paths"] or route.startswith("/activities/"):
        SPEC.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
    else:
        problem = response.get_json()
        assert response.mimetype == "application/problem+json"
        assert problem["status"] == response.status_code and problem["detail"]
    return response


def json_ld(client, slug: str) -> dict:
    response = client.get(f"/activiteiten/{slug}")
    assert response.status_code == 200
    found = extruct.extract(response.get_data(as_text=True), base_url=BASE,
                            syntaxes=["json-ld"])["json-ld"]
    assert len(found) == 1
    return found[0]


# --- schema.org Event -----------------------------------------------------------------------

def test_an_activity_page_describes_the_event_as_search_engines_require(
        client, make_event, make_theme, municipality):
    event = make_event(
        title="Vorming in Mechelen", slug="vorming-mechelen", summary="Voor beginners.",
        venue="Stadhuis", address="Grote Markt 21", municipality=municipality("Mechelen"),
        starts_at=brussels_to_utc(date(2031, 7, 1), time(9, 30)),
        ends_at=brussels_to_utc(date(2031, 7, 1), time(12, 30)),
    )
    event.themes = [make_theme("preventie", "Preventie")]
    db.session.commit()

    data = json_ld(client, "vorming-mechelen")

    assert data["@context"] == "https://schema.org" and data["@type"] == "Event"
    assert data["name"] == "Vorming in Mechelen" and data["description"] == "Voor beginners."
    # Summer time: the offset is part of the date, as Google requires.
    assert data["startDate"] == "2031-07-01T09:30:00+02:00"
    assert data["endDate"] == "2031-07-01T12:30:00+02:00"
    assert data["eventStatus"] == SCHEMA + "EventScheduled"
    assert data["eventAttendanceMode"] == SCHEMA + "OfflineEventAttendanceMode"
    assert data["location"] == {
        "@type": "Place", "name": "Stadhuis",
        "address": {"@type": "PostalAddress", "streetAddress": "Grote Markt 21",
                    "addressLocality": "Mechelen", "addressRegion": "Antwerpen",
                    "addressCountry": "BE"}}
    assert data["url"] == BASE + "/activiteiten/vorming-mechelen"
    assert data["organizer"]["@type"] == "Organization" and data["organizer"]["name"]
    assert data["isAccessibleForFree"] is True
    assert data["offers"]["price"] == "0" and data["offers"]["priceCurrency"] == "EUR"
    assert data["offers"]["availability"] == SCHEMA + "InStock"
    assert data["offers"]["url"] == BASE + "/activiteiten/vorming-mechelen#registration"
    assert data["audience"]["audienceType"] == "Mandatarissen en medewerkers van lokale besturen"
    assert data["about"] == ["Preventie"]
    assert "superEvent" not in data and "previousStartDate" not in data


def test_an_online_activity_is_a_virtual_location_without_its_meeting_link(client, make_event):
    make_event(slug="online", venue="", address="", kind=EventKind.intervision,
               online_url="https://meet.example.org/geheim-123")
    make_event(slug="beide", venue="Stadhuis", online_url="https://meet.example.org/geheim-456")

    online = json_ld(client, "online")
    assert online["eventAttendanceMode"] == SCHEMA + "OnlineEventAttendanceMode"
    assert online["location"] == {"@type": "VirtualLocation", "url": BASE + "/activiteiten/online"}
    mixed = json_ld(client, "beide")
    assert mixed["eventAttendanceMode"] == SCHEMA + "MixedEventAttendanceMode"
    assert [place["@type"] for place in mixed["location"]] == ["Place", "VirtualLocation"]
    for slug in ("online", "beide"):
        assert "meet.example.org" not in client.get(f"/activiteiten/{slug}").get_data(as_text=True)


@pytest.mark.parametrize(("taken", "opens_in_days", "availability"), [
    (0, None, "InStock"),
    (7, None, "InStock"),
    (8, None, "LimitedAvailability"),
    (10, None, "SoldOut"),
    (0, 2, "PreOrder"),
])
def test_offers_say_how_many_places_are_left(client, make_event, make_registration,
                                             taken, opens_in_days, availability):
    opens = utcnow() + timedelta(days=opens_in_days) if opens_in_days else None
    event = make_event(slug="vorming", capacity=10, registration_opens_at=opens)
    for _ in range(taken):
        make_registration(event)

    assert json_ld(client, "vorming")["offers"]["availability"] == SCHEMA + availability


def test_a_cancelled_activity_is_cancelled_and_no_longer_on_offer(client, staff, make_event):
    event = make_event(slug="vorming")
    staff.login()
    client.post(f"/beheer/activiteiten/{event.id}/annuleren", data={"reason": "Ziekte"})

    data = json_ld(client, "vorming")
    assert data["eventStatus"] == SCHEMA + "EventCancelled"
    assert data["offers"]["availability"] == SCHEMA + "SoldOut"


def test_a_published_activity_moved_by_staff_is_rescheduled_from_its_old_start(
        client, staff, make_event):
    event = make_event(slug="nieuwe-vorming", starts_at=brussels_to_utc(date(2031, 3, 4),
                                                                        time(13, 30)))
    event.ends_at = event.starts_at + timedelta(hours=2, minutes=30)
    db.session.commit()
    staff.login()
    response = client.post(f"/beheer/activiteiten/{event.id}", data=event_form(
        day="2031-03-11", title=event.title, slug="nieuwe-vorming"))
    assert response.status_code == 303

    data = json_ld(client, "nieuwe-vorming")
    assert data["eventStatus"] == SCHEMA + "EventRescheduled"
    assert data["previousStartDate"] == "2031-03-04T13:30:00+01:00"
    assert data["startDate"] == "2031-03-11T13:30:00+01:00"


def test_a_move_flushed_in_steps_counts_from_where_it_began(client, make_event):
    event = make_event(slug="vorming")
    original = event.starts_at
    for _step in range(2):
        event.starts_at += timedelta(days=1)
        event.ends_at += timedelta(days=1)
        db.session.flush()
    db.session.commit()

    assert event.previous_starts_at == original


def test_a_move_is_remembered_also_when_the_start_was_not_loaded(client, make_event):
    event = make_event(slug="vorming")
    original = event.starts_at
    db.session.expire(event, ["starts_at"])
    event.starts_at = original + timedelta(hours=2)
    event.ends_at = original + timedelta(hours=5)
    db.session.commit()

    assert event.previous_starts_at == original


def test_a_move_while_back_in_draft_is_still_a_move_once_published_again(
        client, staff, make_event):
    event = make_event(slug="vorming")
    original = event.starts_at
    staff.login()
    client.post(f"/beheer/activiteiten/{event.id}/depubliceren")
    db.session.refresh(event)
    event.starts_at += timedelta(days=7)
    event.ends_at += timedelta(days=7)
    db.session.commit()
    client.post(f"/beheer/activiteiten/{event.id}/publiceren")

    data = json_ld(client, "vorming")
    assert data["eventStatus"] == SCHEMA + "EventRescheduled"
    assert data["previousStartDate"] == local(original).isoformat(timespec="seconds")


def test_a_draft_moved_before_publication_was_never_rescheduled(client, make_event):
    event = make_event(slug="ontwerp", status=EventStatus.draft)
    event.starts_at += timedelta(days=7)
    event.ends_at += timedelta(days=7)
    db.session.commit()
    event.status = EventStatus.published
    db.session.commit()

    assert json_ld(client, "ontwerp")["eventStatus"] == SCHEMA + "EventScheduled"
    assert event.previous_starts_at is None and event.published_at is not None


def test_a_session_names_its_series_and_every_public_session(client, make_series, make_event):
    series = make_series(title="Intervisiegroep LIVC")
    first = make_event(slug="sessie-1", title="Sessie 1", series=series,
                       kind=EventKind.intervision, capacity=None)
    make_event(slug="sessie-2", title="Sessie 2", series=series, kind=EventKind.intervision,
               capacity=None, status=EventStatus.cancelled)
    make_event(slug="sessie-3", title="Sessie 3", series=series, kind=EventKind.intervision,
               capacity=None, status=EventStatus.draft)

    data = json_ld(client, first.slug)
    parent = data["superEvent"]
    assert parent["@type"] == "EventSeries" and parent["name"] == "Intervisiegroep LIVC"
    assert [(session["name"], session["eventStatus"]) for session in parent["subEvent"]] == [
        ("Sessie 1", SCHEMA + "EventScheduled"), ("Sessie 2", SCHEMA + "EventCancelled")]


def test_text_in_json_ld_cannot_end_its_script(client, make_event):
    make_event(slug="vorming", title="</script><script>alert(1)</script>")

    page = client.get("/activiteiten/vorming").get_data(as_text=True)
    assert "</script><script>alert(1)" not in page
    assert json_ld(client, "vorming")["name"] == "</script><script>alert(1)</script>"


# --- the JSON API ---------------------------------------------------------------------------

def test_the_openapi_document_is_valid_and_names_this_server(client):
    response = api_get(client, "/api/v1/openapi.json")
    document = response.get_json()
    validate_spec(document)
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": BASE + "/api/v1"}]


def test_activities_are_listed_with_their_places_soonest_first(
        client, make_event, make_registration, make_theme, municipality):
    later = make_event(slug="later", municipality=municipality("Gent"), capacity=3)
    sooner = make_event(slug="sooner", starts_at=later.starts_at - timedelta(days=1),
                        kind=EventKind.visit)
    sooner.themes = [make_theme("livc", "LIVC")]
    db.session.commit()
    make_registration(later)
    make_registration(later, status=RegistrationStatus.waiting)
    make_event(slug="ontwerp", status=EventStatus.draft)
    make_event(slug="voorbij", starts_at=utcnow() - timedelta(days=3))

    body = api_get(client, "/api/v1/activities").get_json()

    assert [item["slug"] for item in body["items"]] == ["sooner", "later"]
    assert body["next"] is None
    first, second = body["items"]
    assert first["kind"] == "werkbezoek" and first["themes"] == [{"slug": "livc", "name": "LIVC"}]
    assert first["url"] == BASE + "/activiteiten/sooner"
    assert second["municipality"] == {"name": "Gent", "nis_code": "44021",
                                      "province": "Oost-Vlaanderen"}
    assert second["places"] == {"capacity": 3, "left": 2, "waiting": 1}
    assert second["registration"]["state"] == "open"


def test_api_lists_take_the_same_few_statements_however_many_activities(
        client, make_event, make_theme, make_series, make_registration, count_queries):
    theme = make_theme()
    series = make_series()
    for number in range(30):
        event = make_event(series=series if number % 5 == 0 else None)
        event.themes = [theme]
        make_registration(series if number % 5 == 0 else event)
    db.session.commit()

    for path, most in (("/api/v1/activities", 4), ("/api/v1/series", 1), ("/api/v1/themes", 1),
                       (f"/api/v1/activities/{event.slug}", 3), ("/embed", 4),
                       ("/nieuw.atom", 3)):
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        assert len(statements) <= most, (path, statements)


def test_the_agenda_filters_narrow_the_list(client, make_event, make_theme, municipality):
    visit = make_event(slug="bezoek", kind=EventKind.visit, municipality=municipality("Genk"))
    visit.themes = [make_theme("livc", "LIVC")]
    db.session.commit()
    make_event(slug="vorming", municipality=municipality("Gent"))

    def slugs(query: str) -> list[str]:
        return [item["slug"] for item in
                api_get(client, "/api/v1/activities?" + query).get_json()["items"]]

    assert slugs("soort=werkbezoek") == ["bezoek"]
    assert slugs("thema=livc") == ["bezoek"]
    assert slugs("provincie=Oost-Vlaanderen") == ["vorming"]
    make_event(slug="volgende-maand", starts_at=visit.starts_at + timedelta(days=40))
    month = local(visit.starts_at).strftime("%Y-%m")
    assert "volgende-maand" not in slugs("maand=" + month)
    assert "bezoek" in slugs("maand=" + month)


def test_pages_follow_their_next_links_to_the_end(app, client, make_event):
    app.config["API_PAGE_SIZE"] = 2
    for number in range(5):
        make_event(slug=f"vorming-{number}", kind=EventKind.visit,
                   starts_at=utcnow() + timedelta(days=number + 1))
    make_event(slug="andere-soort")

    seen, url = [], "/api/v1/activities?soort=werkbezoek"
    while url:
        body = api_get(client, url).get_json()
        seen += [item["slug"] for item in body["items"]]
        url = body["next"] and body["next"].removeprefix(BASE)
        assert url is None or "soort=werkbezoek" in url
    assert seen == [f"vorming-{number}" for number in range(5)]


def test_an_activity_that_ends_between_two_pages_makes_nobody_miss_one(app, client, make_event):
    app.config["API_PAGE_SIZE"] = 2
    events = [make_event(slug=f"vorming-{number}", starts_at=utcnow() + timedelta(days=number + 1))
              for number in range(5)]

    first = api_get(client, "/api/v1/activities").get_json()
    events[0].starts_at, events[0].ends_at = (utcnow() - timedelta(hours=3),
                                              utcnow() - timedelta(hours=1))
    db.session.commit()
    second = api_get(client, first["next"].removeprefix(BASE)).get_json()

    assert [item["slug"] for item in first["items"]] == ["vorming-0", "vorming-1"]
    assert [item["slug"] for item in second["items"]] == ["vorming-2", "vorming-3"]


@pytest.mark.parametrize("query", ["soort=lezing", "thema=bestaat-niet", "provincie=Brabant",
                                   "maand=1999-01", "na=veel", "na=12-x", "na=-5",
                                   "na=999999999999999999999-1", "na=1-2147483648",
                                   "na=1-" + "9" * 5000])
def test_an_unknown_filter_is_a_problem_naming_the_parameter(client, query):
    response = api_get(client, "/api/v1/activities?" + query)

    assert response.status_code == 400
    problem = response.get_json()
    assert problem["title"] == "Bad Request"
    assert list(problem["errors"]) == [query.split("=")[0]]


def test_one_activity_with_the_sessions_of_its_series(client, make_series, make_event):
    series = make_series(slug="groep", title="Groep")
    make_event(slug="sessie-1", series=series, capacity=None, kind=EventKind.intervision)
    make_event(slug="sessie-2", series=series, capacity=None, kind=EventKind.intervision)
    make_event(slug="sessie-3", series=series, capacity=None, status=EventStatus.draft,
               kind=EventKind.intervision)

    body = api_get(client, "/api/v1/activities/sessie-2").get_json()

    assert body["series"] == {"slug": "groep", "title": "Groep"}
    assert [session["slug"] for session in body["sessions"]] == ["sessie-1", "sessie-2"]
    make_event(slug="alleen-ontwerp", status=EventStatus.draft,
               series=make_series(slug="nog-niets", title="Nog niets"))
    listed = api_get(client, "/api/v1/series").get_json()["items"]
    assert [(each["slug"], [session["slug"] for session in each["sessions"]])
            for each in listed] == [("groep", ["sessie-1", "sessie-2"])]


@pytest.mark.parametrize("path", ["/api/v1/activities/bestaat-niet", "/api/v1/activities/NIET",
                                  "/api/v1/bestaat-niet", "/api/v1/activities/ontwerp"])
def test_unknown_things_are_a_404_problem(client, make_event, path):
    make_event(slug="ontwerp", status=EventStatus.draft)

    response = api_get(client, path)

    assert response.status_code == 404
    assert response.get_json()["title"] == "Not Found"


def test_themes_are_listed_by_name(client, make_theme):
    make_theme("polarisering", "Polarisering")
    make_theme("livc", "Informatiedoorstroming")

    body = api_get(client, "/api/v1/themes").get_json()
    assert body == {"items": [{"slug": "livc", "name": "Informatiedoorstroming"},
                              {"slug": "polarisering", "name": "Polarisering"}]}


def test_an_unchanged_answer_is_304_and_a_registration_changes_it(
        client, make_event, make_registration):
    event = make_event(slug="vorming")
    for path in ("/api/v1/activities", "/api/v1/activities/vorming", "/api/v1/themes",
                 "/api/v1/series", "/api/v1/openapi.json"):
        first = api_get(client, path)
        etag = first.headers["ETag"]
        repeat = api_get(client, path, headers={"If-None-Match": etag})
        assert repeat.status_code == 304 and repeat.data == b"", path

    before = api_get(client, "/api/v1/activities/vorming")
    make_registration(event)
    after = api_get(client, "/api/v1/activities/vorming",
                    headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["places"]["left"] == before.get_json()["places"]["left"] - 1


def test_a_browser_on_another_site_may_ask_with_an_etag(client):
    response = client.options("/api/v1/activities", headers={
        "Origin": "https://www.gemeente.be", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert client.post("/api/v1/activities").status_code == 405


def test_the_api_holds_no_personal_data_and_no_meeting_link(client, make_event,
                                                            make_registration):
    event = make_event(slug="vorming", online_url="https://meet.example.org/geheim",
                       venue="", address="")
    make_registration(event, email="geheim.persoon@example.org", first_name="Geheime")

    for path in ("/api/v1/activities", "/api/v1/activities/vorming", "/api/v1/series"):
        text = api_get(client, path).get_data(as_text=True)
        assert "meet.example.org" not in text and "geheim.persoon" not in text
        assert "Geheime" not in text
    assert api_get(client, "/api/v1/activities/vorming").get_json()["attendance_mode"] == "online"


# --- the embeddable agenda ------------------------------------------------------------------

def test_the_embedded_agenda_may_be_framed_anywhere_and_nothing_else_may(client, make_event):
    make_event(slug="vorming", title="Vorming om in te sluiten")

    embedded = client.get("/embed")
    assert embedded.status_code == 200
    assert "frame-ancestors *" in embedded.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embedded.headers
    assert "Set-Cookie" not in embedded.headers
    page = embedded.get_data(as_text=True)
    assert '<base target="_blank">' in page and "Vorming om in te sluiten" in page
    assert "<script" not in page
    for path in ("/", "/activiteiten/vorming", "/abonneren", "/toegankelijkheid"):
        response = client.get(path)
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path


def test_the_embedded_agenda_takes_the_agendas_filters(client, make_event, make_theme):
    visit = make_event(slug="bezoek", title="Een werkbezoek", kind=EventKind.visit)
    visit.themes = [make_theme("livc", "LIVC")]
    db.session.commit()
    make_event(slug="vorming", title="Een vorming")

    visits = client.get("/embed?soort=werkbezoek").get_data(as_text=True)
    assert "Een werkbezoek" in visits and "Een vorming" not in visits
    assert 'href="/?soort=werkbezoek"' in visits
    themed = client.get("/embed?thema=livc").get_data(as_text=True)
    assert "Een werkbezoek" in themed and "Een vorming" not in themed

    # A snippet copied before a choice disappeared keeps showing the agenda, with a notice.
    unknown = client.get("/embed?soort=lezing")
    assert unknown.status_code == 200
    text = unknown.get_data(as_text=True)
    assert "Ongeldige keuze" in text and "Een vorming" in text


def test_the_subscribe_page_gives_a_snippet_for_the_kind_and_theme_chosen(client, hx, make_theme):
    make_theme("livc", "LIVC")

    page = client.get("/abonneren?insluiten-soort=intervisie&insluiten-thema=livc")
    text = page.get_data(as_text=True)
    assert "Op je eigen website" in text
    # The snippet is HTML, its "&" escaped; the field shows that HTML as text.
    assert (f"&lt;iframe src=&#34;{BASE}/embed?soort=intervisie&amp;amp;thema=livc&#34;"
            in text)
    assert 'class="embed-preview" src="/embed?soort=intervisie&amp;thema=livc"' in text

    part = client.get("/abonneren/insluiten?insluiten-soort=vorming", headers=hx)
    assert part.get_data(as_text=True).lstrip().startswith('<section id="embed-code"')
    assert f"{BASE}/embed?soort=vorming" in part.get_data(as_text=True)
    unknown = client.get("/abonneren?insluiten-soort=lezing").get_data(as_text=True)
    assert f"&lt;iframe src=&#34;{BASE}/embed&#34;" in unknown


# --- the Atom feed of new activities --------------------------------------------------------

def test_the_feed_of_new_activities_is_valid_atom_newest_first(client, make_event, make_theme):
    older = make_event(slug="ouder", title="Oudere vorming")
    older.published_at = utcnow() - timedelta(days=2)
    newer = make_event(slug="nieuwer", title="Nieuwere vorming", description="**Vet** & <b>")
    newer.themes = [make_theme("livc", "LIVC")]
    db.session.commit()
    make_event(slug="ontwerp", status=EventStatus.draft)

    response = client.get("/nieuw.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)

    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert [entry.title for entry in feed.entries] == ["Nieuwere vorming", "Oudere vorming"]
    entry = feed.entries[0]
    assert entry.id == f"urn:uuid:{newer.uid}"
    assert entry.link == BASE + "/activiteiten/nieuwer"
    assert entry.published and entry.updated
    assert {tag.term for tag in entry.tags} == {"vorming", "livc"}
    assert entry.content[0].value.strip() == "<p><strong>Vet</strong> &amp; &lt;b&gt;</p>"
    assert "Set-Cookie" not in response.headers
    assert feed.feed.links[0].href == BASE + "/nieuw.atom"


def test_publishing_an_activity_puts_it_in_the_feed(client, staff, make_event):
    draft = make_event(slug="ontwerp", title="Nog niet gepubliceerd", status=EventStatus.draft)
    before = client.get("/nieuw.atom")
    assert feedparser.parse(before.data).entries == []
    assert client.get("/nieuw.atom", headers={"If-None-Match": before.headers["ETag"]}
                      ).status_code == 304

    staff.login()
    client.post(f"/beheer/activiteiten/{draft.id}/publiceren")
    staff.logout()

    after = client.get("/nieuw.atom", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    feed = feedparser.parse(after.data)
    assert [entry.title for entry in feed.entries] == ["Nog niet gepubliceerd"]
    assert feed.feed.updated_parsed > feedparser.parse(before.data).feed.updated_parsed


def test_a_cancelled_activity_stays_in_the_feed_as_cancelled(client, staff, make_event):
    event = make_event(slug="vorming", title="Vorming")
    staff.login()
    client.post(f"/beheer/activiteiten/{event.id}/annuleren", data={"reason": "Ziekte"})
    staff.logout()

    entry = feedparser.parse(client.get("/nieuw.atom").data).entries[0]
    assert entry.title == "Geannuleerd: Vorming"


def test_every_page_points_feed_readers_to_the_feed(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml" title="Nieuwe activiteiten" ' \
           'href="/nieuw.atom">' in page


# --- the accessibility statement ------------------------------------------------------------

def test_the_accessibility_statement_has_the_structure_flemish_bodies_use(app, client):
    response = client.get("/toegankelijkheid")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for heading in ("Toegankelijkheidsverklaring", "Nalevingsstatus", "Niet-toegankelijke inhoud",
                    "Opstelling van deze verklaring", "Feedback en contactgegevens",
                    "Handhavingsprocedure"):
        assert heading in text, heading
    assert "WCAG) 2.1 niveau AA" in text
    assert f'href="mailto:{app.config["HELPDESK_EMAIL"]}"' in text


@pytest.mark.parametrize("path", ["/", "/privacy", "/abonneren", "/activiteiten/bestaat-niet"])
def test_every_page_links_to_the_accessibility_statement(client, path):
    assert 'href="/toegankelijkheid">Toegankelijkheid</a>' in client.get(path).get_data(
        as_text=True)


def test_staff_edit_the_statement_and_visitors_see_it_at_once(client, staff):
    assert client.get("/beheer/teksten/accessibility").status_code == 302
    client.get("/toegankelijkheid")
    staff.login()
    editor = client.get("/beheer/teksten/accessibility").get_data(as_text=True)
    assert 'href="/toegankelijkheid">Toegankelijkheid</a>' in editor

    response = client.post("/beheer/teksten/accessibility", data={
        "title": "Toegankelijkheidsverklaring",
        "body": "## Nalevingsstatus\n\nVolledig in overeenstemming sinds de audit."})
    assert response.status_code == 303
    staff.logout()

    assert "Volledig in overeenstemming sinds de audit." in client.get(
        "/toegankelijkheid").get_data(as_text=True)


# --- after use --------------------------------------------------------------------------------

def test_an_activity_that_has_ended_is_not_announced_as_new(client, make_event):
    make_event(slug="voorbij", title="Al voorbij", starts_at=utcnow() - timedelta(days=3))
    make_event(slug="straks", title="Nog te gaan")

    feed = feedparser.parse(client.get("/nieuw.atom").data)
    assert [entry.title for entry in feed.entries] == ["Nog te gaan"]


def test_the_feed_never_says_it_changed_earlier_than_before(client, staff, make_event):
    draft_later = make_event(slug="eerst", title="Eerst")
    make_event(slug="later", title="Later")
    first = client.get("/nieuw.atom")
    assert "Last-Modified" not in first.headers and "Date" not in first.headers
    before = feedparser.parse(first.data).feed.updated_parsed

    staff.login()
    client.post(f"/beheer/activiteiten/{draft_later.id}/depubliceren")
    staff.logout()

    after = feedparser.parse(client.get("/nieuw.atom").data)
    assert [entry.title for entry in after.entries] == ["Later"]
    assert after.feed.updated_parsed >= before


def test_json_ld_describes_with_the_words_of_the_description_not_its_markup(client, make_event):
    make_event(slug="vorming", summary="", description="Met **vet** en [een link](https://x.org)"
               ".\r\n\r\nTweede & laatste alinea.")

    data = json_ld(client, "vorming")
    assert data["description"] == "Met vet en een link. Tweede & laatste alinea."
    # Without a registration window the offer is valid from publication: nothing to state.
    assert "validFrom" not in data["offers"]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_method_the_api_does_not_take_is_a_405_naming_the_one_it_does(client, method):
    response = getattr(client, method)("/api/v1/activities", base_url=BASE,
                                       headers={"Origin": "https://www.gemeente.be"})

    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_405_page_names_the_methods_too(client):
    response = client.post("/archief")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


@pytest.mark.parametrize("query", ["soort=vorming&soort=intervisie", "na=1-1&na=2-2"])
def test_a_filter_given_twice_is_a_problem(client, query):
    response = api_get(client, "/api/v1/activities?" + query)
    assert response.status_code == 400
    assert list(response.get_json()["errors"]) == [query.split("=")[0]]


@pytest.mark.parametrize("number", ["+2", "1_0", "%EF%BC%92", "%D9%A2", "2.0"])
def test_page_numbers_and_cursors_are_written_in_ascii_digits(client, number):
    assert client.get("/?pagina=" + number).status_code == 400
    response = api_get(client, f"/api/v1/activities?na={number}-{number}")
    assert response.status_code == 400 and list(response.get_json()["errors"]) == ["na"]


def test_the_embed_says_a_refused_choice_is_left_out_and_has_a_heading(client, make_event,
                                                                       make_theme):
    themed = make_event(title="Met thema")
    themed.themes = [make_theme("livc", "LIVC")]
    db.session.commit()
    make_event(title="Zonder thema")

    page = client.get("/embed?soort=lezing&thema=livc").get_data(as_text=True)
    assert "Soort: Ongeldige keuze. Die keuze laten we weg." in page
    assert "Met thema" in page and "Zonder thema" not in page
    assert '<h1 class="visually-hidden">Agenda van ' in page


def test_each_form_on_the_subscribe_page_keeps_the_others_choice(client, make_theme):
    make_theme("livc", "LIVC")
    page = client.get("/abonneren?soort=vorming&thema=livc&insluiten-soort=intervisie"
                      ).get_data(as_text=True)

    embed_form = page[page.index('<h2 id="insluiten">'):]
    feed_form = page[:page.index('<h2 id="insluiten">')]
    assert '<input type="hidden" name="soort" value="vorming">' in embed_form
    assert '<input type="hidden" name="thema" value="livc">' in embed_form
    assert '<input type="hidden" name="insluiten-soort" value="intervisie">' in feed_form


def test_a_statement_title_of_spaces_and_an_empty_statement_are_refused(client, staff):
    staff.login()
    spaces = client.post("/beheer/teksten/accessibility",
                         data={"title": "   ", "body": "## Nalevingsstatus"})
    assert spaces.status_code == 422 and "Geef een titel." in spaces.get_data(as_text=True)
    empty = client.post("/beheer/teksten/accessibility",
                        data={"title": "Toegankelijkheidsverklaring", "body": "  \r\n "})
    assert empty.status_code == 422
    assert "zonder tekst" in empty.get_data(as_text=True)
    staff.logout()
    assert "Nalevingsstatus" in client.get("/toegankelijkheid").get_data(as_text=True)
    # The referrals on the offering page may be emptied: the page then leaves them out.
    staff.login()
    assert client.post("/beheer/teksten/referrals",
                       data={"title": "Doorverwijzingen", "body": ""}).status_code == 303


def test_line_breaks_count_once_as_the_textarea_counts_them(client, staff):
    staff.login()
    line = "x" * 99
    body = "\r\n".join([line] * 200)  # 19,999 characters as typed, 20,198 bytes as posted

    response = client.post("/beheer/teksten/accessibility",
                           data={"title": "Toegankelijkheidsverklaring", "body": body})

    assert response.status_code == 303
    stored = db.session.scalar(db.select(ContentBlock.body).where(
        ContentBlock.key == "accessibility"))
    assert "\r" not in stored and len(stored) == 19_999
