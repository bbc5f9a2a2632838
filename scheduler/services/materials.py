"""Materials: files and links staff share with the participants of an activity or a series."""

from scheduler.models import Material, Registration


def for_registration(registration: Registration) -> list[Material]:
    """The materials this registration may see."""
    return []
