"""The agenda, the archive and the activity page: services first, then HTTP."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduler.dates import brussels_to_utc
from scheduler.extensions import db
from scheduler.models import (
    Event,
    EventKind,
    EventStatus,
    RegistrationStatus,
    utcnow,
)
from scheduler.services import agenda, places
from scheduler.services.agenda import AgendaFilters
from scheduler.services.places import Seats


def test_upcoming_lists_published_and_cancelled_soonest_first(make_event):
    now = utcnow()
    later = make_event(starts_at=now + timedelta(days=20))
    sooner = make_event(starts_at=now + timedelta(days=2))
    cancelled = make_event(starts_at=now + timedelta(days=5), status=EventStatus.cancelled)
    make_event(starts_at=now + timedelta(days=3), status=EventStatus.draft)
    make_event(starts_at=now - timedelta(days=3))

    upcoming = agenda.list_upcoming_events(AgendaFilters(), now)
    events, has_more = upcoming.events, upcoming.has_more

    assert [e.id for e in events] == [sooner.id, cancelled.id, later.id]
    assert has_more is False


def test_an_activity_under_way_is_still_upcoming(make_event):
    now = utcnow()
    running = make_event(starts_at=now - timedelta(hours=1))
    events = agenda.list_upcoming_events(AgendaFilters(), now).events
    assert [e.id for e in events] == [running.id]


def test_upcoming_pages_without_losing_or_repeating(make_event):
    now = utcnow()
    made = [make_event(starts_at=now + timedelta(days=day)) for day in range(1, 6)]
    first_page = agenda.list_upcoming_events(AgendaFilters(), now, page=1, page_size=2)
    first, more = first_page.events, first_page.has_more
    second = agenda.list_upcoming_events(AgendaFilters(), now, page=2, page_size=2).events
    third_page = agenda.list_upcoming_events(AgendaFilters(), now, page=3, page_size=2)
    third, last_more = third_page.events, third_page.has_more
    assert more and not last_more
    assert [e.id for e in first + second + third] == [e.id for e in made]


def test_filter_on_kind_theme_and_province(make_event, make_theme, municipality):
    theme = make_theme("polarisering")
    visit = make_event(kind=EventKind.visit, municipality=municipality("Gent"))
    training = make_event(kind=EventKind.training, municipality=municipality("Genk"))
    training.themes = [theme]
    db.session.commit()
    now = utcnow()

    def ids(**filters):
        events = agenda.list_upcoming_events(AgendaFilters(**filters), now).events
        return [e.id for e in events]

    assert ids(kind=EventKind.visit) == [visit.id]
    assert ids(theme="polarisering") == [training.id]
    assert ids(province="Limburg") == [training.id]
    assert ids(province="Oost-Vlaanderen") == [visit.id]
    assert ids(province="Antwerpen") == []


def test_month_filter_uses_brussels_midnight(make_event):
    # 00:30 on 1 April in Brussels is still 31 March in UTC.
    early_april = brussels_to_utc(date(2031, 4, 1), time(0, 30))
    end_of_march = brussels_to_utc(date(2031, 3, 31), time(23, 30))
    april = make_event(starts_at=early_april)
    march = make_event(starts_at=end_of_march)
    now = datetime(2031, 1, 1, tzinfo=UTC)

    in_april = agenda.list_upcoming_events(AgendaFilters(month=(2031, 4)), now).events
    in_march = agenda.list_upcoming_events(AgendaFilters(month=(2031, 3)), now).events

    assert [e.id for e in in_april] == [april.id]
    assert [e.id for e in in_march] == [march.id]


def test_times_survive_the_database_as_aware_utc(make_event):
    starts = brussels_to_utc(date(2031, 3, 30), time(2, 30))  # the hour skipped by DST is resolved
    event = make_event(starts_at=starts)
    db.session.expire_all()
    assert event.starts_at == starts
    assert event.starts_at.tzinfo is not None


def test_past_events_most_recent_first(make_event):
    now = utcnow()
    old = make_event(starts_at=now - timedelta(days=60))
    recent = make_event(starts_at=now - timedelta(days=6))
    make_event(starts_at=now + timedelta(days=6))
    make_event(starts_at=now - timedelta(days=3), status=EventStatus.draft)
    events = agenda.list_past_events(now).events
    assert [e.id for e in events] == [recent.id, old.id]


def test_seats_count_confirmed_and_pending_as_taken(make_event, make_registration):
    event = make_event(capacity=3)
    make_registration(event)
    make_registration(event, status=RegistrationStatus.pending)
    make_registration(event, status=RegistrationStatus.waiting)
    make_registration(event, status=RegistrationStatus.cancelled)
    seats = places.summaries([event])[event.id]
    assert seats == Seats(capacity=3, confirmed=1, pending=1, waiting=1)
    assert seats.left == 1 and not seats.is_full


def test_sessions_of_a_series_share_the_series_places(make_event, make_series, make_registration):
    series = make_series(capacity=2)
    first = make_event(series=series, kind=EventKind.intervision, capacity=None)
    second = make_event(series=series, kind=EventKind.intervision, capacity=None)
    make_registration(series)
    make_registration(series)
    make_registration(series, status=RegistrationStatus.waiting)
    summaries = places.summaries([first, second])
    assert summaries[first.id] == summaries[second.id] == Seats(capacity=2, confirmed=2, waiting=1)
    assert summaries[first.id].is_full


@pytest.mark.parametrize(
    ("overrides", "seats", "code", "label"),
    [
        ({}, Seats(capacity=10, confirmed=6), "open", "Nog 4 plaatsen"),
        ({}, Seats(capacity=10, confirmed=9), "open", "Nog 1 plaats"),
        ({}, Seats(capacity=None, confirmed=90), "open", "Plaatsen vrij"),
        ({}, Seats(capacity=4, confirmed=3, pending=1), "full", "Volzet – wachtlijst"),
        ({"status": EventStatus.cancelled}, Seats(capacity=4), "cancelled", "Geannuleerd"),
        ({"registration_closes_at": "past"}, Seats(capacity=4), "closed", "Inschrijving gesloten"),
    ],
)
def test_availability_labels(make_event, overrides, seats, code, label):
    if overrides.get("registration_closes_at") == "past":
        overrides["registration_closes_at"] = utcnow() - timedelta(hours=1)
    event = make_event(**overrides)
    availability = agenda.describe_availability(event, seats, utcnow())
    assert (availability.code, availability.label) == (code, label)


def test_availability_before_registration_opens(make_event):
    opens = brussels_to_utc(date(2031, 1, 12), time(9, 0))
    event = make_event(
        starts_at=datetime(2031, 2, 1, 9, tzinfo=UTC), registration_opens_at=opens
    )
    now = datetime(2031, 1, 1, tzinfo=UTC)
    availability = agenda.describe_availability(event, Seats(capacity=5), now)
    assert availability.code == "not-yet"
    assert availability.label == "Inschrijving opent op 12 januari 2031 om 9.00 uur"


def test_agenda_shows_dutch_dates_and_places(client, make_event):
    make_event(
        title="Basisvorming Mechelen",
        starts_at=brussels_to_utc(date(2031, 1, 14), time(13, 30)),
        ends_at=brussels_to_utc(date(2031, 1, 14), time(16, 0)),
        capacity=10,
    )
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Basisvorming Mechelen" in page
    assert "dinsdag 14 januari 2031, 13.30–16.00 uur" in page
    assert "Januari 2031" in page
    assert "Nog 10 plaatsen" in page
    assert "<html" in page


def test_agenda_filter_as_htmx_returns_the_list_fragment(client, hx, make_event):
    make_event(kind=EventKind.visit, title="Werkbezoek Gent")
    make_event(kind=EventKind.training, title="Vorming Genk")
    response = client.get("/?soort=werkbezoek", headers=hx)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in page
    assert page.lstrip().startswith('<section id="agenda-results"')
    assert "Werkbezoek Gent" in page and "Vorming Genk" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_boosted_request_gets_the_whole_page(client, make_event):
    make_event()
    response = client.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query", ["soort=feest", "provincie=Henegouwen", "maand=1999-01", "pagina=nul", "thema=x" * 5]
)
def test_unknown_filter_values_get_a_message_not_an_error(client, make_event, query):
    make_event(title="Blijft zichtbaar")
    response = client.get(f"/?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Blijft zichtbaar" in page
    assert 'class="field-error"' in page


def test_agenda_pages_past_twenty(client, make_event):
    for _ in range(23):
        make_event()
    first = client.get("/").get_data(as_text=True)
    second = client.get("/?pagina=2").get_data(as_text=True)
    assert first.count('class="event-card') == 20
    assert second.count('class="event-card') == 3
    assert "pagina=2" in first


def test_agenda_query_count_does_not_grow(client, make_event, make_registration, make_theme,
                                          make_series, count_queries):
    theme = make_theme()
    series = make_series()
    for number in range(45):
        event = make_event(series=series if number % 5 == 0 else None)
        event.themes = [theme]
        make_registration(series if number % 5 == 0 else event)
    db.session.commit()
    with count_queries() as statements:
        response = client.get("/")
    assert response.status_code == 200
    assert len(statements) <= 4, statements
    client.get(f"/activiteiten/{event.slug}")  # loads the per-process municipality list
    for slug in (event.slug, "vorming-1"):  # a single activity, and a session of a series
        with count_queries() as statements:
            assert client.get(f"/activiteiten/{slug}").status_code == 200
        assert len(statements) <= 4, statements


def test_activity_page_shows_everything(client, make_event, make_theme, municipality):
    event = make_event(
        title="Werkbezoek LIVC",
        kind=EventKind.visit,
        venue="Preventiedienst",
        address="Grote Markt 1, 1800 Vilvoorde",
        municipality=municipality("Vilvoorde"),
        description="## Programma\n\n<script>alert(1)</script> *welkom*",
    )
    event.themes = [make_theme("livc", "Informatiedoorstroming en LIVC")]
    db.session.commit()
    page = client.get(f"/activiteiten/{event.slug}").get_data(as_text=True)
    assert "Werkbezoek LIVC" in page
    assert "Grote Markt 1, 1800 Vilvoorde" in page
    assert "Vlaams-Brabant" in page
    assert "Informatiedoorstroming en LIVC" in page
    assert "<h2>Programma</h2>" in page
    assert "<script>alert" not in page
    assert "Nog 20 plaatsen" in page


def test_a_markdown_heading_of_any_level_is_a_heading_below_the_page_title(client, make_event):
    event = make_event(description="# Programma\n\n### Voormiddag\n\n###### Klein")
    page = client.get(f"/activiteiten/{event.slug}").text
    assert "<h2>Programma</h2>" in page and "<h3>Voormiddag</h3>" in page
    assert "<h6>Klein</h6>" in page and "# Programma" not in page and "<h1>Programma" not in page


def test_cancelled_activity_says_so(client, make_event):
    event = make_event(status=EventStatus.cancelled, cancellation_reason="De spreker is ziek.")
    page = client.get(f"/activiteiten/{event.slug}").get_data(as_text=True)
    assert "Deze activiteit is geannuleerd" in page
    assert "De spreker is ziek." in page


@pytest.mark.parametrize("slug", ["bestaat-niet", "%00", "a" * 300])
def test_unknown_activity_is_a_dutch_404(client, slug):
    response = client.get(f"/activiteiten/{slug}")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.get_data(as_text=True)


def test_draft_activity_is_not_public(client, make_event):
    event = make_event(status=EventStatus.draft)
    assert client.get(f"/activiteiten/{event.slug}").status_code == 404


def test_series_session_lists_the_other_sessions(client, make_event, make_series):
    series = make_series(title="Intervisiegroep LIVC")
    first = make_event(series=series, kind=EventKind.intervision)
    second = make_event(series=series, kind=EventKind.intervision)
    page = client.get(f"/activiteiten/{first.slug}").get_data(as_text=True)
    assert "Reeks: Intervisiegroep LIVC" in page
    assert f'href="/activiteiten/{second.slug}"' in page


def test_archive_lists_past_activities(client, make_event):
    make_event(title="Vorige vorming", starts_at=utcnow() - timedelta(days=30))
    make_event(title="Volgende vorming")
    page = client.get("/archief").get_data(as_text=True)
    assert "Vorige vorming" in page and "Volgende vorming" not in page
    assert "Afgelopen" in page


def test_reading_the_agenda_sets_no_cookie(client, make_event):
    event = make_event()
    for path in ("/", f"/activiteiten/{event.slug}.ics", "/archief", "/abonneren"):
        response = client.get(path)
        assert "Set-Cookie" not in response.headers, path


def test_an_agenda_page_changes_when_the_following_activity_ends():
    """Its end can take away the page's 'more' link, though it is not on the page."""
    now = datetime(2031, 1, 1, 8, tzinfo=UTC)
    shown = Event(starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=3),
                  registration_closes_at=now + timedelta(hours=20))
    following = Event(starts_at=now + timedelta(hours=30), ends_at=now + timedelta(hours=31))
    assert agenda.Page([shown], None).changes_at(now) == now + timedelta(hours=20)
    # Once the shown activity has started, only its end (day 3) is left on the page itself.
    later = now + timedelta(hours=25)
    assert agenda.Page([shown], None).changes_at(later) == now + timedelta(days=3)
    assert agenda.Page([shown], following).changes_at(later) == now + timedelta(hours=30)
    assert agenda.Page([], None).changes_at(now) is None
