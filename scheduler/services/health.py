"""Whether this process can serve visitors: the database answers in time, its schema is the
one the code expects, and how the mail queue is doing. Counts and ages only, never a person."""

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Engine, func, inspect, select, text

from scheduler.extensions import db
from scheduler.models import MailStatus, OutboxMessage, utcnow


@dataclass(frozen=True)
class Readiness:
    database: str  # "ok", "unreachable", "slow"
    schema: str  # "current", "ahead", "behind", "unknown"
    oldest_pending_mail_seconds: int | None = None
    failed_mails: int | None = None

    @property
    def ready(self) -> bool:
        return self.database == "ok" and self.schema in ("current", "ahead")

    def as_json(self) -> dict:
        return {
            "status": "ok" if self.ready else "unavailable",
            "database": self.database,
            "schema": self.schema,
            "mail": {"oldest_pending_seconds": self.oldest_pending_mail_seconds,
                     "failed": self.failed_mails},
        }


@lru_cache(maxsize=1)
def _scripts(migrations_folder: str) -> ScriptDirectory:
    return ScriptDirectory(migrations_folder)


def knows_revision(revision: str) -> bool:
    """Whether this release's migrations include ``revision``."""
    try:
        _scripts(current_app.extensions["migrate"].directory).get_revision(revision)
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        return False
    return True


def schema_state(revisions: frozenset[str]) -> str:
    """"current" at the code's latest migration, "behind" at an older one, "ahead" when the
    database was migrated by a newer release than this process (during a rollout: it serves)."""
    scripts = _scripts(current_app.extensions["migrate"].directory)
    if revisions == frozenset(scripts.get_heads()):
        return "current"
    return "behind" if all(knows_revision(revision) for revision in revisions) else "ahead"


# One probe at a time per database: a monitor polling a hanging database must not pile up
# threads and connections.
_probing = threading.Lock()
_last_probe: "weakref.WeakKeyDictionary[Engine, threading.Thread]" = weakref.WeakKeyDictionary()


def readiness(now: datetime | None = None) -> Readiness:
    """Probe the database on a thread of its own, so a hanging server costs a monitor
    READINESS_DEADLINE_MS at most."""
    now = now or utcnow()
    engine = db.engine
    with _probing:
        running = _last_probe.get(engine)
        if running is not None and running.is_alive():
            return Readiness(database="slow", schema="unknown")
        outcome: dict = {}
        probe = threading.Thread(target=_probe, args=(engine, outcome), daemon=True)
        probe.start()
        _last_probe[engine] = probe
    probe.join(current_app.config["READINESS_DEADLINE_MS"] / 1000)
    if probe.is_alive():
        return Readiness(database="slow", schema="unknown")
    return _readiness_from(outcome, now)


def _readiness_from(outcome: dict, now: datetime) -> Readiness:
    if "error" in outcome:
        return Readiness(database="unreachable", schema="unknown")
    oldest = outcome["oldest_pending"]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return Readiness(
        database="ok",
        schema=schema_state(outcome["revisions"]),
        oldest_pending_mail_seconds=max(0, int((now - oldest).total_seconds()))
        if oldest is not None else None,
        failed_mails=outcome["failed"],
    )


def _probe(engine: Engine, outcome: dict) -> None:
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            if not inspector.has_table("alembic_version"):
                # Reachable, never migrated: `flask db upgrade` is what it needs.
                outcome.update(revisions=frozenset(), oldest_pending=None, failed=None)
                return
            outcome["revisions"] = frozenset(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
            outcome["oldest_pending"] = connection.execute(
                select(func.min(OutboxMessage.created_at))
                .where(OutboxMessage.status == MailStatus.pending)).scalar()
            outcome["failed"] = connection.execute(
                select(func.count(OutboxMessage.id))
                .where(OutboxMessage.status == MailStatus.failed)).scalar()
    except Exception as error:  # noqa: BLE001 - any failure means: not ready
        outcome["error"] = type(error).__name__
