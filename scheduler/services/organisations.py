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
