"""The application factory: configuration, extensions, blueprints and the CLI."""

import contextlib
import logging
from pathlib import Path

from flask import Flask, make_response, render_template, request, url_for
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import InternalServerError, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, IntegerConverter

from scheduler import config as settings
from scheduler.cross_origin import refuse_cross_origin
from scheduler.extensions import babel, csrf, db, limiter, login_manager, migrate
from scheduler.headers import EMBEDDABLE_POLICY, set_security_headers

PROJECT_ROOT = Path(__file__).resolve().parent.parent

class SlugConverter(BaseConverter):
    """Lower-case letters, digits and hyphens; anything else is a 404 before any query runs."""

    regex = r"[a-z0-9-]{1,120}"


class IdConverter(IntegerConverter):
    """A row id: a number too large for the database's integer is a 404, not an overflow."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        super().__init__(url_map, *args, max=2**31 - 1, **kwargs)


class TokenConverter(BaseConverter):
    """The alphabet of personal-link tokens; anything else is a 404 before any query runs."""

    regex = r"[A-Za-z0-9_-]{16,64}"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; ``test_config`` replaces instance/config.py and the environment."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(settings.Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        settings.read_environment(app.config)
    else:
        app.config.update(test_config)
    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", settings.database_uri(app.config, app.instance_path)
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # After a restart of PostgreSQL every pooled connection is dead: test one before use
        # so the first visitor afterwards is served, not shown an error. And a server that
        # accepts but never answers must not hold a visitor for minutes.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True, "connect_args": {"connect_timeout": 5},
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    if app.config["SCHEDULER_ENV"] == "production":
        app.config["SESSION_COOKIE_SECURE"] = True
    settings.ensure_secret_key(app.config, app.instance_path)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
    app.url_map.converters["slug"] = SlugConverter
    app.url_map.converters["token"] = TokenConverter
    app.url_map.converters["int"] = IdConverter
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_error_pages(app)
    app.before_request(refuse_cross_origin)
    app.after_request(set_security_headers)
    _install_response_cache(app)
    _install_request_log(app)

    from scheduler.cli import register_commands

    register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)

    @app.teardown_appcontext
    def _close_the_session(_error) -> None:
        # Runs before Flask-SQLAlchemy's own teardown, which then clears the session registry.
        # A connection the database ended during the request (a restart) fails its closing
        # rollback; SQLAlchemy has invalidated it and the answer is given by then. Any other
        # failure to close is ours and must be seen.
        try:
            db.session.remove()
        except OperationalError as error:
            if not error.connection_invalidated:
                raise
            app.logger.warning("Connection lost while closing the session: %s", error.orig)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load_staff(user_id: str):
        from scheduler.models import StaffUser

        user = db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None
        return user if user is not None and user.is_active else None
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            from scheduler.extensions import configure_sqlite

            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _install_response_cache(app: Flask) -> None:
    from scheduler.models import utcnow
    from scheduler.response_cache import DataVersion, ResponseCache

    with app.app_context():
        engine = db.engine
    app.wsgi_app = app.extensions["response_cache"] = ResponseCache(
        app.wsgi_app,
        DataVersion(engine),
        clock=utcnow,
        size=app.config["RESPONSE_CACHE_SIZE"],
        personal_cookies=(
            app.config["SESSION_COOKIE_NAME"],
            app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        ),
        bypass=("/healthz", "/readyz"),
    )


def _install_request_log(app: Flask) -> None:
    from scheduler.request_log import RequestLog, logger, redacted

    def log_exception(exc_info) -> None:
        # Flask's own line names the path, and a personal path holds its token.
        app.logger.error("Exception on %s [%s]", redacted(request.path), request.method,
                         exc_info=exc_info)

    app.log_exception = log_exception

    if not app.config["REQUEST_LOG"]:
        return
    if not logger.handlers:
        # One JSON object per line on stderr, where gunicorn and systemd collect it.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    app.wsgi_app = RequestLog(app.wsgi_app)


def _register_blueprints(app: Flask) -> None:
    from scheduler.views import (
        api,
        attestations,
        auth,
        evaluations,
        events,
        feeds,
        health,
        materials,
        pages,
        registrations,
        requests,
        staff,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(events.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(registrations.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(requests.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(attestations.bp)
    app.register_blueprint(evaluations.bp)
    app.register_blueprint(materials.bp)
    app.after_request(api.allow_any_origin)
    # Their forms are posted without a session; see scheduler.cross_origin.
    csrf.exempt(registrations.bp)
    csrf.exempt(requests.bp)
    csrf.exempt(evaluations.bp)


def _register_template_helpers(app: Flask) -> None:
    from scheduler import dates, labels
    from scheduler.links import activity_url, public_url
    from scheduler.markdown import render_markdown
    from scheduler.services.agenda import describe_availability
    from scheduler.services.calendar import google_calendar_link

    app.jinja_env.filters.update(
        day=dates.format_day,
        time_span=dates.format_time_span,
        when=dates.format_when,
        month=dates.format_month,
        short_datetime=dates.format_short_datetime,
        duration=dates.format_duration,
        markdown=render_markdown,
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    def google_link(event) -> str:
        return google_calendar_link(event, public_url("events.detail", slug=event.slug))

    app.jinja_env.globals.update(
        labels=labels, describe_availability=describe_availability, google_link=google_link,
        activity_url=activity_url,
    )

    @app.context_processor
    def _programme() -> dict:
        return {
            "organisation_name": app.config["ORGANISATION_NAME"],
            "programme_name": app.config["PROGRAMME_NAME"],
            "helpdesk_email": app.config["HELPDESK_EMAIL"],
            "moderation_reply_days": app.config["MODERATION_REPLY_DAYS"],
        }


def _register_error_pages(app: Flask) -> None:
    from flask_login import current_user
    from flask_wtf.csrf import CSRFError

    from scheduler import labels
    from scheduler.cross_origin import CrossOriginRequest
    from scheduler.htmx import current_page, is_htmx, retarget, whole_page_to
    from scheduler.request_log import REQUEST_ID
    from scheduler.views.api import is_api_request, problem

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if isinstance(error, CSRFError):
            heading, text = labels.SESSION_EXPIRED
        elif isinstance(error, CrossOriginRequest):
            heading, text = labels.CROSS_ORIGIN
        else:
            heading, text = labels.describe_error(code)
        # Something to quote to the helpdesk when it is our fault; the request log has it too.
        request_id = request.environ.get(REQUEST_ID) if code >= 500 else None
        allowed = getattr(error, "valid_methods", None)
        # A 405 names the methods the address does take (RFC 9110).
        extra_headers = {"Allow": ", ".join(allowed)} if allowed else {}
        if is_api_request():
            response = problem(code, text)
            response.headers.update(extra_headers)
            return response
        if (isinstance(error, CSRFError) and is_htmx() and request.blueprint == "staff"
                and not current_user.is_authenticated):
            # The staff session expired: the login, for the whole page, not a message in a cell.
            return whole_page_to(url_for("auth.login", next=current_page()))
        if is_htmx():
            # The fragment the request aimed at stays as it is; the message goes to the alert area.
            html = render_template("errors/_alert.html", heading=heading, text=text,
                                   request_id=request_id)
            return retarget(make_response(html, code), "#alerts")
        if request.endpoint == "events.embed":
            # Shown inside another site's frame: "try again later" rather than a refusal.
            extra_headers["Content-Security-Policy"] = EMBEDDABLE_POLICY
        return render_template("errors/error.html", heading=heading, text=text,
                               request_id=request_id), code, extra_headers

    for code in (400, 403, 404, 405, 410, 429, 500):
        app.register_error_handler(code, render_error)

    def database_away(error):
        """The database is restarting, unreachable or locked past its wait: nothing was
        written (the transaction is rolled back), and the visitor may simply try again.
        Any other database error is a fault of ours: a 500, logged in full."""
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        if not _is_passing(error):
            app.log_exception((type(error), error, error.__traceback__))
            return render_error(InternalServerError())
        app.logger.warning("Database unavailable: %s", getattr(error, "orig", None) or error)
        response = make_response(render_error(ServiceUnavailable()))
        response.headers["Retry-After"] = str(app.config["RETRY_AFTER_SECONDS"])
        response.headers["Cache-Control"] = "no-store"
        return response

    app.register_error_handler(OperationalError, database_away)
    app.register_error_handler(PoolTimeout, database_away)


def _is_passing(error) -> bool:
    """A database error that goes away by itself: a lost or refused connection, a server
    shutting down, a lock held too long, every pooled connection in use."""
    if isinstance(error, PoolTimeout) or getattr(error, "connection_invalidated", False):
        return True
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None)
    if state is not None:
        return state.startswith(("08", "57P", "53"))
    message = str(original).lower()
    # psycopg says nothing of a state when it cannot reach the server at all.
    return type(original).__module__.startswith("psycopg") or any(
        word in message for word in ("locked", "busy"))
