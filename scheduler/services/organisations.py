"""Organisations: the reference list of municipalities offered when people register."""

from functools import cache

from sqlalchemy import select

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
