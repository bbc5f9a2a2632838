"""Finding a row by the unguessable token of a personal link, without leaking how much matched."""

import hmac

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from scheduler.extensions import db

# Tokens are 32 characters (models.new_token); anything much longer is not worth a query.
MAX_TOKEN_LENGTH = 64


def find_by_token(query: Select, column: InstrumentedAttribute, token: str):
    """The one row of ``query`` whose ``column`` equals ``token``, or None.

    The index finds the row; the final comparison is constant-time, so the answer's timing
    does not tell how much of a guessed token was right.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    found = db.session.scalars(query.where(column == token)).unique().one_or_none()
    if found is None or not hmac.compare_digest(getattr(found, column.key), token):
        return None
    return found
