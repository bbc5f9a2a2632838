"""Realistic demo content for the programme, drawn from its public offering page."""

import io
from datetime import UTC, date, datetime, time, timedelta

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import func, select

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    Audience,
    EvaluationAnswer,
    EvaluationResponse,
    Event,
    EventKind,
    EventStatus,
    Organisation,
    Registration,
    RegistrationStatus,
    RequestStatus,
    Role,
    Series,
    Theme,
    TrainingRequest,
    utcnow,
)
from scheduler.services import (
    attestation_document,
    attestations,
    evaluations,
    materials,
    places,
)

THEMES = {
    "radicalisering": "Radicalisering",
    "polarisering": "Polarisering",
    "informatiedoorstroming": "Informatiedoorstroming en LIVC",
    "lokaal-beleid": "Lokaal beleid",
    "preventie": "Preventie",
}

BASIC_PACKAGE = """De vorming bestaat uit een vast kader dat we aanvullen met jullie specifieke lokale noden en vragen.

We behandelen:

- **Overzicht van de thematiek**: diverse vormen van radicalisering, oorzaken, achtergrond, profielen, de situatie in België en een aantal indicatoren.
- **Het aanbod van het programma**: werkbezoeken, intervisiemomenten en de helpdesk.
- **De informatieflux**: van de Nationale Taskforce over de Local Taskforce tot de Lokale Integrale Veiligheidscel (LIVC). Welke informatie krijgt de burgemeester? Wat mag er op een LIVC gedeeld worden? Voorbeelden van samenwerkingsprotocollen.
- **Voorbeelden van lokale aanpak**: hoe pakken andere gemeenten het aan, wat zijn de valkuilen, hoe start je, informatie-uitwisseling en juridisch kader.
- **Wegwijs in het sectorale aanbod** van (boven)lokale initiatieven.
"""

INTERVISION = """Een vaste groep collega's bespreekt eigen casussen in een vertrouwelijke sfeer, begeleid door een ervaren moderator.

Wat in de groep besproken wordt, blijft in de groep. Breng een situatie mee waar je mee worstelt; we werken met een vaste intervisiemethode.
"""

FIRST_NAMES = ("An", "Bram", "Charlotte", "Dries", "Els", "Fatima", "Geert", "Hanne", "Ilias",
               "Jolien", "Karim", "Lotte", "Mehdi", "Nele", "Olivier", "Pieter")
LAST_NAMES = ("Peeters", "Janssens", "Maes", "Jacobs", "Willems", "Claes", "Goossens", "Wouters",
              "De Smet", "El Amrani", "Vermeulen", "Van den Broeck")


def _weekday(day: date) -> date:
    """The same day, or the Monday after it when it falls in a weekend."""
    return day + timedelta(days=max(0, 7 - day.weekday())) if day.weekday() >= 5 else day


def _at(today: date, days: int, start: time, end: time) -> tuple[datetime, datetime]:
    day = _weekday(today + timedelta(days=days))
    return brussels_to_utc(day, start), brussels_to_utc(day, end)


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def seed(only_if_empty: bool = False, now: datetime | None = None) -> int:
    """Add the demo themes, activities, series and registrations that are missing.

    Activities are identified by slug, so a second run adds nothing.
    """
    if only_if_empty and db.session.scalar(select(func.count()).select_from(Event)):
        return 0
    now = now or utcnow()
    today = local(now).date()
    themes = _ensure_themes()
    towns = {
        org.name: org
        for org in db.session.scalars(select(Organisation).where(Organisation.nis_code.is_not(None)))
    }
    existing = set(db.session.scalars(select(Event.slug)))
    created = 0

    def add(slug: str, **fields) -> Event | None:
        nonlocal created
        if slug in existing:
            return None
        theme_slugs = fields.pop("themes", ())
        town = fields.pop("town", None)
        event = Event(slug=slug, status=fields.pop("status", EventStatus.published), **fields)
        event.themes = [themes[name] for name in theme_slugs]
        event.municipality = towns.get(town) if town else None
        db.session.add(event)
        existing.add(slug)
        created += 1
        return event

    morning, noon, afternoon, late = time(9, 30), time(12, 30), time(13, 30), time(16, 0)
    spring_change = _last_sunday(today.year + (1 if today.month > 3 else 0), 3)

    start, end = _at(today, 12, morning, noon)
    add("vorming-basispakket-mechelen", kind=EventKind.training, title="Lokale aanpak van radicalisering: basispakket",
        summary="De gratis basisvorming voor mandatarissen en medewerkers die hun lokale aanpak willen opstarten.",
        description=BASIC_PACKAGE, starts_at=start, ends_at=end, venue="Stadhuis, Schepenzaal",
        address="Grote Markt 21, 2800 Mechelen", town="Mechelen", capacity=30, audience=Audience.both,
        registration_closes_at=start - timedelta(days=2), themes=("radicalisering", "lokaal-beleid"))

    start, end = _at(today, 45, afternoon, late)
    add("vorming-basispakket-genk", kind=EventKind.training, title="Lokale aanpak van radicalisering: basispakket (Limburg)",
        summary="Basisvorming voor de Limburgse besturen, aangevuld met jullie lokale vragen.",
        description=BASIC_PACKAGE, starts_at=start, ends_at=end, venue="Stadsbibliotheek Genk",
        address="Stadsplein 1, 3600 Genk", town="Genk", capacity=25, audience=Audience.both,
        themes=("radicalisering",))

    start = brussels_to_utc(spring_change - timedelta(days=2), time(13, 30))
    end = brussels_to_utc(spring_change - timedelta(days=2), time(16, 30))
    add("vorming-informatiedoorstroming-brugge", kind=EventKind.training,
        title="Informatiedoorstroming: van Local Taskforce tot LIVC",
        summary="Welke informatie krijgt de burgemeester, en wat mag er op een LIVC gedeeld worden?",
        description="Een verdieping van de informatieflux uit het basispakket, met voorbeelden van samenwerkingsprotocollen en het juridisch kader.",
        starts_at=start, ends_at=end, venue="Provinciaal Hof", address="Markt 3, 8000 Brugge",
        town="Brugge", capacity=40, audience=Audience.mandatarissen,
        themes=("informatiedoorstroming", "lokaal-beleid"))

    start = brussels_to_utc(spring_change + timedelta(days=3), time(9, 0))
    end = brussels_to_utc(spring_change + timedelta(days=3), time(12, 0))
    add("vorming-polarisering-online", kind=EventKind.training, title="Omgaan met polarisering in je gemeente",
        summary="Online vorming over polarisering en het lokale weefsel. De inschrijvingen openen later.",
        description="Hoe herken je polarisering, en wat kan een lokaal bestuur doen om verbinding te maken?",
        starts_at=start, ends_at=end, online_url="https://vergadering.example.org/polarisering",
        capacity=60, audience=Audience.medewerkers, registration_opens_at=now + timedelta(days=30),
        themes=("polarisering",))

    start, end = _at(today, 20, afternoon, late)
    full_visit = add("werkbezoek-livc-vilvoorde", kind=EventKind.visit, title="Werkbezoek: de LIVC van Vilvoorde",
        summary="Hoe werkt een Lokale Integrale Veiligheidscel in de praktijk? Een kijkje bij een ervaren stad.",
        description="We worden ontvangen door de preventiedienst en de LIVC-coördinator. Kleine groep, veel ruimte voor vragen.",
        starts_at=start, ends_at=end, venue="Preventiedienst Vilvoorde", address="Grote Markt 1, 1800 Vilvoorde",
        town="Vilvoorde", capacity=4, max_per_organisation=2, audience=Audience.medewerkers,
        themes=("informatiedoorstroming", "preventie"))

    start, end = _at(today, 33, morning, noon)
    add("werkbezoek-preventie-antwerpen", kind=EventKind.visit, title="Werkbezoek: preventie en vroegdetectie in Antwerpen",
        summary="Het Antwerpse team toont hoe signalen van radicalisering worden opgevolgd.",
        description="Voor preventiewerkers en LIVC-coördinatoren. Inschrijvingen worden nagekeken door het team.",
        starts_at=start, ends_at=end, venue="Stadskantoor", address="Francis Wellesplein 1, 2018 Antwerpen",
        town="Antwerpen", capacity=12, is_moderated=True, audience=Audience.medewerkers,
        themes=("radicalisering", "preventie"))

    start, end = _at(today, 26, afternoon, late)
    cancelled = add("werkbezoek-polarisering-gent", kind=EventKind.visit, title="Werkbezoek: polarisering in de wijk (Gent)",
        summary="Wijkwerking en verbinding in een superdiverse buurt.", description="Bezoek aan een wijkproject.",
        starts_at=start, ends_at=end, venue="Buurtcentrum", address="Kerkstraat 108, 9000 Gent", town="Gent",
        capacity=15, status=EventStatus.cancelled, themes=("polarisering",))
    if cancelled:
        cancelled.sequence = 1
        cancelled.cancelled_at = now
        cancelled.cancellation_reason = "De gastorganisatie kan ons op die dag niet ontvangen. We plannen een nieuwe datum."

    start, end = _at(today, -40, morning, noon)
    leuven = add("vorming-basispakket-leuven", kind=EventKind.training, title="Lokale aanpak van radicalisering: basispakket (Leuven)",
        summary="Basisvorming voor de besturen uit Vlaams-Brabant.", description=BASIC_PACKAGE,
        starts_at=start, ends_at=end, venue="Provinciehuis", address="Provincieplein 1, 3010 Leuven",
        town="Leuven", capacity=30, themes=("radicalisering",))
    start, end = _at(today, -75, afternoon, late)
    kortrijk = add("werkbezoek-kortrijk", kind=EventKind.visit, title="Werkbezoek: de lokale aanpak in Kortrijk",
        summary="Samenwerking tussen preventie, jeugdwerk en politie.", description="Een terugblik op een geslaagd werkbezoek.",
        starts_at=start, ends_at=end, venue="Stadhuis", address="Grote Markt 54, 8500 Kortrijk", town="Kortrijk",
        capacity=15, themes=("preventie",))

    livc_group = _add_series(
        "intervisie-livc-coordinatoren", "Intervisiegroep LIVC-coördinatoren",
        "Vijf keer per jaar bespreken LIVC-coördinatoren hun eigen casussen.",
        capacity=12, max_per_organisation=1, is_moderated=True,
        first_day=today + timedelta(days=17), every_days=63, count=5, town=towns.get("Aalst"),
        themes=[themes["informatiedoorstroming"]], add=add,
    )
    _add_series(
        "intervisie-preventiewerkers", "Intervisiegroep preventiewerkers",
        "Preventiewerkers leren van elkaars aanpak bij signalen van radicalisering.",
        capacity=10, max_per_organisation=2, is_moderated=False,
        first_day=today + timedelta(days=38), every_days=56, count=4, town=towns.get("Hasselt"),
        themes=[themes["preventie"], themes["radicalisering"]], add=add,
    )

    if full_visit is not None:
        _add_people(full_visit, _spread(towns), confirmed=4, waiting=2, now=now)
    if livc_group is not None:
        _add_people(livc_group, _spread(towns), confirmed=3, waiting=0, pending=2, now=now)
    # Activities that took place, with people from every province and their attendance, so the
    # reach map and the yearly report have something to show: the host town sends the most.
    for held, host, count, offset, spread in ((leuven, "Leuven", 24, 5, 9),
                                              (kortrijk, "Kortrijk", 12, 101, 4)):
        if held is not None:
            organisations = [towns[host]] * 3 + _spread(towns, offset)[:spread]
            people = _add_people(held, organisations, confirmed=count, waiting=0,
                                 now=held.starts_at, mandatarissen=True)
            db.session.flush()
            db.session.add_all(
                Attendance(registration_id=person.id, event_id=held.id,
                           is_present=number % 6 != 5)
                for number, person in enumerate(people))
            db.session.flush()
            _after_the_activity(held, people, now)
    if livc_group is not None:
        materials.add_link(livc_group, "Zo werkt de intervisiemethode",
                           "https://www.vvsg.be", None, now=now)
    _add_training_requests(towns, now)
    db.session.commit()
    return created


# Open answers as officials write them, for the demo's evaluations.
USEFUL = ("De voorbeelden uit andere gemeenten.", "Het overzicht van wie wat mag delen op de LIVC.",
          "Concrete tips om een LIVC op te starten.", "Het gesprek met collega's uit de regio.",
          "De casussen: heel herkenbaar.")
IMPROVE = ("Iets meer tijd voor vragen.", "De presentatie vooraf doorsturen.",
           "Een lunch zou fijn zijn.", "")


def _after_the_activity(held: Event, people: list[Registration], now: datetime) -> None:
    """What follows an activity: attestations (mailed for the training, whose attendance is
    final; not yet for the visit), anonymous evaluation answers and the materials shown."""
    present = [person for number, person in enumerate(people) if number % 6 != 5]
    if held.kind is EventKind.training:
        attestations.make_final(held, None, now)
        materials.add_file(held, "Presentatie basispakket", io.BytesIO(_slides(held)),
                           "basispakket-radicalisering.pdf", None, now=held.starts_at)
        materials.add_link(held, "VVSG: radicalisering en polarisering", "https://www.vvsg.be",
                           None, now=held.starts_at)
    else:
        attestations.bring_all_up_to_date(present)
        materials.add_link(held, "Verslag van het werkbezoek", "https://www.vvsg.be", None,
                           now=held.starts_at)
    questions = evaluations.active_questions(held.kind)
    themes = evaluations.themes()
    day = local(held.ends_at).date()
    for number in range(len(present) * 2 // 3):
        response = EvaluationResponse(event_id=held.id,
                                      submitted_on=day + timedelta(days=1 + number % 3))
        for position, question in enumerate(questions):
            if question.answer_type == "score":
                response.answers.append(EvaluationAnswer(
                    question=question, score=(5, 4, 4, 3, 5, 2, 4)[(number + position) % 7]))
            elif question.answer_type == "theme" and themes:
                theme = themes[(number * 2 + position) % len(themes)]
                response.answers.append(EvaluationAnswer(question=question, theme=theme,
                                                         text=theme.name))
            else:
                words = (USEFUL if position % 2 == 0 else IMPROVE)[number % 4]
                if words:
                    response.answers.append(EvaluationAnswer(question=question, text=words))
        db.session.add(response)


def _slides(held: Event) -> bytes:
    """A short slide deck as a PDF, as a trainer would share it."""
    slides = FPDF(orientation="landscape", format="A4")
    slides.add_font("DejaVuSans", "", attestation_document.FONTS / "DejaVuSans.ttf")
    slides.add_font("DejaVuSans", "B", attestation_document.FONTS / "DejaVuSans-Bold.ttf")
    for heading, lines in (
            (held.title, ("Basisvorming voor lokale besturen", local(held.starts_at)
                          .strftime("%d-%m-%Y"))),
            ("Wat is radicalisering?", ("Vormen, oorzaken en achtergrond", "Profielen",
                                        "Signalen herkennen, zonder te stigmatiseren")),
            ("De informatieflux", ("Nationale en Local Taskforce", "De LIVC: wie deelt wat?",
                                   "Het beroepsgeheim en zijn grenzen")),
    ):
        slides.add_page()
        slides.set_font("DejaVuSans", "B", 28)
        slides.multi_cell(0, 14, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        slides.ln(8)
        slides.set_font("DejaVuSans", "", 18)
        for line in lines:
            slides.multi_cell(0, 10, f"• {line}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(slides.output())


def _add_training_requests(towns: dict[str, Organisation], now: datetime) -> None:
    """A few requests for the training on site, one of them planned, unless there are any."""
    if db.session.scalar(select(func.count()).select_from(TrainingRequest)):
        return
    for days, town, status, count in ((50, "Lier", RequestStatus.planned, 25),
                                      (20, "Ieper", RequestStatus.in_discussion, 15),
                                      (3, "Maasmechelen", RequestStatus.new, 30)):
        db.session.add(TrainingRequest(
            organisation=towns[town], contact_name=f"Preventiedienst {town}",
            email=f"preventie@{town.lower()}.example.org", audience=Audience.both,
            expected_count=count, preferred_dates="Een weekdag in de voormiddag.",
            local_questions="Hoe zetten we een LIVC op, en wie zit erin?", status=status,
            created_at=now - timedelta(days=days)))


def _ensure_themes() -> dict[str, Theme]:
    themes = {theme.slug: theme for theme in db.session.scalars(select(Theme))}
    for slug, name in THEMES.items():
        if slug not in themes:
            themes[slug] = Theme(slug=slug, name=name)
            db.session.add(themes[slug])
    return themes


def _add_series(slug, title, summary, *, capacity, max_per_organisation, is_moderated, first_day,
                every_days, count, town, themes, add) -> Series | None:
    if db.session.scalar(select(Series).where(Series.slug == slug)):
        return None
    series = Series(slug=slug, title=title, summary=summary, kind=EventKind.intervision,
                    capacity=capacity, max_per_organisation=max_per_organisation,
                    is_moderated=is_moderated)
    db.session.add(series)
    for number in range(1, count + 1):
        day = _weekday(first_day + timedelta(days=every_days * (number - 1)))
        event = add(f"{slug}-{number}", kind=EventKind.intervision, title=f"{title} ({number}/{count})",
                    summary=summary, description=INTERVISION, starts_at=brussels_to_utc(day, time(13, 30)),
                    ends_at=brussels_to_utc(day, time(16, 30)), venue="Vergaderzaal", address="",
                    town=town.name if town else None, audience=Audience.medewerkers)
        if event is not None:
            event.series = series
            event.themes = list(themes)
    return series


def _spread(towns: dict[str, Organisation], offset: int = 0) -> list[Organisation]:
    """The municipalities in an order that jumps across the provinces."""
    names = sorted(towns)
    return [towns[names[(offset + number * 37) % len(names)]] for number in range(len(names))]


def _add_people(target: Event | Series, organisations: list[Organisation], *, confirmed: int,
                waiting: int, now: datetime, pending: int = 0,
                mandatarissen: bool = False) -> list[Registration]:
    statuses = ([RegistrationStatus.confirmed] * confirmed + [RegistrationStatus.pending] * pending
                + [RegistrationStatus.waiting] * waiting)
    people = []
    for number, status in enumerate(statuses):
        first, last = FIRST_NAMES[number % len(FIRST_NAMES)], LAST_NAMES[number % len(LAST_NAMES)]
        email = f"{first}.{last}".lower().replace(" ", "") + "@example.org"
        elected = mandatarissen and number % 3 == 2
        registration = Registration(
            first_name=first, last_name=last, email=email, email_normalised=email,
            organisation=organisations[number % len(organisations)],
            role=Role.mandataris if elected else Role.medewerker,
            function="Schepen" if elected else "Preventiewerker", status=status,
            created_at=(now - timedelta(days=10, minutes=-number)).astimezone(UTC),
        )
        places.enrol(registration, target)
        db.session.add(registration)
        people.append(registration)
    return people
