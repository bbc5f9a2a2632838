"""An upgrade keeps the data: a database built at the first migration, with rows in every table
it had, upgraded to the latest, still holds every row, and the app serves them."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import Event, Registration, RegistrationStatus, Series, StaffUser
from scheduler.services import health
from tests.fixtures.databases import base_config

FIRST_REVISION = "d2c10a8b0f69"
MOMENT = datetime(2031, 3, 11, 12, 30, tzinfo=UTC)
TOKEN = "upgrade-token-0123456789abcdef"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """A database without any table, on each engine; on PostgreSQL a database of its own,
    beside the tests' (so the server needs CREATEDB), dropped afterwards."""
    request.node.user_properties.append(("database", request.param))
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgrade.sqlite'}"
        return
    url = make_url(request.getfixturevalue("postgres_url"))
    server = {"host": url.host, "port": url.port, "user": url.username,
              "password": url.password, "dbname": url.database, "autocommit": True}
    with psycopg.connect(**server) as connection:
        connection.execute("DROP DATABASE IF EXISTS scheduler_upgrade")
        connection.execute("CREATE DATABASE scheduler_upgrade")
    yield url.set(database="scheduler_upgrade").render_as_string(hide_password=False)
    with psycopg.connect(**server) as connection:
        connection.execute("DROP DATABASE scheduler_upgrade WITH (FORCE)")


def rows_of_the_first_schema() -> dict[str, list[dict]]:
    """One or two rows for every table of the first migration, as it defined them."""
    return {
        "themes": [{"id": 900, "slug": "upgrade-thema", "name": "Upgrade-thema"}],
        "organisations": [{"id": 90_000, "name": "Upgradegemeente", "kind": "other",
                           "nis_code": None, "province": "Limburg", "region": "Vlaanderen"}],
        "series": [{"id": 900, "uid": "11111111-2222-3333-4444-555555555555",
                    "slug": "upgrade-reeks", "title": "Upgradereeks", "summary": "",
                    "kind": "intervision", "capacity": 8, "max_per_organisation": 2,
                    "is_moderated": True, "created_at": MOMENT}],
        "staff_users": [{"id": 900, "email": "upgrade@vvsg.be", "name": "Upgrade",
                         "password_hash": "!", "is_admin": True, "is_active": True,
                         "created_at": MOMENT, "last_login_at": None}],
        "events": [
            _event(900, "upgrade-vorming", series_id=None, capacity=20, is_moderated=False),
            _event(901, "upgrade-reeks-1", series_id=900, capacity=5, is_moderated=True),
        ],
        "event_themes": [{"event_id": 900, "theme_id": 900}],
        "registrations": [
            _registration(900, TOKEN, event_id=900, series_id=None, status="confirmed"),
            _registration(901, TOKEN[::-1], event_id=None, series_id=900, status="waiting"),
        ],
    }


def _event(number: int, slug: str, **fields) -> dict:
    return {"id": number, "uid": f"00000000-0000-0000-0000-000000000{number}", "sequence": 2,
            "kind": "training", "status": "published", "title": f"Upgrade {number}",
            "slug": slug, "summary": "Kort", "description": "**Lang**",
            "starts_at": MOMENT, "ends_at": MOMENT + timedelta(hours=3), "venue": "Stadhuis",
            "address": "Markt 1", "municipality_id": 90_000, "online_url": None,
            "max_per_organisation": None, "registration_opens_at": None,
            "registration_closes_at": None, "audience": "both", "cancellation_reason": "",
            "cancelled_at": None, "created_at": MOMENT, "updated_at": MOMENT, **fields}


def _registration(number: int, token: str, **fields) -> dict:
    return {"id": number, "token": token, "waiting_reason": None, "first_name": "Ann",
            "last_name": f"Upgrade {number}", "email": f"ann{number}@example.org",
            "email_normalised": f"ann{number}@example.org", "organisation_id": 90_000,
            "organisation_other": "", "role": "medewerker", "function": "Schepen",
            "remarks": "Graag vooraan", "created_at": MOMENT, "updated_at": MOMENT,
            "cancelled_at": None, **fields}


def test_an_upgrade_from_the_first_migration_keeps_every_row(empty_database):
    app = create_app(base_config(empty_database))
    with app.app_context():
        upgrade(revision=FIRST_REVISION)
        metadata = sa.MetaData()
        metadata.reflect(db.engine)
        with db.engine.begin() as connection:
            for table, rows in rows_of_the_first_schema().items():
                connection.execute(metadata.tables[table].insert(), rows)
        db.engine.dispose()
        upgrade()

        assert health.readiness().schema == "current"
        event = db.session.get(Event, 900)
        assert (event.title, event.starts_at, event.sequence) == ("Upgrade 900", MOMENT, 2)
        assert event.municipality.name == "Upgradegemeente"
        assert [theme.slug for theme in event.themes] == ["upgrade-thema"]
        session = db.session.get(Event, 901)
        assert (session.capacity, session.is_moderated) == (None, False)
        series = db.session.get(Series, 900)
        assert (series.capacity, series.is_moderated, series.admission_note) == (8, True, "")
        confirmed, waiting = (db.session.get(Registration, n) for n in (900, 901))
        assert (confirmed.token, confirmed.status, confirmed.remarks) == (
            TOKEN, RegistrationStatus.confirmed, "Graag vooraan")
        assert (confirmed.needs, confirmed.handed_over_to_id, confirmed.anonymised_at) == (
            "", None, None)
        assert (waiting.places_owner, waiting.status) == (series, RegistrationStatus.waiting)
        assert db.session.get(StaffUser, 900).email == "upgrade@vvsg.be"
        db.session.remove()

    visitor = app.test_client()
    assert visitor.get("/activiteiten/upgrade-vorming").status_code == 200
    assert "Upgrade 900" in visitor.get(f"/inschrijving/{TOKEN}").text
    with app.app_context():
        # Activities published before the release count as published when they were made.
        assert db.session.get(Event, 900).published_at == MOMENT
        db.session.remove()
        # Back one release and forward again: the activities keep their themes and people.
        downgrade(revision="f3b9d1e7a2c4")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM event_themes")).scalar() == 1
            assert connection.execute(sa.text("SELECT count(*) FROM registrations")).scalar() == 2
        upgrade()
        assert [theme.slug for theme in db.session.get(Event, 900).themes] == ["upgrade-thema"]
        db.session.remove()
        db.engine.dispose()
