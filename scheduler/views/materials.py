"""Blueprint "materials": the files of an activity, for its participants."""

from flask import Blueprint, abort, send_file

from scheduler.services import materials
from scheduler.services import registrations as registration_service

bp = Blueprint("materials", __name__)


@bp.get("/inschrijving/<token:token>/materiaal/<int:material_id>")
def download(token: str, material_id: int):
    """A file for a confirmed participant. Anything else is the same 404: an unknown token or
    material, a registration that is not confirmed, a material of another activity."""
    registration = registration_service.find_by_personal_token(token)
    material = (materials.find_for_registration(registration, material_id)
                if registration is not None else None)
    path = materials.path_of(material) if material is not None else None
    if path is None:
        abort(404)
    response = send_file(path, mimetype=material.content_type, as_attachment=True,
                         download_name=material.filename)
    # Never rendered in the browser, whatever it holds, and never kept by a cache; the
    # personal address does not leave the site in a Referer.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
