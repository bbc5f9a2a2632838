"""What a monitor sees: /healthz and /readyz, with the database up, behind or gone."""

import contextlib
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import text

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import MailStatus, OutboxMessage, utcnow
from scheduler.services import registrations
from tests.fixtures.databases import base_config
from tests.helpers import applicant


def test_the_process_answers_without_asking_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_reports_the_schema_and_the_mail_queue_without_any_person(client, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1))
    registrations.register(event.id, applicant(2))
    first, second = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id))
    first.created_at = utcnow() - timedelta(minutes=10)
    second.status = MailStatus.failed
    db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 200
    report = response.json
    assert (report["status"], report["database"], report["schema"]) == ("ok", "ok", "current")
    assert 590 <= report["mail"]["oldest_pending_seconds"] <= 700
    assert report["mail"]["failed"] == 1
    assert "@" not in response.text and response.headers["Cache-Control"] == "no-store"


@contextlib.contextmanager
def schema_at(revision: str):
    """The database's migration revision set for a while; the shared database keeps its own."""
    (head,) = db.session.scalars(text("SELECT version_num FROM alembic_version")).all()
    db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    db.session.commit()
    try:
        yield
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()


def test_a_database_behind_the_code_is_not_ready(client):
    with schema_at("b8d4f2a6c913"):
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json["schema"] == "behind"


def test_a_database_a_newer_release_migrated_still_serves_during_the_rollout(client):
    with schema_at("0123456789ab"):
        response = client.get("/readyz")
    assert response.status_code == 200 and response.json["schema"] == "ahead"


@contextlib.contextmanager
def app_with(config: dict):
    """An app of its own, whose connections are closed afterwards."""
    app = create_app(config)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_database_never_migrated_is_reachable_and_behind(tmp_path):
    with app_with(base_config(f"sqlite:///{tmp_path}/leeg.sqlite")) as empty:
        report = empty.test_client().get("/readyz")
    assert report.status_code == 503
    assert (report.json["database"], report.json["schema"]) == ("ok", "behind")


def test_an_unreachable_database_is_not_ready(tmp_path):
    with app_with(base_config(f"sqlite:///{tmp_path}/no-such-folder/scheduler.db")) as gone:
        response = gone.test_client().get("/readyz")
        assert response.status_code == 503 and response.json["database"] == "unreachable"
        assert gone.test_client().get("/healthz").status_code == 200


def test_a_monitor_polling_hard_is_never_rate_limited(database_url):
    with app_with(base_config(database_url, RATELIMIT_ENABLED=True,
                              RATELIMIT_DEFAULT="3 per minute")) as strict:
        polled = strict.test_client()
        codes = {polled.get(path).status_code for path in ("/healthz", "/readyz") * 5}
        assert codes <= {200, 503}
        assert {polled.get("/privacy").status_code for _ in range(5)} == {200, 429}


def test_a_hanging_database_costs_a_monitor_its_deadline_and_one_probe():
    """A server that takes the connection and never answers: /healthz is not held up,
    /readyz says "slow" within READINESS_DEADLINE_MS, and polling does not pile up probes."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=50)
    port = silent.getsockname()[1]
    config = base_config(f"postgresql+psycopg://nobody@127.0.0.1:{port}/nothing",
                         READINESS_DEADLINE_MS=100)
    try:
        with app_with(config) as hanging:
            monitor = hanging.test_client()
            started = time.monotonic()
            assert monitor.get("/healthz").status_code == 200
            assert time.monotonic() - started < 0.5
            threads = threading.active_count()
            answers = [monitor.get("/readyz") for _ in range(5)]
            # The deadline set, not the default second: one probe waited for, then none.
            assert time.monotonic() - started < 0.9
            assert {(r.status_code, r.json["database"]) for r in answers} == {(503, "slow")}
            assert threading.active_count() <= threads + 1
    finally:
        silent.close()
