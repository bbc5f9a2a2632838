"""Fixtures: the app on migrated SQLite and PostgreSQL databases, factories, a browser."""

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text
from werkzeug.serving import WSGIRequestHandler, make_server

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import (
    Event,
    EventKind,
    EventStatus,
    Organisation,
    OrganisationKind,
    Registration,
    RegistrationStatus,
    Role,
    Series,
    Theme,
    utcnow,
)
from tests.postgres_server import running_postgres

REQUIRE_ALL = os.environ.get("SCHEDULER_REQUIRE_ALL") == "1"
CHROMIUM = os.environ.get("SCHEDULER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Reference data loaded by the migrations survives between tests on PostgreSQL; the small
# editable tables are emptied and filled again with what the migrations put in them.
KEEP_TABLES = {"organisations", "alembic_version"}
RESTORED_TABLES = ("training_parts", "content_blocks")
_migrated_rows: dict[str, list[dict]] = {}


def component_missing(component: str, reason: str) -> None:
    """Skip locally when a component is absent, but fail in CI where everything must run."""
    if REQUIRE_ALL:
        pytest.fail(f"{component} is required (SCHEDULER_REQUIRE_ALL=1): {reason}", pytrace=False)
    pytest.skip(f"{component} not available: {reason}")


def base_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PUBLIC_BASE_URL": "https://agenda.example.org",
    }
    config.update(overrides)
    return config


def migrate_database(database_url: str) -> None:
    """Build the schema the way production does: through the migrations."""
    app = create_app(base_config(database_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "scheduler.sqlite"
    migrate_database(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("SCHEDULER_TEST_POSTGRES_URL")
    stack = contextlib.ExitStack()
    if not url:
        try:
            url = stack.enter_context(running_postgres())
        except (FileNotFoundError, subprocess.CalledProcessError, ImportError) as error:
            component_missing("PostgreSQL", str(error))
    with stack:
        migrate_database(url)
        engine = create_engine(url)
        with engine.connect() as connection:
            for table in RESTORED_TABLES:
                rows = connection.execute(text(f"SELECT * FROM {table}")).mappings().all()
                _migrated_rows[table] = [dict(row) for row in rows]
        engine.dispose()
        yield url


def empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = [table.name for table in db.metadata.sorted_tables if table.name not in KEEP_TABLES]
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        connection.execute(text("DELETE FROM organisations WHERE nis_code IS NULL"))
        for name in RESTORED_TABLES:
            table = db.metadata.tables[name]
            connection.execute(table.insert(), _migrated_rows[name])
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT max(id) FROM {name}))"))
    engine.dispose()


def fresh_sqlite(template: str, tmp_path) -> str:
    target = tmp_path / "scheduler.sqlite"
    shutil.copy(template, target)
    return f"sqlite:///{target}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each test that uses the database runs once on SQLite and once on PostgreSQL."""
    request.node.user_properties.append(("database", request.param))
    if request.param == "sqlite":
        return fresh_sqlite(request.getfixturevalue("sqlite_template"), tmp_path)
    url = request.getfixturevalue("postgres_url")
    empty_postgres(url)
    return url


class IsolatedClient(FlaskClient):
    """A test client whose requests get their own app context and session, as in production."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        # End the test's own read transaction so that it sees what the request committed
        # (a SQLite reader keeps the snapshot its transaction began with).
        db.session.rollback()
        return response


@pytest.fixture
def app(database_url):
    app = create_app(base_config(database_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def hx() -> dict:
    """Headers that make a request look like htmx's."""
    return {"HX-Request": "true"}


@pytest.fixture
def municipality(app):
    """A reference municipality loaded by the migrations."""
    def find(name: str) -> Organisation:
        return db.session.scalars(db.select(Organisation).where(Organisation.name == name)).one()

    return find


@pytest.fixture
def make_theme(app):
    def make(slug: str = "radicalisering", name: str | None = None) -> Theme:
        theme = Theme(slug=slug, name=name or slug.capitalize())
        db.session.add(theme)
        db.session.commit()
        return theme

    return make


@pytest.fixture
def make_event(app):
    counter = iter(range(1, 1_000_000))

    def make(**overrides) -> Event:
        number = next(counter)
        starts_at = overrides.pop("starts_at", utcnow() + timedelta(days=10, hours=number))
        fields = {
            "kind": EventKind.training,
            "status": EventStatus.published,
            "title": f"Vorming {number}",
            "slug": f"vorming-{number}",
            "summary": "Een korte samenvatting.",
            "description": "Een **beschrijving**.",
            "starts_at": starts_at,
            "ends_at": starts_at + timedelta(hours=3),
            "venue": "Stadhuis",
            "capacity": 20,
        }
        fields.update(overrides)
        event = Event(**fields)
        db.session.add(event)
        db.session.commit()
        return event

    return make


@pytest.fixture
def make_series(app):
    def make(**overrides) -> Series:
        fields = {
            "slug": "intervisie-test",
            "title": "Intervisiegroep",
            "kind": EventKind.intervision,
            "capacity": 10,
        }
        fields.update(overrides)
        series = Series(**fields)
        db.session.add(series)
        db.session.commit()
        return series

    return make


@pytest.fixture
def make_registration(app):
    counter = iter(range(1, 1_000_000))

    def make(target: Event | Series, **overrides) -> Registration:
        number = next(counter)
        email = overrides.pop("email", f"persoon{number}@example.org")
        fields = {
            "first_name": "Persoon",
            "last_name": str(number),
            "email": email,
            "email_normalised": email.strip().lower(),
            "role": Role.medewerker,
            "status": RegistrationStatus.confirmed,
        }
        fields.update(overrides)
        registration = Registration(**fields)
        if isinstance(target, Series):
            registration.series = target
        else:
            registration.event = target
        db.session.add(registration)
        db.session.commit()
        return registration

    return make


class StaffLogin:
    """Creates staff accounts and logs a test client in as one of them."""

    password = "een lang genoeg wachtwoord"

    def __init__(self, client) -> None:
        self.client = client

    def create(self, email: str = "medewerker@vvsg.be", is_admin: bool = False):
        from scheduler.services import staff as staff_service

        return staff_service.create_staff(email, self.password, is_admin=is_admin)

    def login(self, email: str = "medewerker@vvsg.be", is_admin: bool = False):
        from scheduler.services import staff as staff_service

        user = staff_service.find_by_email(email) or self.create(email, is_admin)
        response = self.client.post(
            "/beheer/aanmelden", data={"email": email, "password": self.password}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        return user

    def logout(self) -> None:
        self.client.post("/beheer/afmelden")


@pytest.fixture
def staff(client) -> StaffLogin:
    return StaffLogin(client)


@pytest.fixture
def other_organisation(app):
    organisation = Organisation(name="Politiezone Test", kind=OrganisationKind.other)
    db.session.add(organisation)
    db.session.commit()
    return organisation


@pytest.fixture
def count_queries(app):
    """A context manager that counts the SQL statements run inside it."""

    @contextlib.contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_args) -> None:
            if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counting


RESPONSE_BODY = "tests.response_body"


class ClosingRequestHandler(WSGIRequestHandler):
    """Closes the response body also when the browser drops the connection (an aborted favicon).

    Werkzeug's development server skips closing it then, and the open static file ends up as a
    ResourceWarning in whichever test happens to run the garbage collector.
    """

    def connection_dropped(self, error, environ=None) -> None:
        body = (environ or {}).pop(RESPONSE_BODY, None)
        if hasattr(body, "close"):
            body.close()


def _remember_body(app):
    def wsgi(environ, start_response):
        body = environ[RESPONSE_BODY] = app(environ, start_response)
        return body

    return wsgi


class LiveServer:
    """The app served over real HTTP by a threaded WSGI server on 127.0.0.1."""

    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, _remember_body(app), threaded=True,
                                  request_handler=ClosingRequestHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_app(sqlite_template, tmp_path):
    """An app on SQLite with CSRF on, as a browser meets it."""
    app = create_app(base_config(fresh_sqlite(sqlite_template, tmp_path), WTF_CSRF_ENABLED=True))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live_server(live_app) -> Iterator[LiveServer]:
    with LiveServer(live_app) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        component_missing("Chromium", f"{CHROMIUM} does not exist")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        component_missing("Playwright", str(error))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="nl-BE", timezone_id="Europe/Brussels")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(java_script_enabled=False, locale="nl-BE")
    page = context.new_page()
    yield page
    context.close()


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many tests ran on each database and in the browser."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            where = dict(report.user_properties).get("database", "no database")
            if "tests/test_browser" in report.nodeid:
                where = "chromium"
            counts.setdefault(where, {}).setdefault(outcome, 0)
            counts[where][outcome] += 1
    figures = [
        (report.nodeid, value)
        for report in terminalreporter.stats.get("passed", [])
        for key, value in report.user_properties
        if key == "figures"
    ]
    if figures:
        terminalreporter.write_sep("-", "measured")
        for nodeid, value in figures:
            terminalreporter.write_line(f"{nodeid.split('::')[-1]}: {value}")
    terminalreporter.write_sep("-", "tests per component")
    for where in ("sqlite", "postgresql", "chromium", "no database"):
        if where in counts:
            parts = ", ".join(f"{number} {outcome}" for outcome, number in counts[where].items())
            terminalreporter.write_line(f"{where}: {parts}")
