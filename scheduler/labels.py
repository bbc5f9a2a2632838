"""Dutch labels for the enums, the way officials read them."""

from scheduler.models import Audience, EventKind, RegistrationStatus, Role

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
}
PROVINCES = ("Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant", "West-Vlaanderen")
