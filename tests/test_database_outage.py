"""A database that goes away: PostgreSQL restarted while requests run, SQLite locked past its
wait. Visitors get a friendly 503 with Retry-After, never a 500; the app recovers by itself;
no registration is half-written."""

import shutil
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import OutboxMessage, Registration
from tests.fixtures.databases import base_config, component_missing, migrate_database
from tests.helpers import form_data, published_training
from tests.postgres_server import PostgresServer, free_port

# Enough requests to straddle a restart; bounded so a hang cannot run away.
MOST_REQUESTS = 600


def add_event(app) -> str:
    with app.app_context():
        slug = published_training(capacity=10_000).slug
        db.session.remove()
    return slug


class Visitor:
    """Plain HTTP against a real WSGI server: what a browser sees, status and headers."""

    def __init__(self, base: str) -> None:
        self.base = base
        opener = urllib.request.build_opener(NoRedirect)
        self.open = opener.open

    def get(self, path: str) -> tuple[int, dict]:
        return self._answer(urllib.request.Request(self.base + path))

    def register(self, slug: str, number: int) -> tuple[int, dict]:
        body = urllib.parse.urlencode(form_data(number, email=f"p{number}@example.org"))
        return self._answer(urllib.request.Request(
            f"{self.base}/activiteiten/{slug}/inschrijven", data=body.encode()))

    def _answer(self, request) -> tuple[int, dict]:
        try:
            with self.open(request, timeout=30) as response:
                response.read()
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            error.read()
            return error.code, dict(error.headers)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def own_postgres():
    """A cluster of this test's own: stopping it disturbs no other test."""
    try:
        server = PostgresServer()
    except (FileNotFoundError, subprocess.CalledProcessError) as error:
        component_missing("PostgreSQL", str(error))
    try:
        server.start()
        server.create_database()
        migrate_database(server.url)
        yield server
    finally:
        server.remove()


@pytest.fixture
def serving():
    """Serve an app over real HTTP on 127.0.0.1 in a thread, for as long as the test runs."""
    servers = []

    def serve(app) -> Visitor:
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append((server, app))
        return Visitor(f"http://127.0.0.1:{server.server_port}")

    yield serve
    for server, app in servers:
        server.shutdown()
        server.server_close()
        with app.app_context():
            db.engine.dispose()


def test_a_postgresql_restart_gives_503s_then_recovers_without_half_written_registrations(
        own_postgres, serving, request):
    request.node.user_properties.append(("database", "postgresql"))
    app = create_app(base_config(own_postgres.url))
    slug = add_event(app)
    visitor = serving(app)
    answers: list[tuple[str, int, dict, int]] = []
    done = threading.Event()

    def keep_visiting() -> None:
        for number in range(MOST_REQUESTS):
            if done.is_set():
                return
            status, headers = visitor.register(slug, number)
            answers.append(("register", status, headers, number))
            status, headers = visitor.get("/")
            answers.append(("agenda", status, headers, number))

    crowd = threading.Thread(target=keep_visiting)
    crowd.start()
    deadline = time.monotonic() + 60
    while len(answers) < 20 and crowd.is_alive():
        assert time.monotonic() < deadline, answers
        time.sleep(0.01)
    own_postgres.restart()
    own_postgres.stop()
    during = [visitor.get("/"), visitor.register(slug, 10_000), visitor.get("/readyz")]
    own_postgres.start()
    after = [visitor.get("/"), visitor.register(slug, 10_001), visitor.get("/readyz")]
    done.set()
    crowd.join()

    assert [status for status, _headers in during] == [503, 503, 503]
    assert all(headers.get("Retry-After") == "30" for _status, headers in during[:2])
    assert [status for status, _headers in after] == [200, 303, 200]
    # A restart while nobody visits: the pool still holds dead connections, and the first
    # visitor afterwards is served all the same (each connection is tested before use).
    own_postgres.restart()
    assert visitor.register(slug, 10_002)[0] == 303
    assert {status for _kind, status, _headers, _number in answers} <= {200, 303, 503}
    assert all(headers.get("Retry-After") for _kind, status, headers, _number in answers
               if status == 503)
    with app.app_context():
        stored = {r.email: r for r in db.session.scalars(select(Registration))
                  if r.email != "p10002@example.org"}
        mailed = set(db.session.scalars(select(OutboxMessage.registration_id)))
    answered = {f"p{number}@example.org" for kind, status, _headers, number in answers
                if kind == "register" and status == 303} | {"p10001@example.org"}
    refused = {f"p{number}@example.org" for kind, status, _headers, number in answers
               if kind == "register" and status == 503} | {"p10000@example.org"}
    assert answered <= set(stored) <= answered | refused
    assert "p10000@example.org" not in stored
    assert all(registration.id in mailed for registration in stored.values())


def test_sqlite_locked_past_its_wait_is_a_503_and_stores_nothing(sqlite_template, tmp_path,
                                                                serving, request):
    request.node.user_properties.append(("database", "sqlite"))
    path = tmp_path / "scheduler.sqlite"
    shutil.copy(sqlite_template, path)
    app = create_app(base_config(f"sqlite:///{path}", SQLITE_BUSY_TIMEOUT_MS=200))
    slug = add_event(app)
    visitor = serving(app)
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN EXCLUSIVE")
    try:
        status, headers = visitor.register(slug, 1)
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert (status, headers.get("Retry-After")) == (503, "30")
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Registration.id))) == 0
    assert visitor.register(slug, 2)[0] == 303


def test_every_pooled_connection_in_use_is_a_503_not_a_500(sqlite_template, tmp_path, request):
    request.node.user_properties.append(("database", "sqlite"))
    path = tmp_path / "scheduler.sqlite"
    shutil.copy(sqlite_template, path)
    app = create_app(base_config(f"sqlite:///{path}", SQLALCHEMY_ENGINE_OPTIONS={
        "pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}, RESPONSE_CACHE_SIZE=0))
    with app.app_context():
        held = db.engine.connect()
        try:
            response = app.test_client().get("/")
        finally:
            held.close()
            db.engine.dispose()
    assert (response.status_code, response.headers["Retry-After"]) == (503, "30")


def test_a_database_error_of_ours_is_a_500_with_its_traceback_not_a_503(tmp_path, caplog,
                                                                       request):
    """A database nobody migrated: retrying would not help, so nobody is told to."""
    request.node.user_properties.append(("database", "sqlite"))
    app = create_app(base_config(f"sqlite:///{tmp_path / 'leeg.sqlite'}"))
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert "no such table" in caplog.text and "Traceback" in caplog.text
