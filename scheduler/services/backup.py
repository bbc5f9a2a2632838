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

# The tables whose rows mean a database is in use: restoring over it would lose them.
TABLES_IN_USE = ("events", "series", "registrations", "staff_users", "training_requests")


class BackupError(SchedulerError):
    message = "De back-up is niet gelukt."


def create(engine: Engine, target: Path) -> Path:
    """Write a consistent copy of the database to ``target``; returns the file written."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} bestaat al; kies een nieuwe bestandsnaam.")
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        _copy_sqlite(engine.url.database, target)
    elif engine.dialect.name == "postgresql":
        _dump_postgresql(engine, target)
    else:
        raise BackupError(f"Geen back-up mogelijk voor {engine.dialect.name}.")
    return target


def restore(engine: Engine, source: Path, force: bool = False) -> None:
    """Put a SQLite backup in place of the database. Refused over a database that holds
    activities, registrations or accounts unless ``force``; PostgreSQL restores with
    pg_restore (see the README)."""
    source = Path(source)
    if engine.dialect.name != "sqlite":
        raise BackupError("Zet een PostgreSQL-back-up terug met pg_restore (zie de README).")
    if not source.is_file() or not _is_scheduler_database(source):
        raise BackupError(f"{source} is geen back-up van deze toepassing.")
    database = Path(engine.url.database)
    if not force and _holds_data(database):
        raise BackupError(f"{database} bevat al gegevens; gebruik --force om ze te vervangen.")
    _copy_sqlite(str(source), database)


def _copy_sqlite(source: str, target: Path) -> None:
    """One step of SQLite's backup API: a snapshot as of one moment, whatever commits meanwhile."""
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as origin, \
            contextlib.closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _is_scheduler_database(path: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            return connection.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
    except sqlite3.DatabaseError:
        return False


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
