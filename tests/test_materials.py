"""Materials: files and links for the participants of an activity or a series. Uploads are
checked by their bytes and leave nothing behind when refused; only confirmed participants
(and staff) download them; after the activity, participants are mailed once a day."""

import io
import os
import re
import zipfile
from datetime import time, timedelta
from pathlib import Path

import pytest
from fpdf import FPDF
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header
from werkzeug.test import encode_multipart

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.models import (
    AuditEntry,
    EventStatus,
    Material,
    OutboxMessage,
    RegistrationStatus,
    utcnow,
)
from scheduler.services import materials, outbox, planning

MB = 1024 * 1024
OFFICE_MAIN_PART = {
    "docx": ("word/document.xml",
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "pptx": ("ppt/presentation.xml",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
    "xlsx": ("xl/workbook.xml",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
}
OFFICIAL_TYPE = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "odp": "application/vnd.oasis.opendocument.presentation",
}


def pdf_file() -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=14)
    document.cell(text="Lokale aanpak van radicalisering")
    return bytes(document.output())


def zip_file(members: dict[str, str | bytes], stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            # OpenDocument wants its mimetype first and uncompressed.
            plain = stored or name == "mimetype"
            archive.writestr(name, data,
                             compress_type=zipfile.ZIP_STORED if plain else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def office_file_types(extension: str) -> str:
    part, main_type = OFFICE_MAIN_PART[extension]
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/{part}" ContentType="{main_type}"/></Types>')


def office_file(extension: str, stored: bool = False) -> bytes:
    """A minimal Office Open XML package: content types, the package relation, the main part."""
    part = OFFICE_MAIN_PART[extension][0]
    relations = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="' + part + '" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument"/></Relationships>')
    return zip_file({"[Content_Types].xml": office_file_types(extension), "_rels/.rels": relations,
                     part: "<main>Het eigenlijke document</main>"}, stored=stored)


def opendocument_file(extension: str) -> bytes:
    mimetype = OFFICIAL_TYPE[extension]
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        f'manifest:media-type="{mimetype}"/></manifest:manifest>')
    return zip_file({"mimetype": mimetype, "META-INF/manifest.xml": manifest,
                     "content.xml": "<office:document-content/>"})


def sample(extension: str) -> bytes:
    if extension == "pdf":
        return pdf_file()
    if extension in OFFICE_MAIN_PART:
        return office_file(extension)
    return opendocument_file(extension)


@pytest.fixture(autouse=True)
def folder(app, tmp_path) -> Path:
    """Each test keeps its files in a folder of its own, not in the instance folder."""
    path = tmp_path / "materials"
    app.config["MATERIALS_FOLDER"] = str(path)
    return path


@pytest.fixture
def staff_client(client, staff):
    staff.login()
    return client


def files_in(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


def material_rows() -> list[Material]:
    db.session.rollback()
    return list(db.session.scalars(select(Material).order_by(Material.id)))


def post_multipart(client, path: str, fields: dict):
    """POST a form with files as a browser does. Encoded here, in memory: the test client
    would put a large body in a temporary file that nothing closes."""
    values = {name: FileStorage(io.BytesIO(value[0]), filename=value[1],
                                content_type="application/octet-stream")
              if isinstance(value, tuple) else value for name, value in fields.items()}
    boundary, body = encode_multipart(values)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, owner_path: str, filename: str, data: bytes, title: str = "Presentatie"):
    return post_multipart(client, f"{owner_path}/materiaal/bestand",
                          {"file-title": title, "file-file": (data, filename)})


def event_path(event) -> str:
    return f"/beheer/activiteiten/{event.id}"


def series_path(series) -> str:
    return f"/beheer/reeksen/{series.id}"


def field_error(response, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field_id}-error">([^<]*)</p>',
                      response.get_data(as_text=True))
    assert found, f"no error next to {field_id}"
    return found.group(1)


def add_file(owner, staff_user, extension: str = "pdf", title: str = "Presentatie",
             now=None) -> Material:
    return materials.add_file(owner, title, io.BytesIO(sample(extension)),
                              f"{title}.{extension}", staff_user, now=now)


def material_audit() -> list[tuple[str, str, int]]:
    return [tuple(row) for row in db.session.execute(
        select(AuditEntry.action, AuditEntry.subject_type, AuditEntry.subject_id)
        .where(AuditEntry.action.like("material.%")).order_by(AuditEntry.id))]


def outbox_rows(kind: str = "materials_added") -> list[OutboxMessage]:
    db.session.rollback()
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def past_event(make_event, **fields):
    return make_event(starts_at=utcnow() - timedelta(days=1), **fields)


# --- the service ----------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "kept"), [
    ("Presentatie.pdf", "Presentatie.pdf"),
    ("C:\\Users\\an\\Desktop\\Slides LIVC.PPTX", "Slides LIVC.pptx"),
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("  verslag\u202e\u0000  2031.docx ", "verslag 2031.docx"),
    (".pdf", "materiaal.pdf"),
])
def test_the_download_name_is_the_uploaders_name_without_folders(app, given, kept):
    kind = materials.KINDS[materials.extension_of(given)]
    assert materials.safe_filename(given, kind) == kept


def test_purge_removes_only_old_files_that_no_material_refers_to(
        app, make_event, staff, folder):
    event = make_event()
    kept = add_file(event, staff.create())
    orphan = folder / ("0" * 32)
    orphan.write_bytes(b"left by a crash")
    unfinished = folder / ".upload-abc"
    unfinished.write_bytes(b"%PDF-")
    an_hour_ago = (utcnow() - timedelta(hours=2)).timestamp()
    for path in (orphan, unfinished, folder / kept.stored_name):
        os.utime(path, (an_hour_ago, an_hour_ago))
    just_written = folder / ("1" * 32)
    just_written.write_bytes(b"being committed right now")

    assert materials.purge() == 2

    assert files_in(folder) == sorted([kept.stored_name, just_written.name])
    assert materials.purge(now=utcnow() + timedelta(hours=2)) == 1
    assert files_in(folder) == [kept.stored_name]


def test_deleting_a_draft_deletes_its_materials_and_their_files(app, make_event, staff, folder):
    user = staff.create()
    draft = make_event(status=EventStatus.draft)
    other = make_event()
    add_file(draft, user)
    materials.add_link(draft, "Opname", "https://video.example.org/1", user)
    kept = add_file(other, user)

    planning.delete_draft(draft, user)

    assert [material.id for material in material_rows()] == [kept.id]
    assert files_in(folder) == [kept.stored_name]


def test_a_file_the_database_refuses_leaves_no_file(app, make_event, staff, folder):
    from scheduler.models import Event

    user = staff.create()
    vanished = db.session.get(Event, make_event().id)
    db.session.expunge(vanished)
    vanished.id = 999_999  # no such activity: the row breaks its foreign key

    with pytest.raises(Exception):  # noqa: B017 (the database's own refusal)
        add_file(vanished, user)

    assert material_rows() == [] and files_in(folder) == []


def test_only_web_links_are_stored(app, make_event, staff):
    with pytest.raises(materials.MaterialRefusedError):
        materials.add_link(make_event(), "Script", "javascript:alert(1)", staff.create())
    assert material_rows() == []


# --- uploading and refusing -----------------------------------------------------------------

@pytest.mark.parametrize("extension", ["pdf", "docx", "pptx", "xlsx", "odt", "odp"])
def test_each_allowed_kind_is_stored_under_a_random_name_with_its_official_type(
        staff_client, make_event, folder, extension):
    event = make_event()
    data = sample(extension)

    response = upload(staff_client, event_path(event), f"Slides dag 1.{extension.upper()}", data)

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/activiteiten/{event.id}/materiaal#materiaal")
    (material,) = material_rows()
    assert material.event_id == event.id and material.series_id is None
    assert material.title == "Presentatie" and material.is_file
    assert material.filename == f"Slides dag 1.{extension}"
    assert material.content_type == OFFICIAL_TYPE[extension]
    assert material.size_bytes == len(data)
    assert re.fullmatch(r"[0-9a-f]{32}", material.stored_name)
    assert files_in(folder) == [material.stored_name]
    assert (folder / material.stored_name).read_bytes() == data
    assert material_audit() == [("material.add", "event", event.id)]


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode."


def damaged_office_file() -> bytes:
    """A DOCX whose central directory is intact but whose main part is not what it was."""
    data = office_file("docx", stored=True)
    assert data.count(b"Het eigenlijke document") == 1
    return data.replace(b"Het eigenlijke document", b"Het gewijzigde document")


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("programma.pdf", exe(), "Dit is geen geldig PDF-bestand"),
    ("verslag.docx", zip_file({"verslag.txt": "Geen Word"}), "Dit is geen geldig DOCX-bestand"),
    ("verslag.pdf", office_file("docx"),
     "Dit is een DOCX-bestand, maar de naam eindigt op .pdf."),
    ("slides.pptx", office_file("docx"), "Dit is een DOCX-bestand, maar de naam eindigt op .pptx"),
    ("notities.txt", b"Gewoon tekst.\n", "Dit soort bestand kan niet."),
    ("notities.pdf", b"Gewoon tekst.\n", "Dit is geen geldig PDF-bestand"),
    ("programma.exe", exe(), "Dit soort bestand kan niet."),
    ("leeg.pdf", b"", "Dit bestand is leeg."),
    ("afgebroken.docx", office_file("docx")[:-40], "Dit is geen geldig DOCX-bestand"),
    ("beschadigd.docx", damaged_office_file(), "Dit is geen geldig DOCX-bestand"),
    ("tekst.odt", opendocument_file("odp"), "Dit is een ODP-bestand, maar de naam eindigt op .odt"),
])
def test_a_file_of_another_kind_is_refused_next_to_the_field_and_leaves_nothing(
        staff_client, make_event, folder, filename, data, message):
    event = make_event()

    response = upload(staff_client, event_path(event), filename, data)

    assert response.status_code == 422
    assert field_error(response, "file-file").startswith(message)
    assert material_rows() == [] and files_in(folder) == []
    # What was typed stays, so staff only choose another file.
    assert 'value="Presentatie"' in response.get_data(as_text=True)


def test_a_body_over_the_limit_is_refused_with_a_message_not_read(
        staff_client, make_event, folder):
    event = make_event()
    body = b"%PDF-1.7\n" + b"0" * (21 * MB)

    response = upload(staff_client, event_path(event), "groot.pdf", body)

    assert response.status_code == 413
    assert field_error(response, "file-file") == (
        "Dit bestand is te groot: het mag hoogstens 20 MB zijn.")
    assert material_rows() == [] and files_in(folder) == []


@pytest.mark.parametrize(("size", "status"), [(20 * MB + 1, 413), (20 * MB, 303)])
def test_the_limit_is_the_size_of_the_file_itself(staff_client, make_event, folder, size, status):
    event = make_event()
    body = b"%PDF-1.7\n" + b"0" * (size - 9)

    response = upload(staff_client, event_path(event), "groot.pdf", body)

    assert response.status_code == status
    if status == 413:
        assert "te groot" in field_error(response, "file-file")
        assert material_rows() == [] and files_in(folder) == []
    else:
        assert [material.size_bytes for material in material_rows()] == [size]


def test_the_limit_follows_the_setting(app, staff_client, make_event, folder):
    app.config["MATERIALS_MAX_MEGABYTES"] = 1
    response = upload(staff_client, event_path(make_event()), "groot.pdf",
                      b"%PDF-" + b"0" * (2 * MB))
    assert response.status_code == 413
    assert field_error(response, "file-file") == (
        "Dit bestand is te groot: het mag hoogstens 1 MB zijn.")


def test_an_archive_that_unpacks_to_far_more_than_the_limit_is_refused(
        app, staff_client, make_event, folder):
    app.config["MATERIALS_MAX_MEGABYTES"] = 1
    bomb = zip_file({
        "[Content_Types].xml": office_file_types("docx"), "word/document.xml": "<main/>",
        "word/media/zeros.bin": b"\0" * (21 * MB)})
    assert len(bomb) < MB

    response = upload(staff_client, event_path(make_event()), "bom.docx", bomb)

    assert response.status_code == 422
    assert field_error(response, "file-file").startswith("Dit is geen geldig DOCX-bestand")
    assert material_rows() == [] and files_in(folder) == []


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"file-title": "", "file-file": (b"%PDF-1.7", "a.pdf")}, "file-title", "Geef een titel"),
    ({"file-title": "Slides"}, "file-file", "Kies een bestand."),
    ({"file-title": "Slides", "file-file": (b"%PDF-1.7", "")}, "file-file", "Kies een bestand."),
])
def test_a_title_and_a_file_are_required(staff_client, make_event, folder, data, field, message):
    response = post_multipart(staff_client, f"{event_path(make_event())}/materiaal/bestand", data)
    assert response.status_code == 422
    assert field_error(response, field).startswith(message)
    assert material_rows() == [] and files_in(folder) == []


def csrf_token(page: str) -> str:
    return re.search(r'name="file-csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_with_csrf_on_a_large_upload_goes_through_and_one_without_token_does_not(
        app, staff_client, make_event, folder):
    event = make_event()
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token(staff_client.get(f"{event_path(event)}/materiaal").get_data(as_text=True))
    # Well over the 256 KB every other form may send.
    large = pdf_file() + b"%" + b"0" * MB

    path = f"{event_path(event)}/materiaal/bestand"
    forged = post_multipart(staff_client, path, {
        "file-title": "Slides", "file-file": (large, "slides.pdf")})
    too_large = post_multipart(staff_client, path, {
        "file-csrf_token": token, "file-title": "Slides",
        "file-file": (b"%PDF-" + b"0" * 21 * MB, "slides.pdf")})
    accepted = post_multipart(staff_client, path, {
        "file-csrf_token": token, "file-title": "Slides", "file-file": (large, "slides.pdf")})

    assert forged.status_code == 400
    assert too_large.status_code == 413 and "te groot" in field_error(too_large, "file-file")
    assert accepted.status_code == 303
    assert [material.size_bytes for material in material_rows()] == [len(large)]
    assert len(files_in(folder)) == 1


@pytest.mark.parametrize(("url", "accepted"), [
    ("https://video.example.org/opname?t=10", True),
    ("http://www.vvsg.be/radicalisering", True),
    ("javascript:alert(document.cookie)", False),
    ("ftp://files.example.org/slides.pdf", False),
    ("file:///etc/passwd", False),
    ("www.vvsg.be", False),
    ("data:text/html,<script>alert(1)</script>", False),
])
def test_a_link_must_be_a_web_address(staff_client, make_series, url, accepted):
    series = make_series()
    response = staff_client.post(f"{series_path(series)}/materiaal/link",
                                 data={"link-title": "Opname", "link-url": url})
    if accepted:
        assert response.status_code == 303
        (material,) = material_rows()
        assert (material.series_id, material.url, material.is_file) == (series.id, url, False)
    else:
        assert response.status_code == 422
        assert field_error(response, "link-url")
        assert material_rows() == []


def test_staff_delete_a_material_and_its_file(staff_client, make_event, staff, folder):
    event = make_event()
    material = add_file(event, staff.create("collega@vvsg.be"))
    stored = material.stored_name

    page = staff_client.get(f"{event_path(event)}/materiaal").get_data(as_text=True)
    assert "Presentatie.pdf" in page
    response = staff_client.post(f"/beheer/materiaal/{material.id}/verwijderen")

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/activiteiten/{event.id}/materiaal#materiaal")
    assert material_rows() == [] and not (folder / stored).exists()
    assert material_audit() == [("material.add", "event", event.id),
                                ("material.delete", "event", event.id)]
    assert staff_client.post("/beheer/materiaal/999/verwijderen").status_code == 404


def test_the_staff_page_lists_materials_in_a_fixed_number_of_statements(
        staff_client, make_series, staff, count_queries):
    series = make_series()
    user = staff.create("collega@vvsg.be")
    add_file(series, user)
    with count_queries() as one:
        assert staff_client.get(f"{series_path(series)}/materiaal").status_code == 200
    for number in range(4):
        materials.add_link(series, f"Link {number}", f"https://example.org/{number}", user)
    with count_queries() as five:
        page = staff_client.get(f"{series_path(series)}/materiaal")
    assert page.get_data(as_text=True).count("Verwijderen") == 5
    assert len(five) == len(one)


def test_unknown_activities_and_series_are_404(staff_client):
    assert staff_client.get("/beheer/activiteiten/999/materiaal").status_code == 404
    assert staff_client.get("/beheer/reeksen/999/materiaal").status_code == 404
    assert upload(staff_client, "/beheer/activiteiten/999", "a.pdf", pdf_file()).status_code == 404


# --- who sees and downloads what ------------------------------------------------------------

def fetch(client, path: str):
    """GET a download, read to its end and closed, as a browser leaves it."""
    with client.get(path) as response:
        response.get_data()
    return response


def disposition(response) -> tuple[str, dict[str, str]]:
    return parse_options_header(response.headers["Content-Disposition"])


def personal_page(client, registration) -> str:
    response = client.get(f"/inschrijving/{registration.token}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def download_path(registration, material) -> str:
    return f"/inschrijving/{registration.token}/materiaal/{material.id}"


def test_a_confirmed_participant_sees_and_downloads_the_materials(
        client, make_event, make_registration, staff, folder):
    event = make_event()
    user = staff.create()
    data = sample("pptx")
    slides = materials.add_file(event, "Slides", io.BytesIO(data), "Slides dag 1.pptx", user)
    materials.add_link(event, "Opname", "https://video.example.org/opname", user)
    person = make_registration(event)

    page = personal_page(client, person)
    response = fetch(client, download_path(person, slides))

    assert '<section id="materiaal"' in page and ">Materiaal</h2>" in page
    assert download_path(person, slides) in page and "https://video.example.org/opname" in page
    assert response.status_code == 200
    assert response.data == data
    assert response.mimetype == OFFICIAL_TYPE["pptx"]
    assert disposition(response) == ("attachment", {"filename": "Slides dag 1.pptx"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_file_name_beyond_ascii_reaches_the_download(client, make_event, make_registration,
                                                       staff):
    event = make_event()
    material = materials.add_file(event, "Verslag", io.BytesIO(sample("odt")),
                                  "Évaluatie één.odt", staff.create())
    response = fetch(client, download_path(make_registration(event), material))
    assert "filename*=UTF-8''%C3%89valuatie%20%C3%A9%C3%A9n.odt" in (
        response.headers["Content-Disposition"])


@pytest.mark.parametrize("status", [
    RegistrationStatus.waiting, RegistrationStatus.pending, RegistrationStatus.cancelled,
    RegistrationStatus.declined, RegistrationStatus.handed_over,
    RegistrationStatus.handover_requested,
])
def test_who_is_not_confirmed_sees_no_materials(client, make_event, make_registration, staff,
                                                status):
    event = make_event()
    material = add_file(event, staff.create())
    person = make_registration(event, status=status)

    assert 'id="materiaal"' not in personal_page(client, person)
    assert fetch(client, download_path(person, material)).status_code == 404


def test_an_anonymised_registration_gets_nothing(app, make_event, make_registration, staff):
    event = make_event()
    add_file(event, staff.create())
    person = make_registration(event, anonymised_at=utcnow())
    assert materials.for_registration(person) == []


def test_every_other_way_to_a_file_is_the_same_404(
        client, make_event, make_registration, staff):
    user = staff.create()
    event, other_event = make_event(), make_event()
    material = add_file(event, user)
    link = materials.add_link(event, "Opname", "https://video.example.org/1", user)
    elsewhere = add_file(other_event, user, title="Ander")
    person = make_registration(event)
    other_person = make_registration(other_event)
    unknown = "x" * 32

    for path in (
        f"/inschrijving/materiaal/{material.id}",
        f"/inschrijving/{unknown}/materiaal/{material.id}",
        download_path(other_person, material),
        download_path(person, elsewhere),
        download_path(person, link),
        f"/inschrijving/{person.token}/materiaal/999999",
    ):
        response = fetch(client, path)
        assert response.status_code == 404, path
        assert b"PDF" not in response.data[:10]
    assert fetch(client, download_path(person, material)).status_code == 200
    assert fetch(client, download_path(other_person, elsewhere)).status_code == 200


def test_a_file_gone_from_the_folder_is_a_404_not_an_error(
        client, make_event, make_registration, staff, folder):
    event = make_event()
    material = add_file(event, staff.create())
    (folder / material.stored_name).unlink()
    assert client.get(download_path(make_registration(event), material)).status_code == 404


def test_staff_download_everything_and_visitors_are_sent_to_log_in(
        client, staff, make_event, folder):
    event = make_event(status=EventStatus.draft)
    data = sample("xlsx")
    material = materials.add_file(event, "Cijfers", io.BytesIO(data), "cijfers.xlsx",
                                  staff.create())

    anonymous = fetch(client, f"/beheer/materiaal/{material.id}")
    staff.login()
    response = fetch(client, f"/beheer/materiaal/{material.id}")

    assert anonymous.status_code in (302, 303)
    assert "/beheer/aanmelden" in anonymous.headers["Location"]
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == OFFICIAL_TYPE["xlsx"]
    assert disposition(response) == ("attachment", {"filename": "cijfers.xlsx"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert fetch(client, "/beheer/materiaal/999999").status_code == 404


def test_an_anonymous_upload_is_sent_to_log_in_and_stores_nothing(client, make_event, folder):
    response = upload(client, event_path(make_event()), "slides.pdf", pdf_file())
    assert response.status_code in (302, 303)
    assert material_rows() == [] and files_in(folder) == []


def test_a_series_enrolment_sees_the_series_and_each_session(
        client, make_series, make_event, make_registration, staff):
    user = staff.create()
    series, other_series = make_series(), make_series(slug="andere", title="Andere groep")
    first = make_event(series=series, title="Intervisie 1")
    second = make_event(series=series, title="Intervisie 2")
    draft = make_event(series=series, status=EventStatus.draft)
    foreign_session = make_event(series=other_series)
    of_series = materials.add_link(series, "Leeswijzer", "https://example.org/lees", user)
    of_second = add_file(second, user, title="Casus")
    of_first = add_file(first, user, title="Slides")
    hidden = add_file(draft, user, title="Ontwerp")
    foreign = add_file(foreign_session, user, title="Niet voor jou")
    member = make_registration(series)

    assert materials.for_registration(member) == [of_series, of_first, of_second]
    page = personal_page(client, member)
    assert "Leeswijzer" in page and "Casus" in page and "Slides" in page
    assert "Ontwerp" not in page and "Niet voor jou" not in page
    assert fetch(client, download_path(member, of_second)).status_code == 200
    for material in (hidden, foreign):
        assert fetch(client, download_path(member, material)).status_code == 404


def test_the_personal_page_reads_materials_in_a_fixed_number_of_statements(
        client, make_event, make_registration, staff, count_queries):
    event = make_event()
    user = staff.create()
    add_file(event, user)
    person = make_registration(event)
    with count_queries() as one:
        personal_page(client, person)
    for number in range(4):
        materials.add_link(event, f"Link {number}", f"https://example.org/{number}", user)
    with count_queries() as five:
        assert personal_page(client, person).count("<li>") >= 5
    assert len(five) == len(one)


# --- the mail after the activity ------------------------------------------------------------

def test_materials_added_before_the_end_send_no_mail(app, make_event, make_registration, staff):
    event = make_event()
    make_registration(event)
    add_file(event, staff.create())
    assert outbox_rows() == []


def test_materials_after_the_end_mail_each_confirmed_participant_once_a_day(
        app, smtp, make_event, make_registration, staff):
    user = staff.create()
    event = past_event(make_event, title="Vorming in Gent")
    confirmed = [make_registration(event), make_registration(event)]
    make_registration(event, status=RegistrationStatus.waiting)
    make_registration(event, status=RegistrationStatus.cancelled)
    now = utcnow()

    add_file(event, user, now=now)
    materials.add_link(event, "Opname", "https://video.example.org/1", user, now=now)

    rows = outbox_rows()
    assert sorted(row.registration_id for row in rows) == sorted(r.id for r in confirmed)
    day = local(now).date().isoformat()
    assert {row.dedupe_key for row in rows} == {
        f"materials:{r.id}:event:{event.id}:{day}" for r in confirmed}
    assert all(row.next_attempt_at == now + materials.ANNOUNCE_DELAY for row in rows)

    transport = outbox.transport_from_config(app.config, app.instance_path)
    assert outbox.deliver_pending(transport, now=now).sent == 0
    outbox.deliver_pending(transport, now=now + timedelta(minutes=11))
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == sorted(
        r.email for r in confirmed)
    message = smtp.messages[0]
    assert message["Subject"] == "Nieuw materiaal: Vorming in Gent"
    text = message.get_body(("plain",)).get_content()
    token = next(r.token for r in confirmed if r.email == message["To"].addresses[0].addr_spec)
    assert f"Materiaal bekijken: https://agenda.example.org/inschrijving/{token}#materiaal" in text
    assert not any(part.get_content_type() == "text/calendar" for part in message.walk())

    add_file(event, user, title="Tweede", now=now + timedelta(minutes=30))
    assert len(outbox_rows()) == 2
    add_file(event, user, title="Later", now=now + timedelta(days=1))
    assert len(outbox_rows()) == 4


def test_a_cancelled_activity_sends_no_mail_about_materials(
        app, make_event, make_registration, staff):
    event = past_event(make_event, status=EventStatus.cancelled)
    make_registration(event)
    add_file(event, staff.create())
    assert outbox_rows() == []


def test_a_series_is_announced_once_its_first_session_ended(
        app, make_series, make_event, make_registration, staff):
    user = staff.create()
    series = make_series()
    first = make_event(series=series, starts_at=utcnow() + timedelta(days=3))
    make_event(series=series, starts_at=utcnow() + timedelta(days=30))
    member = make_registration(series)
    make_registration(series, status=RegistrationStatus.waiting)

    materials.add_link(series, "Leeswijzer", "https://example.org/lees", user)
    assert outbox_rows() == []

    later = first.ends_at + timedelta(hours=1)
    materials.add_link(series, "Verslag", "https://example.org/verslag", user, now=later)
    add_file(first, user, title="Slides", now=later)

    rows = outbox_rows()
    day = local(later).date().isoformat()
    assert [(row.registration_id, row.event_id, row.dedupe_key) for row in rows] == [
        (member.id, None, f"materials:{member.id}:series:{series.id}:{day}"),
        (member.id, first.id, f"materials:{member.id}:event:{first.id}:{day}"),
    ]


def test_the_staff_page_says_whether_participants_will_be_mailed(
        staff_client, make_event):
    coming, past = make_event(), past_event(make_event)
    before = staff_client.get(f"{event_path(coming)}/materiaal").get_data(as_text=True)
    after = staff_client.get(f"{event_path(past)}/materiaal").get_data(as_text=True)
    assert "Na afloop krijgt iedereen een mail" in before
    assert "De activiteit is voorbij: wie bevestigd is, krijgt een mail" in after


def test_nothing_is_left_in_the_folder_after_refusals(staff_client, make_event, folder):
    event = make_event()
    for name, data in (("a.pdf", exe()), ("b.docx", b""), ("c.pdf", b"%PDF-" + b"0" * 21 * MB)):
        upload(staff_client, event_path(event), name, data)
    assert files_in(folder) == []
    assert db.session.scalar(select(func.count(Material.id))) == 0


def test_a_material_deleted_before_its_announcement_left_is_not_announced(
        app, smtp, make_event, make_registration, staff):
    user = staff.create()
    event = past_event(make_event)
    make_registration(event)
    slides = add_file(event, user)
    assert len(outbox_rows()) == 1

    # Uploaded by mistake, taken away within the hold: the mail goes with it.
    materials.delete_material(slides, user)
    assert outbox_rows() == []
    transport = outbox.transport_from_config(app.config, app.instance_path)
    outbox.deliver_pending(transport, now=utcnow() + timedelta(minutes=11))
    assert smtp.messages == []

    # What is added later that day is announced after all.
    add_file(event, user, title="Juiste presentatie")
    extra = add_file(event, user, title="Te veel")
    materials.delete_material(extra, user)
    assert len(outbox_rows()) == 1
    outbox.deliver_pending(transport, now=utcnow() + timedelta(minutes=11))
    assert len(smtp.messages) == 1


def test_an_announcement_is_taken_back_across_midnight(
        app, make_event, make_registration, staff):
    user = staff.create()
    event = past_event(make_event)
    make_registration(event)
    before_midnight = brussels_to_utc(local(utcnow()).date(), time(23, 57))
    slides = add_file(event, user, now=before_midnight)
    materials.delete_material(slides, user, now=before_midnight + timedelta(minutes=5))
    assert outbox_rows() == []

    # Added on each side of midnight, the first taken away: its day's mail goes with it, the
    # next day's announces what is left.
    first = add_file(event, user, title="Eerste", now=before_midnight)
    add_file(event, user, title="Tweede", now=before_midnight + timedelta(minutes=5))
    assert len(outbox_rows()) == 2
    materials.delete_material(first, user, now=before_midnight + timedelta(minutes=6))
    (left,) = outbox_rows()
    assert left.dedupe_key.endswith(
        (local(before_midnight) + timedelta(days=1)).date().isoformat())


def test_an_announcement_a_sender_holds_is_left_to_go(app, make_event, make_registration, staff):
    user = staff.create()
    event = past_event(make_event)
    make_registration(event)
    slides = add_file(event, user)
    (row,) = outbox_rows()
    row.leased_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    materials.delete_material(slides, user)
    assert [message.id for message in outbox_rows()] == [row.id]


def test_deleting_a_session_material_leaves_the_series_announcement(
        app, make_series, make_event, make_registration, staff):
    user = staff.create()
    series = make_series()
    session = make_event(series=series, starts_at=utcnow() - timedelta(days=2))
    make_registration(series)
    add_file(series, user, title="Voor de reeks")
    extra = add_file(session, user, title="Voor de sessie")
    assert len(outbox_rows()) == 2
    materials.delete_material(extra, user)
    (left,) = outbox_rows()
    assert f":series:{series.id}:" in left.dedupe_key
