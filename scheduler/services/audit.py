"""The audit log: a line per staff action, written in the action's own transaction.

It says what was done to which row, never to whom by address: an entry outlives the erasure
of the person it is about, so it holds no e-mail address.
"""

import re

from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import AuditEntry, StaffUser

ADDRESS = re.compile(r"[^\s<>(),;:\"']+@[^\s<>(),;:\"']+")


def without_addresses(text: str) -> str:
    return ADDRESS.sub("[adres]", text)


def record(
    staff: StaffUser | None, action: str, subject_type: str, subject_id: int | None,
    summary: str = "",
) -> None:
    """Add an audit line to the session; the caller's commit stores it with the change."""
    db.session.add(AuditEntry(
        staff_user_id=staff.id if staff else None, action=action, subject_type=subject_type,
        subject_id=subject_id, summary=without_addresses(summary)[:1000],
    ))


def recent(limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    """The latest entries first, with who did them."""
    query = (
        select(AuditEntry)
        .options(db.joinedload(AuditEntry.staff_user))
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(db.session.scalars(query))
