"""The application factory, configuration, migrations, security headers and vendored files."""

import hashlib
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from scheduler import PROJECT_ROOT, config, create_app
from scheduler.extensions import db
from scheduler.models import Organisation
from tests.fixtures.databases import base_config, fresh_sqlite


def test_migrations_match_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_load_the_municipalities(app):
    rows = db.session.execute(
        select(Organisation.province, func.count())
        .where(Organisation.nis_code.is_not(None))
        .group_by(Organisation.province)
    ).all()
    counts = {province: number for province, number in rows}
    assert counts == {
        "Antwerpen": 67,
        "Limburg": 38,
        "Oost-Vlaanderen": 55,
        "Vlaams-Brabant": 63,
        "West-Vlaanderen": 62,
        None: 19,
    }


def test_production_without_secret_key_refuses_to_start(tmp_path):
    settings = {"SCHEDULER_ENV": "production", "SECRET_KEY": None,
                "PUBLIC_BASE_URL": "https://agenda.example.org"}
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        config.ensure_secret_key(settings, str(tmp_path))


def test_every_documented_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SCHEDULER_ENV", " Production ")
    monkeypatch.setenv("PRIVACY_RETENTION_MONTHS", "6")
    monkeypatch.setenv("FEED_CACHE_SECONDS", "7")
    monkeypatch.setenv("REQUEST_LOG", "off")
    settings = {}
    config.read_environment(settings)
    assert settings == {"SCHEDULER_ENV": "production", "PRIVACY_RETENTION_MONTHS": 6,
                        "FEED_CACHE_SECONDS": 7, "REQUEST_LOG": False}


def test_the_readme_documents_every_setting_read_from_the_environment():
    readme = (PROJECT_ROOT / "README.md").read_text()
    table_rows = [line for line in readme.splitlines() if line.startswith("| `")]
    undocumented = [name for name in config.ENVIRONMENT_SETTINGS
                    if not any(f"`{name}`" in row for row in table_rows)]
    assert undocumented == []
    assert set(config.INTEGER_SETTINGS) <= set(config.ENVIRONMENT_SETTINGS)


def test_production_without_its_address_refuses_to_start(tmp_path):
    settings = {"SCHEDULER_ENV": "production", "SECRET_KEY": "x" * 40, "PUBLIC_BASE_URL": None}
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL is not set"):
        config.ensure_secret_key(settings, str(tmp_path))


def test_behind_a_proxy_each_visitor_has_their_own_rate_limit(sqlite_template, tmp_path):
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": fresh_sqlite(sqlite_template, tmp_path),
                      "TESTING": True, "PROXY_COUNT": 1, "RATELIMIT_ENABLED": True,
                      "OVERVIEW_RATE_LIMIT": "1 per hour", "WTF_CSRF_ENABLED": False})
    visitor = app.test_client()
    for address in ("203.0.113.1", "203.0.113.2"):
        answer = visitor.post("/mijn-inschrijvingen", data={"email": "x@example.org"},
                              headers={"X-Forwarded-For": address})
        assert answer.status_code != 429
    again = visitor.post("/mijn-inschrijvingen", data={"email": "x@example.org"},
                         headers={"X-Forwarded-For": "203.0.113.1"})
    assert again.status_code == 429
    with app.app_context():
        db.engine.dispose()


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    first = {"SCHEDULER_ENV": "development", "SECRET_KEY": None}
    second = {"SCHEDULER_ENV": "development", "SECRET_KEY": None}
    config.ensure_secret_key(first, str(tmp_path))
    config.ensure_secret_key(second, str(tmp_path))
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("HELPDESK_EMAIL", "helpdesk@example.org")
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    settings = {}
    config.read_environment(settings)
    assert settings == {
        "HELPDESK_EMAIL": "helpdesk@example.org",
        "MAIL_PORT": 2525,
        "MAIL_USE_TLS": True,
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "sqlite:////srv/instance/scheduler.sqlite"),
        ("postgres://u:p@db/s", "postgresql+psycopg://u:p@db/s"),
        ("postgresql://u:p@db/s", "postgresql+psycopg://u:p@db/s"),
        ("postgresql+psycopg://u@db/s", "postgresql+psycopg://u@db/s"),
    ],
)
def test_database_url(given, expected):
    assert config.database_uri({"DATABASE_URL": given}, "/srv/instance") == expected


def test_production_cookies_are_secure(tmp_path):
    app = create_app(
        {"SCHEDULER_ENV": "production", "SECRET_KEY": "x" * 40,
         "PUBLIC_BASE_URL": "https://agenda.example.org",
         "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.debug is False


def test_security_headers_on_every_response(client):
    for path in ("/", "/activiteiten/bestaat-niet", "/static/css/site.css"):
        with client.get(path) as response:
            headers = response.headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]


def test_pages_have_no_inline_script_or_cdn(client):
    page = client.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "//cdn" not in page and "unpkg" not in page
    for tag in re.findall(r"<[^>]+>", page):
        assert not re.search(r"\son[a-z]+=", tag), tag


def test_vendored_htmx_matches_its_recorded_checksum():
    readme = (PROJECT_ROOT / "static" / "vendor" / "README.md").read_text()
    filename, digest = re.search(r"`(htmx-[\d.]+\.min\.js)` .*`([0-9a-f]{64})`", readme).groups()
    content = Path(PROJECT_ROOT / "static" / "vendor" / filename).read_bytes()
    assert hashlib.sha256(content).hexdigest() == digest
    base = (PROJECT_ROOT / "templates" / "base.html").read_text()
    assert f"vendor/{filename}" in base


def test_migration_clears_the_places_sessions_held_of_their_own(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'old.db'}"))
    with app.app_context():
        upgrade(revision="1f4989bb6a4e")
        db.session.execute(text(
            "INSERT INTO series (id, uid, slug, title, summary, kind, capacity, is_moderated,"
            " created_at) VALUES (1, 'u1', 'reeks', 'Reeks', '', 'intervision', 6, 1,"
            " '2026-01-01 00:00:00')"))
        for event_id, series_id in ((1, 1), (2, None)):
            db.session.execute(text(
                "INSERT INTO events (id, uid, sequence, kind, status, title, slug, summary,"
                " description, starts_at, ends_at, venue, address, capacity,"
                " max_per_organisation, is_moderated, audience, series_id, cancellation_reason,"
                " created_at, updated_at) VALUES (:id, :uid, 0, 'intervision', 'published', 'A',"
                " :slug, '', '', '2027-01-01 09:00:00', '2027-01-01 12:00:00', '', '', 2, 1, 1,"
                " 'both', :series_id, '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                {"id": event_id, "uid": f"e{event_id}", "slug": f"a-{event_id}",
                 "series_id": series_id})
        db.session.commit()
        upgrade()
        rows = db.session.execute(text(
            "SELECT id, series_id, capacity, max_per_organisation, is_moderated FROM events"
            " ORDER BY id")).all()
        db.session.remove()
        db.engine.dispose()
    assert [tuple(row) for row in rows] == [(1, 1, None, None, 0), (2, None, 2, 1, 1)]


def test_migration_removes_addresses_from_the_audit_log_and_marks_requesters_told(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'old.db'}"))
    with app.app_context():
        upgrade(revision="3b7e0c5d9a12")
        for entry_id, summary in ((1, "An.Peeters@Gent.be"), (2, "jan@x.be toegevoegd"),
                                  (3, "Vorming 1: zaal te klein")):
            db.session.execute(text(
                "INSERT INTO audit_log (id, action, subject_type, summary, created_at)"
                " VALUES (:id, 'registration.approve', 'registration', :summary,"
                " '2026-01-01 00:00:00')"), {"id": entry_id, "summary": summary})
        # An earlier version mailed the requester again at every publication.
        db.session.execute(text(
            "INSERT INTO events (id, uid, sequence, kind, status, title, slug, summary,"
            " description, starts_at, ends_at, venue, address, is_moderated, audience,"
            " cancellation_reason, created_at, updated_at) VALUES (7, 'e7', 0, 'training',"
            " 'published', 'Vorming', 'vorming', '', '', '2027-01-01 09:00:00',"
            " '2027-01-01 12:00:00', '', '', 0, 'both', '', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00')"))
        db.session.execute(text(
            "INSERT INTO training_requests (id, contact_name, email, phone, audience,"
            " preferred_dates, local_questions, status, internal_notes, event_id,"
            " organisation_other, created_at, updated_at) VALUES (1, 'An', 'an@gent.be', '',"
            " 'both', '', '', 'planned', '', 7, 'Gent', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00')"))
        for message_id in (1, 2):
            db.session.execute(text(
                "INSERT INTO outbox (id, kind, training_request_id, recipient, recipient_name,"
                " subject, text_body, html_body, message_id, status, attempts, last_error,"
                " next_attempt_at, created_at) VALUES (:id, 'request_published', 1,"
                " 'an@gent.be', 'An', 'Gepland', '', '', :message_id, 'sent', 1, '',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                {"id": message_id, "message_id": f"<{message_id}@x>"})
        db.session.commit()
        upgrade()
        summaries = db.session.scalars(text("SELECT summary FROM audit_log ORDER BY id")).all()
        keys = db.session.scalars(text("SELECT dedupe_key FROM outbox ORDER BY id")).all()
        db.session.remove()
        db.engine.dispose()
    assert summaries == ["[adres]", "[adres] toegevoegd", "Vorming 1: zaal te klein"]
    assert keys == ["request_published:1:7", None]
