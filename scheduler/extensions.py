"""The shared extension objects: database, migrations, CSRF, Babel and the rate limiter."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with constraint names that migrations can refer to."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Meld je aan om deze pagina te zien."
login_manager.session_protection = "strong"

# The execution option that makes a SQLite transaction take the write lock when it begins.
SQLITE_IMMEDIATE = "scheduler_sqlite_immediate"


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite safe for several threads and processes writing at once.

    pysqlite begins transactions lazily and on its own terms; we take over so that a
    registration can start with BEGIN IMMEDIATE and hold the write lock while it counts seats.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write_transaction() -> None:
    """Start a new transaction that holds the write lock from its first statement on SQLite.

    Ends the session's current (read) transaction first. On PostgreSQL the caller locks rows
    explicitly instead, so this only starts a fresh transaction there.
    """
    db.session.commit()
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection(execution_options={SQLITE_IMMEDIATE: True})
