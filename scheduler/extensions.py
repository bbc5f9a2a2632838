"""The shared extension objects: database, migrations, CSRF, Babel and the rate limiter."""

try:
    import fcntl
except ImportError:  # Windows: writers wait in SQLite's busy handler instead
    fcntl = None

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
WRITE_LOCK_FILE = "scheduler_write_lock_file"
HOLDS_WRITE_LOCK = "scheduler_holds_write_lock"


def configure_sqlite(engine: Engine, busy_timeout_ms: int = 30_000) -> None:
    """Make SQLite safe for several threads and processes writing at once.

    pysqlite begins transactions lazily and on its own terms; we take over so that a
    registration can start with BEGIN IMMEDIATE and hold the write lock while it counts seats.
    Writers queue for that lock on a lock file beside the database: SQLite's own busy handler
    polls with sleeps of up to 100 ms, which leaves the lock idle and lets a registrant wait
    seconds in a rush, while a waiter on the lock file is woken the moment it is free.
    """
    database = engine.url.database
    lock_path = f"{database}.write-lock" if fcntl and database and database != ":memory:" else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if lock_path:
            # One open file per connection: flock excludes open files, so threads queue too.
            record.info[WRITE_LOCK_FILE] = open(lock_path, "ab")  # noqa: SIM115

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE)
        lock_file = connection.connection.info.get(WRITE_LOCK_FILE)
        if immediate and lock_file is not None:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            connection.connection.info[HOLDS_WRITE_LOCK] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:
        # Back in the pool means the transaction has ended, committed or rolled back.
        _release_write_lock(record.info)

    @event.listens_for(engine, "close")
    @event.listens_for(engine, "detach")
    def _on_close(_dbapi_connection, record) -> None:
        _release_write_lock(record.info)
        lock_file = record.info.pop(WRITE_LOCK_FILE, None)
        if lock_file is not None:
            lock_file.close()


def _release_write_lock(info: dict) -> None:
    if info.pop(HOLDS_WRITE_LOCK, False):
        fcntl.flock(info[WRITE_LOCK_FILE], fcntl.LOCK_UN)


def begin_write_transaction() -> None:
    """Start a new transaction that holds the write lock from its first statement on SQLite.

    Ends the session's current (read) transaction first. On PostgreSQL the caller locks rows
    explicitly instead, so this only starts a fresh transaction there.
    """
    db.session.commit()
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection(execution_options={SQLITE_IMMEDIATE: True})


def insert_or_update(model):
    """An INSERT statement that can take ON CONFLICT, in the dialect of the database in use."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
