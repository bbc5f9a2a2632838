"""People: the identity of a person across registrations (their e-mail address) and their feed."""

from sqlalchemy import select

from scheduler.extensions import db, insert_or_update
from scheduler.models import Person, new_token


def normalise_email(email: str) -> str:
    """The form in which two e-mail addresses are compared: trimmed, lower case."""
    return email.strip().lower()


def ensure_person(address: str) -> None:
    """Make sure the person (and so their personal feed) exists; a no-op when it does."""
    statement = insert_or_update(Person).values(
        email_normalised=normalise_email(address), feed_token=new_token()
    )
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["email_normalised"]))


def find_person(email: str) -> Person | None:
    """The person behind an e-mail address, if they ever registered."""
    address = normalise_email(email)
    return db.session.scalars(select(Person).where(Person.email_normalised == address)).first()
