"""Dutch labels for the enums, the way officials read them."""

from babel.numbers import format_percent

from scheduler.models import Audience, EventKind, EventStatus, RegistrationStatus, Role

KIND = {
    EventKind.training: "Vorming",
    EventKind.visit: "Werkbezoek",
    EventKind.intervision: "Intervisiemoment",
}
KIND_PLURAL = {
    EventKind.training: "Vormingen",
    EventKind.visit: "Werkbezoeken",
    EventKind.intervision: "Intervisiemomenten",
}
AUDIENCE = {
    Audience.mandatarissen: "Mandatarissen",
    Audience.medewerkers: "Medewerkers",
    Audience.both: "Mandatarissen en medewerkers",
}
ROLE = {
    Role.mandataris: "Mandataris (burgemeester, schepen, raadslid)",
    Role.medewerker: "Medewerker",
    Role.other: "Andere",
}
REGISTRATION_STATUS = {
    RegistrationStatus.confirmed: "Ingeschreven",
    RegistrationStatus.waiting: "Op de wachtlijst",
    RegistrationStatus.pending: "Wacht op goedkeuring",
    RegistrationStatus.cancelled: "Geannuleerd",
    RegistrationStatus.declined: "Niet weerhouden",
    RegistrationStatus.handed_over: "Overgedragen",
    RegistrationStatus.handover_requested: "Overname wacht op goedkeuring",
}
EVENT_STATUS = {
    EventStatus.draft: "Ontwerp",
    EventStatus.published: "Gepubliceerd",
    EventStatus.cancelled: "Geannuleerd",
}

PROVINCES = ("Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant", "West-Vlaanderen")

# What a mail is about, for staff and an access request, until its subject is composed.
MAIL_KIND = {
    "registration_confirmed": "Bevestiging van de inschrijving",
    "registration_waiting": "Op de wachtlijst",
    "registration_pending": "Inschrijving wacht op goedkeuring",
    "promoted": "Doorgeschoven van de wachtlijst",
    "promoted_pending": "Doorgeschoven, wacht op goedkeuring",
    "approved": "Inschrijving goedgekeurd",
    "declined": "Inschrijving niet aanvaard",
    "cancelled_by_person": "Annulering",
    "event_cancelled": "Activiteit geannuleerd",
    "event_changed": "Activiteit gewijzigd",
    "session_added": "Nieuwe bijeenkomst",
    "reminder": "Herinnering",
    "already_registered": "Al ingeschreven",
    "handover_requested": "Overdracht gevraagd",
    "handover_refused": "Overdracht geweigerd",
    "handed_over": "Plaats overgedragen",
    "handover_received": "Plaats overgenomen",
    "handover_not_needed": "Overdracht niet nodig",
    "overview": "Je inschrijvingen",
    "attestation": "Attest van deelname",
    "attestation_withdrawn": "Attest geldt niet meer",
    "evaluation": "Vragenlijst na de activiteit",
    "materials_added": "Nieuw materiaal",
}
MAIL_STATUS = {
    "pending": "in de wachtrij",
    "sent": "verzonden",
    "failed": "mislukt",
    "superseded": "niet verzonden: een nieuwere mail ging in de plaats",
}


def mail_title(message) -> str:
    """The subject of a mail, or what it is about while it is not yet composed."""
    return message.subject or MAIL_KIND.get(message.kind, message.kind)


ERRORS = {
    400: ("Ongeldige aanvraag",
          "We konden deze aanvraag niet verwerken. Controleer het adres of het formulier en "
          "probeer opnieuw."),
    403: ("Geen toegang",
          "Deze pagina of actie is alleen voor beheerders. Vraag een beheerder als je ze nodig "
          "hebt."),
    404: ("Pagina niet gevonden",
          "Deze pagina bestaat niet (meer). Misschien is de link onvolledig of is de activiteit "
          "verwijderd."),
    405: ("Niet toegestaan", "Deze actie kan niet op deze manier."),
    410: ("Niet meer beschikbaar", "Deze link is verlopen of niet meer geldig."),
    429: ("Even geduld",
          "Je hebt in korte tijd te veel aanvragen gedaan. Wacht even en probeer het dan opnieuw."),
    503: ("Even niet bereikbaar",
          "De agenda is heel even niet bereikbaar, door onderhoud of drukte. Er is niets "
          "verloren gegaan: probeer het over een halve minuut opnieuw."),
    500: ("Er ging iets mis",
          "Er liep iets fout aan onze kant. Probeer het later opnieuw of mail de helpdesk."),
}
SESSION_EXPIRED = (
    "Je sessie is verlopen",
    "Het formulier was te lang open of je cookies zijn gewist. "
    "Herlaad de pagina en probeer opnieuw.",
)
CROSS_ORIGIN = (
    "Formulier van een andere website",
    "Dit formulier werd vanaf een andere website naar ons verstuurd. Om je te beschermen "
    "verwerken we dat niet: er is niets opgeslagen. Open de pagina op onze eigen website en "
    "probeer daar opnieuw.",
)


def describe_error(code: int) -> tuple[str, str]:
    """The Dutch heading and explanation shown for an HTTP error."""
    return ERRORS.get(code, ERRORS[500])


def percent(share: float) -> str:
    """A share as Belgian Dutch writes it: 83,3 %."""
    return format_percent(share, "#,##0.0\u00a0%", locale="nl_BE")
