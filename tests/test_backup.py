"""Backups that restore: one taken in the middle of a rush holds every registration committed
before it, and the restored database serves the agenda."""

import sqlite3
import subprocess
import threading

import pytest
from sqlalchemy import select

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import Registration
from scheduler.services import registrations
from tests.fixtures.databases import base_config, empty_postgres, fresh_sqlite
from tests.helpers import applicant, published_training

THREADS, EACH = 4, 12


def running(database_url: str, request, database: str):
    request.node.user_properties.append(("database", database))
    app = create_app(base_config(database_url))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sqlite_app(sqlite_template, tmp_path, request):
    yield from running(fresh_sqlite(sqlite_template, tmp_path), request, "sqlite")


@pytest.fixture
def postgres_app(postgres_url, request):
    empty_postgres(postgres_url)
    yield from running(postgres_url, request, "postgresql")




def rush(app, event_id: int, committed: list[int], start: threading.Event) -> list:
    """Registrations from several threads at once; each id is noted once its commit returned."""
    failures: list = []

    def register(thread: int) -> None:
        with app.app_context():
            start.wait()
            try:
                for number in range(EACH):
                    outcome = registrations.register(event_id, applicant(
                        thread * 100 + number, email=f"r{thread}-{number}@example.org"))
                    committed.append(outcome.registration.id)
            except Exception as error:  # noqa: BLE001 - reported by the test
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    return threads, failures


def test_a_backup_in_the_middle_of_a_rush_restores_what_was_committed(sqlite_app, tmp_path):
    app, runner = sqlite_app, sqlite_app.test_cli_runner()
    event_id = published_training(capacity=THREADS * EACH).id
    committed: list[int] = []
    start = threading.Event()
    threads, failures = rush(app, event_id, committed, start)
    start.set()
    while len(committed) < THREADS * EACH // 3:
        threading.Event().wait(0.005)
    before = set(committed)
    copy = tmp_path / "midden.sqlite"
    result = runner.invoke(args=["backup", "create", str(copy)])
    assert result.exit_code == 0, result.output
    for thread in threads:
        thread.join()
    assert failures == []
    restored = create_app(base_config(f"sqlite:///{tmp_path / 'teruggezet.sqlite'}"))
    with restored.app_context():
        result = restored.test_cli_runner().invoke(args=["backup", "restore", str(copy)])
        assert result.exit_code == 0, result.output
        kept = set(db.session.scalars(select(Registration.id)))
        db.session.remove()
    assert before <= kept and len(kept) < THREADS * EACH
    visitor = restored.test_client()
    agenda = visitor.get("/")
    assert agenda.status_code == 200 and "Vorming" in agenda.text
    assert visitor.get("/readyz").json["status"] == "ok"
    with restored.app_context():
        db.engine.dispose()


def test_a_restore_never_overwrites_data_by_accident(sqlite_app, tmp_path):
    runner = sqlite_app.test_cli_runner()
    published_training(capacity=5)
    copy = tmp_path / "kopie.sqlite"
    assert runner.invoke(args=["backup", "create", str(copy)]).exit_code == 0
    again = runner.invoke(args=["backup", "create", str(copy)])
    assert again.exit_code != 0 and "bestaat al" in again.output
    refused = runner.invoke(args=["backup", "restore", str(copy)])
    assert refused.exit_code != 0 and "--force" in refused.output
    not_ours = tmp_path / "iets.txt"
    not_ours.write_text("geen databank")
    result = runner.invoke(args=["backup", "restore", "--force", str(not_ours)])
    assert result.exit_code != 0 and "geen back-up" in result.output
    assert runner.invoke(args=["backup", "restore", "--force", str(copy)]).exit_code == 0
    missing = runner.invoke(args=["backup", "restore", str(tmp_path / "weg.sqlite")])
    assert missing.exit_code != 0 and "bestaat niet" in missing.output


def test_a_backup_that_cannot_be_written_says_so_and_leaves_nothing(sqlite_app, tmp_path):
    runner = sqlite_app.test_cli_runner()
    (tmp_path / "een-bestand").write_text("geen map")
    failed = runner.invoke(args=["backup", "create", str(tmp_path / "een-bestand" / "k.sqlite")])
    assert failed.exit_code != 0 and "niet gelukt" in failed.output
    assert "Traceback" not in failed.output
    assert list(tmp_path.rglob("*deels*")) == []


def test_a_backup_is_for_its_owner_only_and_a_newer_release_is_not_restored(sqlite_app,
                                                                             tmp_path):
    runner = sqlite_app.test_cli_runner()
    copy = tmp_path / "kopie.sqlite"
    assert runner.invoke(args=["backup", "create", str(copy)]).exit_code == 0
    assert copy.stat().st_mode & 0o077 == 0
    with sqlite3.connect(copy) as newer:
        newer.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    refused = runner.invoke(args=["backup", "restore", "--force", str(copy)])
    assert refused.exit_code != 0 and "nieuwere versie" in refused.output


def test_postgresql_is_dumped_in_pg_dumps_custom_format(postgres_app, tmp_path, monkeypatch):
    runner = postgres_app.test_cli_runner()
    registrations.register(published_training(capacity=5).id, applicant(1))
    dump = tmp_path / "scheduler.dump"
    result = runner.invoke(args=["backup", "create", str(dump)])
    assert result.exit_code == 0, result.output
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True,
                             text=True, check=True).stdout
    assert "TABLE DATA public registrations" in listing
    monkeypatch.setenv("PATH", str(tmp_path))
    missing = runner.invoke(args=["backup", "create", str(tmp_path / "zonder.dump")])
    assert missing.exit_code != 0 and "pg_dump is niet geïnstalleerd" in missing.output
