"""Blueprint "health": what a monitor asks. No personal data, never cached, never limited."""

from flask import Blueprint, jsonify

from scheduler.extensions import limiter
from scheduler.services import health

bp = Blueprint("health", __name__)


def _uncached(response, status: int = 200):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
@limiter.exempt
def alive():
    """The process answers; says nothing about the database."""
    return _uncached(jsonify(status="ok"))


@bp.get("/readyz")
@limiter.exempt
def ready():
    """The database answers within a second and its schema is current; the mail queue's state
    rides along for the monitor. 503 when this process cannot serve visitors."""
    report = health.readiness()
    return _uncached(jsonify(report.as_json()), 200 if report.ready else 503)
