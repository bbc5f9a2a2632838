"""Staff pages for the materials of an activity or a series."""

from pathlib import Path

from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from scheduler.extensions import csrf, db
from scheduler.forms.fields import ConfirmForm
from scheduler.forms.materials import MaterialFileForm, MaterialLinkForm
from scheduler.models import Event, Material, Series, utcnow
from scheduler.services import materials
from scheduler.services.materials import MaterialRefusedError, Owner
from scheduler.views.staff.blueprint import bp, button_action

# What a multipart body holds besides the file: its framing, the title and the CSRF token.
UPLOAD_MARGIN = 64 * 1024


def _page_url(owner: Owner, anchor: str | None = None) -> str:
    if isinstance(owner, Series):
        return url_for("staff.series_materials", series_id=owner.id, _anchor=anchor)
    return url_for("staff.event_materials", event_id=owner.id, _anchor=anchor)


def _action_urls(owner: Owner) -> dict[str, str]:
    if isinstance(owner, Series):
        return {"file": url_for("staff.series_material_upload", series_id=owner.id),
                "link": url_for("staff.series_material_link", series_id=owner.id)}
    return {"file": url_for("staff.event_material_upload", event_id=owner.id),
            "link": url_for("staff.event_material_link", event_id=owner.id)}


def _page(owner: Owner, *, file_form: MaterialFileForm | None = None,
          link_form: MaterialLinkForm | None = None, status: int = 200) -> Response:
    # The form not posted is built without form data: after a body too large, reading the
    # request again would only raise again.
    html = render_template(
        "staff/materials.html", owner=owner, is_series=isinstance(owner, Series),
        materials=materials.list_for(owner), actions=_action_urls(owner),
        file_form=file_form or MaterialFileForm(prefix="file", formdata=None),
        link_form=link_form or MaterialLinkForm(prefix="link", formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        announces=materials.announces_new_materials(owner, utcnow()),
        max_megabytes=materials.max_bytes() // materials.MEGABYTE,
    )
    return make_response(html, status)


def _refuse_forged(form) -> None:
    """A form without its session's token is refused as CSRFProtect refuses one: 400."""
    token = getattr(form, "csrf_token", None)
    if token is not None and token.errors:
        raise CSRFError(token.errors[0])


def _upload(owner: Owner) -> Response:
    # Raised for this request alone, before anything reads the body; the view checks the
    # CSRF token itself (see the exemption below), since CSRFProtect would read the body
    # first, under the 256 KB every other form has.
    request.max_content_length = materials.max_bytes() + UPLOAD_MARGIN
    try:
        form = MaterialFileForm(prefix="file")
    except RequestEntityTooLarge:
        form = MaterialFileForm(prefix="file", formdata=None)
        form.file.errors = [materials.too_large_message()]
        return _page(owner, file_form=form, status=413)
    if not form.validate():
        _refuse_forged(form)
        return _page(owner, file_form=form, status=422)
    upload = form.file.data
    try:
        materials.add_file(owner, form.title.data, upload.stream, upload.filename or "",
                           current_user)
    except MaterialRefusedError as refusal:
        form.file.errors.append(refusal.message)
        return _page(owner, file_form=form, status=413 if refusal.too_large else 422)
    flash(f"‘{form.title.data}’ is toegevoegd.", "success")
    return redirect(_page_url(owner, "materiaal"), 303)


def _link(owner: Owner) -> Response:
    form = MaterialLinkForm(prefix="link")
    if not form.validate():
        return _page(owner, link_form=form, status=422)
    try:
        materials.add_link(owner, form.title.data, form.url.data, current_user)
    except MaterialRefusedError as refusal:
        form.url.errors.append(refusal.message)
        return _page(owner, link_form=form, status=422)
    flash(f"‘{form.title.data}’ is toegevoegd.", "success")
    return redirect(_page_url(owner, "materiaal"), 303)


@bp.get("/activiteiten/<int:event_id>/materiaal")
def event_materials(event_id: int):
    """The files and links of an activity, with the forms to add one."""
    return _page(db.get_or_404(Event, event_id))


@bp.post("/activiteiten/<int:event_id>/materiaal/bestand")
@csrf.exempt
def event_material_upload(event_id: int):
    """Add a file to an activity."""
    return _upload(db.get_or_404(Event, event_id))


@bp.post("/activiteiten/<int:event_id>/materiaal/link")
def event_material_link(event_id: int):
    """Add a link to an activity."""
    return _link(db.get_or_404(Event, event_id))


@bp.get("/reeksen/<int:series_id>/materiaal")
def series_materials(series_id: int):
    """The files and links of a whole series, with the forms to add one."""
    return _page(db.get_or_404(Series, series_id))


@bp.post("/reeksen/<int:series_id>/materiaal/bestand")
@csrf.exempt
def series_material_upload(series_id: int):
    """Add a file to a series."""
    return _upload(db.get_or_404(Series, series_id))


@bp.post("/reeksen/<int:series_id>/materiaal/link")
def series_material_link(series_id: int):
    """Add a link to a series."""
    return _link(db.get_or_404(Series, series_id))


@bp.post("/materiaal/<int:material_id>/verwijderen")
def material_delete(material_id: int):
    """Remove a file or link; participants no longer see it."""
    material = db.get_or_404(Material, material_id)
    back = _page_url(materials.owner_of(material), "materiaal")
    return button_action(lambda: materials.delete_material(material, current_user),
                         f"‘{material.title}’ is verwijderd.", lambda _owner: back)


@bp.get("/materiaal/<int:material_id>")
def material_download(material_id: int):
    """A file as the participants get it."""
    material = db.get_or_404(Material, material_id)
    path = materials.path_of(material)
    if path is None:
        abort(404)
    return _attachment(material, path)


def _attachment(material: Material, path: Path) -> Response:
    """A stored file as a download that no browser renders or keeps."""
    response = send_file(path, mimetype=material.content_type, as_attachment=True,
                         download_name=material.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
