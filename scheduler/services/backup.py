"""Backups that restore: SQLite through its online backup API (consistent while people
register), PostgreSQL through pg_dump's custom format."""

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from scheduler.errors import SchedulerError
from scheduler.services.health import knows_revision

# The tables whose rows mean a database is in use: restoring over it would lose them.
TABLES_IN_USE = ("events", "series", "registrations", "staff_users", "training_requests")


class BackupError(SchedulerError):
    message = "De back-up is niet gelukt."


def create(engine: Engine, target: Path) -> Path:
    """Write a consistent copy of the database to ``target``, readable by its owner only (it
    holds everyone's personal data); returns the file written. A copy that fails halfway
    leaves nothing behind."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} bestaat al; kies een nieuwe bestandsnaam.")
    partial = target.with_name(f".{target.name}.deels")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.touch(mode=0o600)
        partial.chmod(0o600)
        if engine.dialect.name == "sqlite":
            _copy_sqlite(engine.url.database, partial)
        elif engine.dialect.name == "postgresql":
            _dump_postgresql(engine, partial)
        else:
            raise BackupError(f"Geen back-up mogelijk voor {engine.dialect.name}.")
        partial.rename(target)
    except (OSError, sqlite3.Error) as error:
        raise BackupError(f"De back-up naar {target} is niet gelukt: {error}") from error
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return target


def restore(engine: Engine, source: Path, force: bool = False) -> None:
    """Put a SQLite backup in place of the database. Refused over a database that holds
    activities, registrations or accounts unless ``force``; PostgreSQL restores with
    pg_restore (see the README)."""
    source = Path(source)
    if engine.dialect.name != "sqlite":
        raise BackupError("Zet een PostgreSQL-back-up terug met pg_restore (zie de README).")
    if not source.is_file():
        raise BackupError(f"{source} bestaat niet of is geen bestand.")
    revision = _revision_of(source)
    if revision is None:
        raise BackupError(f"{source} is geen back-up van deze toepassing.")
    if not knows_revision(revision):
        raise BackupError(f"{source} komt van een nieuwere versie van de toepassing "
                          f"(migratie {revision}); installeer die eerst.")
    database = Path(engine.url.database)
    if not force and _holds_data(database):
        raise BackupError(f"{database} bevat al gegevens; gebruik --force om ze te vervangen.")
    try:
        _copy_sqlite(str(source), database)
    except sqlite3.Error as error:
        raise BackupError(f"Terugzetten is niet gelukt ({error}); stop eerst de toepassing.") \
            from error


def _copy_sqlite(source: str, target: Path) -> None:
    """One step of SQLite's backup API: a snapshot as of one moment, whatever commits meanwhile."""
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as origin, \
            contextlib.closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _revision_of(path: Path) -> str | None:
    """The migration a SQLite file of this application is at; None for any other file."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def _holds_data(path: Path) -> bool:
    if not path.exists():
        return False
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        present = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        return any(connection.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]
                   for table in TABLES_IN_USE if table in present)


def _dump_postgresql(engine: Engine, target: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is niet geïnstalleerd (Debian: apt-get install "
                          "postgresql-client); maak de back-up met de tools van je databank.")
    url = make_url(engine.url)
    # The password goes through the environment: a command line is visible to every user.
    environment = {**os.environ, "PGPASSWORD": url.password or os.environ.get("PGPASSWORD", "")}
    address = url.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    finished = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={address}"],
        env=environment, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        raise BackupError(f"pg_dump meldt: {finished.stderr.strip()[:500]}")
