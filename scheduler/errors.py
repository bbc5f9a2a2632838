"""Domain exceptions raised by the services; nothing here knows about Flask."""


class SchedulerError(Exception):
    """Base of the rules the services enforce; the message is Dutch and meant for the user."""

    message = "Dit kan niet."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class RegistrationClosedError(SchedulerError):
    message = "De inschrijvingen voor deze activiteit zijn gesloten."


class RegistrationNotOpenYetError(SchedulerError):
    message = "De inschrijvingen voor deze activiteit zijn nog niet geopend."


class EventNotOpenError(SchedulerError):
    message = "Voor deze activiteit kan je niet (meer) inschrijven."


class EditConflictError(SchedulerError):
    message = ("Iemand anders heeft dit intussen gewijzigd. Herlaad de pagina en breng je "
               "wijziging opnieuw aan.")


class AlreadyCancelledError(SchedulerError):
    message = "Deze inschrijving is al geannuleerd."


class NoPlaceLeftError(SchedulerError):
    message = "Er is geen plaats vrij. Verhoog eerst de capaciteit of annuleer een inschrijving."


class SlugTakenError(SchedulerError):
    message = "Dit webadres is al in gebruik voor een andere activiteit."


class NotDeletableError(SchedulerError):
    message = "Alleen een ontwerp zonder inschrijvingen kan verwijderd worden."


class ScheduleChangeRefusedError(SchedulerError):
    message = "Deze activiteit kan niet verplaatst worden."
