"""The reach map (an SVG drawn on the server) and the yearly report: their shapes and figures
against counts made here from the rows themselves."""

import csv
import io
import re
import xml.etree.ElementTree as ElementTree
from datetime import date, time, timedelta

import pytest

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    Audience,
    EventKind,
    EventStatus,
    Organisation,
    RegistrationStatus,
    RequestStatus,
    Role,
    TrainingRequest,
    utcnow,
)
from scheduler.services import reach_map
from scheduler.services.yearly_report import yearly_report

SVG = "{http://www.w3.org/2000/svg}"
THIS_YEAR = local(utcnow()).year


def drawn_map(page: str) -> ElementTree.Element:
    found = re.search(r'<svg class="reach-map".*?</svg>', page, re.DOTALL)
    assert found, "no map on the page"
    return ElementTree.fromstring(found.group(0))


def map_links(page: str) -> dict[str, ElementTree.Element]:
    """The clickable layer over the map: its link per NIS code."""
    found = re.search(r'<svg class="reach-map-links".*?</svg>', page, re.DOTALL)
    assert found, "no links over the map"
    return {anchor.find(SVG + "use").get("href").removeprefix("#nis-"): anchor
            for anchor in ElementTree.fromstring(found.group(0)).iter(SVG + "a")}


def classes_by_nis(svg: ElementTree.Element) -> dict[str, str]:
    return {path.get("id").removeprefix("nis-"): path.get("class")
            for path in svg.iter(SVG + "path") if path.get("id")}


@pytest.fixture
def staff_client(client, staff):
    staff.login()
    return client


def people_from(event, organisation: Organisation, count: int, make_registration, **fields):
    return [make_registration(event, organisation=organisation, **fields) for _ in range(count)]


def test_the_map_has_every_municipality_coloured_by_its_participants(
        staff_client, make_event, make_registration, municipality):
    event = make_event(starts_at=utcnow() + timedelta(days=3))
    other = make_event(starts_at=utcnow() + timedelta(days=4))
    wanted = {"Gent": 1, "Genk": 3, "Brugge": 6, "Leuven": 11, "Antwerpen": 21}
    for name, count in wanted.items():
        people_from(event, municipality(name), count, make_registration)
    people_from(other, municipality("Gent"), 1, make_registration)
    # Not counted: waiting, cancelled.
    people_from(event, municipality("Aalst"), 2, make_registration,
                status=RegistrationStatus.waiting)
    people_from(event, municipality("Mechelen"), 1, make_registration,
                status=RegistrationStatus.cancelled)

    response = staff_client.get("/beheer/bereik")
    page = response.get_data(as_text=True)
    svg = drawn_map(page)

    municipalities = db.session.scalars(
        db.select(Organisation).where(Organisation.nis_code.is_not(None))).all()
    classes = classes_by_nis(svg)
    assert set(classes) == {organisation.nis_code for organisation in municipalities}
    assert len(classes) == 304
    expected = {municipality(name).nis_code: f"reach-{level}"
                for level, name in enumerate(["Gent", "Genk", "Brugge", "Leuven", "Antwerpen"],
                                             start=1)}
    expected[municipality("Gent").nis_code] = "reach-1"  # 2 participants
    for nis_code, drawn in classes.items():
        assert drawn == expected.get(nis_code, "reach-0"), nis_code
    links = map_links(page)
    assert set(links) == set(classes)
    titles = {nis_code: anchor.findtext(SVG + "title") for nis_code, anchor in links.items()}
    assert titles[municipality("Gent").nis_code] == "Gent: 2 deelnemers, 2 activiteiten"
    assert titles[municipality("Aalst").nis_code] == "Aalst: niet bereikt"
    assert svg.get("role") == "img" and not list(svg.iter(SVG + "a"))
    assert svg.get("aria-label").startswith("Kaart van Vlaanderen en Brussel: 5 van de 304")
    figure = re.search(r'<figure class="reach-map-figure">.*?</figure>', page, re.DOTALL).group(0)
    assert len(figure.encode()) < 300_000


def test_the_reach_classes_follow_the_legend():
    assert [reach_map.reach_class(count) for count in (0, 1, 2, 3, 5, 6, 10, 11, 20, 21, 500)] \
        == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert len(reach_map.CLASS_LABELS) == len(reach_map.CLASS_STARTS)


def test_every_shape_is_a_closed_path_and_provinces_are_outlined():
    outlines = reach_map.outlines()
    assert len(outlines.shapes) == 304
    assert all(shape.path.startswith("M") and shape.path.endswith("z") for shape in outlines.shapes)
    # Baarle-Hertog: 26 parts, each its own closed ring.
    baarle = next(shape for shape in outlines.shapes if shape.nis_code == "13002")
    assert baarle.path.count("M") >= 20
    assert outlines.province_borders.count("M") >= 6


def test_the_kind_and_period_filters_change_the_map(staff_client, make_event, make_registration,
                                                   municipality):
    soon = utcnow() + timedelta(days=3)
    visit = make_event(kind=EventKind.visit, starts_at=soon)
    training = make_event(kind=EventKind.training, starts_at=soon + timedelta(days=40))
    people_from(visit, municipality("Gent"), 1, make_registration)
    people_from(training, municipality("Genk"), 1, make_registration)
    gent, genk = municipality("Gent").nis_code, municipality("Genk").nis_code

    def shown(query: str) -> dict[str, str]:
        classes = classes_by_nis(drawn_map(
            staff_client.get("/beheer/bereik" + query).get_data(as_text=True)))
        return {nis: classes[nis] for nis in (gent, genk)}

    day = local(soon).date()
    assert shown("?soort=werkbezoek&van=2020-01-01&tot=2099-12-31") == {
        gent: "reach-1", genk: "reach-0"}
    assert shown("?soort=vorming&van=2020-01-01&tot=2099-12-31") == {
        gent: "reach-0", genk: "reach-1"}
    assert shown(f"?van={day}&tot={day}") == {gent: "reach-1", genk: "reach-0"}


def test_a_new_registration_shows_on_the_map_at_once(staff_client, make_event,
                                                     make_registration, municipality):
    event = make_event(starts_at=utcnow() + timedelta(days=3))
    gent = municipality("Gent").nis_code
    assert classes_by_nis(drawn_map(staff_client.get("/beheer/bereik").get_data(
        as_text=True)))[gent] == "reach-0"
    people_from(event, municipality("Gent"), 3, make_registration)
    assert classes_by_nis(drawn_map(staff_client.get("/beheer/bereik").get_data(
        as_text=True)))[gent] == "reach-2"


def test_clicking_a_municipality_narrows_the_table_to_it(staff_client, make_event,
                                                         make_registration, municipality):
    event = make_event(title="Vorming in Gent", starts_at=utcnow() + timedelta(days=3))
    people_from(event, municipality("Gent"), 2, make_registration)
    people_from(event, municipality("Genk"), 1, make_registration)
    gent = municipality("Gent").nis_code

    page = staff_client.get("/beheer/bereik").get_data(as_text=True)
    link = map_links(page)[gent]
    narrowed = staff_client.get(link.get("href").split("#")[0]).get_data(as_text=True)

    table = narrowed[narrowed.index('<h2 id="gemeente">'):]
    assert "Alleen Gent." in table and "Genk" not in table
    assert "Vorming in Gent" in table
    assert 'class="reach-1 is-selected"' in narrowed
    not_reached = municipality("Aalst").nis_code
    assert "Geen deelnemers in deze periode." in staff_client.get(
        f"/beheer/bereik?gemeente={not_reached}").get_data(as_text=True)
    assert staff_client.get("/beheer/bereik?gemeente=99999").status_code == 404
    assert staff_client.get("/beheer/bereik?gemeente=gent").status_code == 400


def test_the_reach_and_report_pages_are_for_staff_only(client):
    for path in ("/beheer/bereik", "/beheer/rapport", "/beheer/rapport.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/beheer/aanmelden" in response.location


def test_the_yearly_report_equals_counts_from_the_rows(
        staff_client, make_event, make_series, make_registration, municipality):
    year = THIS_YEAR - 1
    march = brussels_to_utc(date(year, 3, 10), time(10))
    june = brussels_to_utc(date(year, 6, 5), time(10))
    training = make_event(kind=EventKind.training, starts_at=march)
    visit = make_event(kind=EventKind.visit, starts_at=june)
    make_event(kind=EventKind.visit, starts_at=june + timedelta(days=1),
               status=EventStatus.cancelled)
    make_event(kind=EventKind.training, starts_at=june, status=EventStatus.draft)
    make_event(kind=EventKind.training, starts_at=brussels_to_utc(
        date(year + 1, 1, 1), time()))  # the next year: not counted
    series = make_series()
    session_one = make_event(kind=EventKind.intervision, series=series, capacity=None,
                             starts_at=june + timedelta(days=7))
    session_two = make_event(kind=EventKind.intervision, series=series, capacity=None,
                             starts_at=june + timedelta(days=70))
    people = [
        *people_from(training, municipality("Gent"), 3, make_registration),
        *people_from(training, municipality("Genk"), 1, make_registration, role=Role.mandataris),
        *people_from(visit, municipality("Brugge"), 2, make_registration, role=Role.mandataris),
        *people_from(series, municipality("Leuven"), 2, make_registration),
    ]
    people_from(visit, municipality("Aalst"), 1, make_registration,
                status=RegistrationStatus.cancelled)
    present = [(people[0], training), (people[1], training), (people[4], visit),
               (people[6], session_one), (people[6], session_two), (people[7], session_two)]
    absent = [(people[2], training)]
    db.session.add_all(Attendance(registration_id=registration.id, event_id=event.id,
                                  is_present=True) for registration, event in present)
    db.session.add_all(Attendance(registration_id=registration.id, event_id=event.id,
                                  is_present=False) for registration, event in absent)
    for days, status in ((10, RequestStatus.planned), (20, RequestStatus.new),
                         (30, RequestStatus.done)):
        db.session.add(TrainingRequest(contact_name="Iemand", email="iemand@example.org",
                                       audience=Audience.both, status=status,
                                       created_at=march + timedelta(days=days)))
    db.session.add(TrainingRequest(contact_name="Vorig jaar", email="oud@example.org",
                                   audience=Audience.both, created_at=march - timedelta(days=400)))
    db.session.commit()

    page = staff_client.get(f"/beheer/rapport?jaar={year}").get_data(as_text=True)
    exported = staff_client.get(f"/beheer/rapport.csv?jaar={year}").data.decode("utf-8-sig")
    figures = {(row[0], row[1]): row[2]
               for row in csv.reader(io.StringIO(exported), delimiter=";")}

    assert f"Jaarrapport {year}" in page
    assert figures["Activiteiten", "maart – Vorming"] == "1"
    assert figures["Activiteiten", "juni – Werkbezoek"] == "1"
    assert figures["Activiteiten", "juni – Intervisiemoment"] == "1"
    assert figures["Activiteiten", "augustus – Intervisiemoment"] == "1"
    assert figures["Activiteiten", "Totaal"] == "4"
    assert figures["Activiteiten", "Geannuleerd"] == "1"
    # Every person once, the series enrolments too; the cancelled registration not at all.
    assert figures["Inschrijvingen", "Ingeschreven (bevestigd)"] == str(len(people))
    assert figures["Inschrijvingen", "Aanwezig"] == "5"
    assert figures["Inschrijvingen", "Opkomst"] == "62,5\xa0%"
    assert figures["Rol", "Mandataris (burgemeester, schepen, raadslid)"] == "3"
    assert figures["Rol", "Medewerker"] == "5"
    assert figures["Vormingsaanvragen", "Ontvangen"] == "3"
    assert figures["Vormingsaanvragen", "Ingepland"] == "2"
    assert figures["Bereik", "Gemeenten bereikt"] == "4"
    assert figures["Bereik – Oost-Vlaanderen", "Ingeschreven"] == "3"
    assert figures["Bereik – Limburg", "Aanwezig"] == "0"
    assert figures["Bereik – Oost-Vlaanderen", "Aanwezig"] == "2"
    assert figures["Bereik – West-Vlaanderen", "Aanwezig"] == "1"
    assert figures["Bereik – Vlaams-Brabant", "Aanwezig"] == "2"
    assert "62,5\xa0%" in page
    classes = classes_by_nis(drawn_map(page))
    assert classes[municipality("Gent").nis_code] == "reach-2"
    assert classes[municipality("Aalst").nis_code] == "reach-0"


@pytest.mark.parametrize("year", ["1999", "abc", "20260", str(THIS_YEAR + 6)])
def test_an_impossible_year_is_a_400(staff_client, year):
    assert staff_client.get(f"/beheer/rapport?jaar={year}").status_code == 400
    assert staff_client.get(f"/beheer/rapport.csv?jaar={year}").status_code == 400


def test_the_report_takes_few_statements_however_many_registrations(
        staff_client, make_event, make_registration, municipality, count_queries):
    staff_client.get("/beheer/rapport")
    for number in range(20):
        event = make_event(starts_at=utcnow() - timedelta(days=number + 1))
        people_from(event, municipality("Gent" if number % 2 else "Genk"), 3, make_registration)
    with count_queries() as statements:
        assert staff_client.get("/beheer/rapport").status_code == 200
    assert len(statements) <= 11, (len(statements), statements)


@pytest.mark.parametrize("query", [
    "tot=9999-12-31", "van=0001-01-01", "van=2026-12-31&tot=2026-01-01",
    "gemeente=44021&gemeente=71016", "soort=vorming&soort=werkbezoek",
])
def test_a_period_that_cannot_be_or_a_choice_given_twice_is_a_400(staff_client, query):
    assert staff_client.get("/beheer/bereik?" + query).status_code == 400
    assert staff_client.get("/beheer/bereik.csv?" + query).status_code == 400


@pytest.mark.parametrize("year", [f"{THIS_YEAR}&jaar={THIS_YEAR - 1}", "２０２６", "0002026"])
def test_a_year_is_four_ascii_digits_given_once(staff_client, year):
    assert staff_client.get(f"/beheer/rapport?jaar={year}").status_code == 400


def test_attendance_taken_ahead_does_not_raise_the_rate(app, make_event, make_registration,
                                                        municipality):
    year = THIS_YEAR - 1
    # The report as it stood on 1 July of that year.
    then = brussels_to_utc(date(year, 7, 1), time(12))
    held = make_event(starts_at=then - timedelta(days=2))
    coming = make_event(starts_at=then + timedelta(days=2))
    been = people_from(held, municipality("Gent"), 2, make_registration)
    ahead = people_from(coming, municipality("Genk"), 1, make_registration)
    db.session.add_all([
        Attendance(registration_id=been[0].id, event_id=held.id, is_present=True),
        Attendance(registration_id=ahead[0].id, event_id=coming.id, is_present=True),
    ])
    db.session.commit()

    report = yearly_report(year, then)

    assert (report.present, report.registered_for_ended, report.registered) == (1, 2, 3)
    assert report.attendance_rate == 0.5


def test_the_year_shown_is_the_year_chosen_in_the_list(staff_client):
    page = staff_client.get(f"/beheer/rapport?jaar={THIS_YEAR + 1}").get_data(as_text=True)
    assert f'<option value="{THIS_YEAR + 1}" selected>' in page
    assert f'<option value="{THIS_YEAR}">' in page
