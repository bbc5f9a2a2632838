"""Blueprint "pages": the programme's static pages such as the privacy statement."""

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/privacy")
def privacy():
    """How the programme handles personal data."""
    return render_template("pages/privacy.html")
