"""Blueprint "materials": the files of an activity, for its participants."""

from flask import Blueprint

bp = Blueprint("materials", __name__)
