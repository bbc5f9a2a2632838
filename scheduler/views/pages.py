"""Blueprint "pages": the programme's static pages: privacy and accessibility statements."""

from datetime import timedelta

from flask import Blueprint, abort, render_template, request

from scheduler.models import utcnow
from scheduler.response_cache import share_until
from scheduler.services.requests import get_block

bp = Blueprint("pages", __name__)


@bp.get("/privacy")
def privacy():
    """How the programme handles personal data."""
    return render_template("pages/privacy.html")


@bp.get("/toegankelijkheid")
def accessibility():
    """The accessibility statement; staff edit its text."""
    block = get_block("accessibility")
    if block is None:
        abort(404)
    response = render_template("pages/accessibility.html", block=block)
    share_until(request.environ, utcnow() + timedelta(days=1))
    return response
