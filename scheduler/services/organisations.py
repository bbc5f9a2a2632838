"""Organisations: the reference list of municipalities offered when people register."""

from functools import cache

from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import Organisation


@cache
def municipality_names() -> tuple[str, ...]:
    """The names of all reference municipalities, sorted.

    The list only changes through migrations, so one query per process is enough.
    """
    return tuple(
        db.session.scalars(
            select(Organisation.name)
            .where(Organisation.nis_code.is_not(None))
            .order_by(Organisation.name)
        )
    )


def municipality_id(name: str) -> int | None:
    """The id of the reference municipality with exactly this name, ignoring case and spaces
    around it; from memory, read once per process and database (see ``municipality_names``)."""
    return _municipality_ids(db.engine.url.render_as_string()).get(name.strip().lower())


@cache
def _municipality_ids(_database: str) -> dict[str, int]:
    rows = db.session.execute(
        select(Organisation.name, Organisation.id).where(Organisation.nis_code.is_not(None)))
    return {name.lower(): organisation_id for name, organisation_id in rows}


def find_municipality(name: str) -> Organisation | None:
    """The reference municipality with exactly this name, ignoring case and spaces around it."""
    wanted = name.strip().lower()
    if not wanted:
        return None
    return db.session.scalars(
        select(Organisation).where(
            Organisation.nis_code.is_not(None), func.lower(Organisation.name) == wanted
        )
    ).first()
