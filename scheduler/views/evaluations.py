"""Blueprint "evaluations": the anonymous evaluation form after an activity."""

from flask import Blueprint

bp = Blueprint("evaluations", __name__)
