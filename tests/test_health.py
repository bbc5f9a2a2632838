"""What a monitor sees: /healthz and /readyz, with the database up, behind or gone."""

import contextlib
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


def test_a_database_behind_the_code_is_not_ready(client):
    db.session.execute(text("UPDATE alembic_version SET version_num = 'b8d4f2a6c913'"))
    db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["schema"] == "behind"


@contextlib.contextmanager
def app_with(config: dict):
    """An app of its own, whose connections are closed afterwards."""
    app = create_app(config)
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


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
