"""Materials: files and links staff share with the participants of an activity or a series.

Only a confirmed registration sees them: the materials of its activity, or for a series
enrolment those of the series and of each of its sessions. Drafts show nothing outside the
staff area, so neither do the materials of a draft.

A file is accepted for what its bytes are, not for what the browser or its name says: a PDF,
an Office Open XML document (DOCX, PPTX, XLSX) or an OpenDocument text or presentation (ODT,
ODP), whose extension must name that same kind. It is stored under a random name in
MATERIALS_FOLDER and only ever served as a download. Nothing of a refused upload stays
behind: it is written to a temporary file in the folder, checked, and renamed only once it
passed; the row and the file stand or fall together.

Materials added after the activity (for a series: after its first session) are announced
to every confirmed participant, one mail per person, activity and day, held back a little so
a batch of uploads goes out as one.
"""

import contextlib
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, delete, or_, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.orm import Session

from scheduler.dates import local
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.links import public_url
from scheduler.models import (
    Event,
    EventStatus,
    MailStatus,
    Material,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Series,
    StaffUser,
    utcnow,
)
from scheduler.services import audit, notifications, places

Owner = places.Owner

MEGABYTE = 1024 * 1024
# How long an unconfirmed mail waits, so that the rest of a batch of uploads goes with it.
ANNOUNCE_DELAY = timedelta(minutes=10)
# A file no row refers to is left alone this long: it may be an upload still being written
# or one renamed a moment before its row is committed.
ORPHAN_GRACE = timedelta(hours=1)
# An archive may unpack to this many times the upload limit; more is a zip bomb, not a slide
# deck (Office files hold images, which do not shrink in a ZIP).
LARGEST_UNPACKING = 20
CHUNK = MEGABYTE
TEMPORARY_PREFIX = ".upload-"
# What ``secrets.token_hex(16)`` gives a stored file.
STORED_NAME = re.compile(r"[0-9a-f]{32}")
SCHEMES = ("http", "https")


@dataclass(frozen=True)
class FileKind:
    """A kind of file we accept: its extension, its name in messages and its MIME type."""

    extension: str
    label: str
    content_type: str


PDF = FileKind("pdf", "PDF", "application/pdf")
DOCX = FileKind("docx", "DOCX",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
PPTX = FileKind("pptx", "PPTX",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation")
XLSX = FileKind("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
ODT = FileKind("odt", "ODT", "application/vnd.oasis.opendocument.text")
ODP = FileKind("odp", "ODP", "application/vnd.oasis.opendocument.presentation")
KINDS = {kind.extension: kind for kind in (PDF, DOCX, PPTX, XLSX, ODT, ODP)}
ACCEPTED = ", ".join(f".{extension}" for extension in KINDS)

# Office Open XML: the folder of the main part, and the content type [Content_Types].xml gives
# it. The macro-enabled and template variants (.docm, .dotx) have another and are refused.
OFFICE_PARTS = {
    DOCX: ("word/", DOCX.content_type + ".main+xml"),
    PPTX: ("ppt/", PPTX.content_type + ".main+xml"),
    XLSX: ("xl/", XLSX.content_type + ".main+xml"),
}
OPENDOCUMENT = {ODT.content_type: ODT, ODP.content_type: ODP}


class MaterialRefusedError(SchedulerError):
    """An upload or link that is not accepted; ``too_large`` answers 413 instead of 422."""

    message = "Dit bestand kunnen we niet aanvaarden."

    def __init__(self, message: str | None = None, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


def max_bytes() -> int:
    """The largest file accepted, MATERIALS_MAX_MEGABYTES (mebibytes, as file managers count)."""
    return current_app.config["MATERIALS_MAX_MEGABYTES"] * MEGABYTE


def too_large_message() -> str:
    megabytes = current_app.config["MATERIALS_MAX_MEGABYTES"]
    return f"Dit bestand is te groot: het mag hoogstens {megabytes} MB zijn."


def folder() -> Path:
    """Where the files are: MATERIALS_FOLDER, or "materials" in the instance folder."""
    configured = current_app.config.get("MATERIALS_FOLDER")
    return Path(configured) if configured else Path(current_app.instance_path) / "materials"


def path_of(material: Material) -> Path | None:
    """The stored file of a material, or None for a link or a file that went missing."""
    if not material.is_file:
        return None
    path = folder() / material.stored_name
    return path if path.is_file() else None


def _visible_to(registration: Registration) -> ColumnElement[bool] | None:
    """The materials a registration may see, as a condition on Material joined with its Event
    (outer: a series' own materials have none)."""
    if (registration.status is not RegistrationStatus.confirmed
            or registration.anonymised_at is not None):
        return None
    shown = or_(Event.id.is_(None), Event.status != EventStatus.draft)
    if registration.series_id is not None:
        return and_(shown, or_(Material.series_id == registration.series_id,
                               Event.series_id == registration.series_id))
    return and_(shown, Material.event_id == registration.event_id)


def _materials_where(condition: ColumnElement[bool]) -> Select:
    return (select(Material).outerjoin(Event, Material.event_id == Event.id).where(condition)
            # The series' own materials first, then those of each session in date order.
            .order_by(Event.starts_at.is_not(None), Event.starts_at, Material.created_at,
                      Material.id))


def for_registration(registration: Registration) -> list[Material]:
    """The materials this registration may see (nothing unless it is confirmed), in one query."""
    condition = _visible_to(registration)
    if condition is None:
        return []
    return list(db.session.scalars(_materials_where(condition)))


def find_for_registration(registration: Registration, material_id: int) -> Material | None:
    """One material, if this registration may see it: the same rule as ``for_registration``."""
    condition = _visible_to(registration)
    if condition is None:
        return None
    return db.session.scalars(_materials_where(and_(condition, Material.id == material_id))).first()


def _of_owner(owner: Owner) -> ColumnElement[bool]:
    column = Material.series_id if isinstance(owner, Series) else Material.event_id
    return column == owner.id


def list_for(owner: Owner) -> list[Material]:
    """The materials of an activity or of a series itself, oldest first (for staff)."""
    return list(db.session.scalars(
        select(Material).where(_of_owner(owner)).order_by(Material.created_at, Material.id)))


def owner_of(material: Material) -> Owner:
    """The activity or series a material belongs to."""
    if material.series_id is not None:
        return db.session.get_one(Series, material.series_id)
    return db.session.get_one(Event, material.event_id)


def _attach(material: Material, owner: Owner) -> None:
    if isinstance(owner, Series):
        material.series_id = owner.id
    else:
        material.event_id = owner.id


def _subject(owner: Owner) -> tuple[str, int]:
    return ("series" if isinstance(owner, Series) else "event"), owner.id


def base_name(name: str) -> str:
    """The uploader's file name without folders, invisible characters or odd spaces."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(" " if unicodedata.category(char)[0] == "Z" else char for char in base
                   if unicodedata.category(char)[0] != "C")
    return " ".join(base.split())


def extension_of(name: str) -> str:
    """The extension of a file name, lower-cased; "" when it has none."""
    base = base_name(name)
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def safe_filename(name: str, kind: FileKind) -> str:
    """The name a download gets: the uploader's name without folders, with the extension of
    its kind; "materiaal.<ext>" when nothing else is left."""
    stem = base_name(name).rsplit(".", 1)[0].strip(" .")
    suffix = f".{kind.extension}"
    return (stem or "materiaal")[: 200 - len(suffix)] + suffix


def detect(path: Path) -> FileKind | None:
    """What a stored file is by its bytes: one of KINDS, or None (another kind, or a
    damaged archive)."""
    with path.open("rb") as file:
        head = file.read(5)
    if head == b"%PDF-":
        return PDF
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            return _detect_archive(archive)
    # A damaged archive raises what its damage happens to cause: a bad header or CRC, a
    # truncated member, an unknown compression, encryption.
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError,
            ValueError):
        return None


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with archive.open(name) as member:
        return member.read(limit)


def _detect_archive(archive: zipfile.ZipFile) -> FileKind | None:
    members = archive.infolist()
    if sum(member.file_size for member in members) > LARGEST_UNPACKING * max_bytes():
        return None
    # Every member is unpacked once and its checksum compared: a damaged file is refused
    # now, not when a participant tries to open it.
    if archive.testzip() is not None:
        return None
    names = {member.filename for member in members}
    if "mimetype" in names:
        declared = _read_member(archive, "mimetype", 100).decode("ascii", "replace").strip()
        return OPENDOCUMENT.get(declared)
    if "[Content_Types].xml" not in names:
        return None
    content_types = _read_member(archive, "[Content_Types].xml", MEGABYTE).decode("utf-8",
                                                                                   "replace")
    for kind, (prefix, main_type) in OFFICE_PARTS.items():
        if f'"{main_type}"' in content_types and any(name.startswith(prefix) for name in names):
            return kind
    return None


def _refuse_kind(filename: str, found: FileKind | None) -> MaterialRefusedError | None:
    """Why a file of this name and content is refused, or None when both name one kind."""
    extension = extension_of(filename)
    named = KINDS.get(extension)
    if named is None:
        return MaterialRefusedError(
            "Dit soort bestand kan niet. Kies een PDF, een Word-, PowerPoint- of Excel-bestand "
            "(DOCX, PPTX, XLSX) of een OpenDocument-tekst of -presentatie (ODT, ODP).")
    if found is None:
        return MaterialRefusedError(
            f"Dit is geen geldig {named.label}-bestand: het is beschadigd of van een ander "
            "soort dan de naam zegt.")
    if found is not named:
        return MaterialRefusedError(
            f"Dit is een {found.label}-bestand, maar de naam eindigt op .{extension}. "
            f"Geef het de juiste extensie (.{found.extension}) en probeer opnieuw.")
    return None


def _receive(upload: BinaryIO, directory: Path) -> tuple[Path, int]:
    """Copy the upload into a temporary file in ``directory``; refuses it past the limit."""
    limit = max_bytes()
    handle, name = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=directory)
    temporary = Path(name)
    size = 0
    try:
        with os.fdopen(handle, "wb") as target:
            while chunk := upload.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise MaterialRefusedError(too_large_message(), too_large=True)
                target.write(chunk)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary, size


def add_file(owner: Owner, title: str, upload: BinaryIO, filename: str, staff: StaffUser | None,
             now: datetime | None = None) -> Material:
    """Store an uploaded file for the participants of ``owner`` and announce it (see
    ``announce``); ``staff`` is None for what the demo adds. Raises MaterialRefusedError for
    an empty file, one over MATERIALS_MAX_MEGABYTES (``too_large``), or one whose bytes are
    not the kind its name says; nothing is left behind then, nor when the database refuses
    the row."""
    now = now or utcnow()
    directory = folder()
    directory.mkdir(parents=True, exist_ok=True)
    temporary, size = _receive(upload, directory)
    stored: Path | None = None
    try:
        if size == 0:
            raise MaterialRefusedError("Dit bestand is leeg.")
        kind = detect(temporary)
        refusal = _refuse_kind(filename, kind)
        if refusal is not None:
            raise refusal
        stored_name = secrets.token_hex(16)
        stored = directory / stored_name
        os.replace(temporary, stored)
        material = Material(title=title, stored_name=stored_name,
                            filename=safe_filename(filename, kind), content_type=kind.content_type,
                            size_bytes=size, created_at=now,
                            created_by_id=staff.id if staff else None)
        _store(material, owner, staff, f"{title} ({material.filename})", now)
    except BaseException:
        temporary.unlink(missing_ok=True)
        if stored is not None:
            stored.unlink(missing_ok=True)
        raise
    return material


def is_link(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) address with a host."""
    parts = urlsplit(url)
    return parts.scheme.lower() in SCHEMES and bool(parts.netloc)


def add_link(owner: Owner, title: str, url: str, staff: StaffUser | None,
             now: datetime | None = None) -> Material:
    """Share a link with the participants of ``owner`` and announce it (see ``announce``).
    Raises MaterialRefusedError for anything but an http or https address."""
    now = now or utcnow()
    if not is_link(url):
        raise MaterialRefusedError("Geef een link die begint met http:// of https://.")
    material = Material(title=title, url=url, created_at=now,
                        created_by_id=staff.id if staff else None)
    _store(material, owner, staff, f"{title} ({url})", now)
    return material


def _store(material: Material, owner: Owner, staff: StaffUser | None, summary: str,
           now: datetime) -> None:
    _attach(material, owner)
    db.session.add(material)
    db.session.flush()
    audit.record(staff, "material.add", *_subject(owner), summary)
    announce(owner, now)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def delete_material(material: Material, staff: StaffUser, now: datetime | None = None) -> Owner:
    """Remove a material; its file goes once the removal is committed. Returns its owner."""
    now = now or utcnow()
    owner = owner_of(material)
    audit.record(staff, "material.delete", *_subject(owner), material.title)
    _forget([material])
    _hold_back_announcement(owner, now)
    db.session.commit()
    return owner


def _announcement_key(registration: Registration, owner: Owner, now: datetime) -> str:
    """One announcement per person, activity (or series) and Brussels day."""
    subject_type, subject_id = _subject(owner)
    return f"materials:{registration.id}:{subject_type}:{subject_id}:{local(now).date()}"


def _hold_back_announcement(owner: Owner, now: datetime) -> None:
    """A material deleted while its announcement is still unsent (held back ANNOUNCE_DELAY):
    an announcement of a day from which nothing added that day is left is taken back, so it
    announces nothing that is not there (what was added another day has its own)."""
    subject_type, subject_id = _subject(owner)
    unsent = db.session.execute(select(OutboxMessage.id, OutboxMessage.dedupe_key).where(
        OutboxMessage.kind == "materials_added", OutboxMessage.status == MailStatus.pending,
        OutboxMessage.dedupe_key.like(f"materials:%:{subject_type}:{subject_id}:%"),
        # One a sender holds right now goes: it is as good as sent.
        or_(OutboxMessage.leased_until.is_(None), OutboxMessage.leased_until < now))).all()
    if not unsent:
        return
    days_left = {local(created_at).date() for created_at in db.session.scalars(
        select(Material.created_at).where(_of_owner(owner)))}
    moot = [message_id for message_id, key in unsent
            if date.fromisoformat(key.rpartition(":")[2]) not in days_left]
    if moot:
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(moot))
                           .execution_options(synchronize_session=False))


def delete_all_of(event: Event | None = None, series: Series | None = None) -> int:
    """Delete the materials of an activity or series in the caller's transaction; their
    files are removed when it commits (kept when it rolls back). Returns how many."""
    if event is not None:
        condition = Material.event_id == event.id
    elif series is not None:
        condition = Material.series_id == series.id
    else:
        raise ValueError("delete_all_of needs an event or a series")
    found = list(db.session.scalars(select(Material).where(condition)))
    _forget(found)
    return len(found)


FILES_TO_REMOVE = "materials.files_to_remove"


def _forget(found: list[Material]) -> None:
    paths = [folder() / material.stored_name for material in found if material.is_file]
    db.session.info.setdefault(FILES_TO_REMOVE, []).extend(paths)
    if found:
        db.session.execute(delete(Material).where(Material.id.in_([m.id for m in found])))


@sqlalchemy_event.listens_for(Session, "after_commit")
def _remove_deleted_files(session: Session) -> None:
    for path in session.info.pop(FILES_TO_REMOVE, ()):
        # A file already gone is what we wanted; purge deals with one we could not remove.
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


@sqlalchemy_event.listens_for(Session, "after_rollback")
def _keep_files(session: Session) -> None:
    session.info.pop(FILES_TO_REMOVE, None)


def announces_new_materials(owner: Owner, now: datetime) -> bool:
    """Whether participants are mailed about new materials now: the activity ended (not
    cancelled), or for a series its first session that was not cancelled."""
    if isinstance(owner, Series):
        held = [session for session in owner.events
                if session.status is EventStatus.published]
        return bool(held) and held[0].has_ended(now)
    return owner.status is EventStatus.published and owner.has_ended(now)


def announce(owner: Owner, now: datetime) -> int:
    """Queue the mail about new materials for every confirmed participant of ``owner``, when
    it is over (``announces_new_materials``): one per person, activity and Brussels day, sent
    after ANNOUNCE_DELAY. The caller commits. Returns how many mails were queued."""
    if not announces_new_materials(owner, now):
        return 0
    people = db.session.scalars(select(Registration).where(
        places.of_owner(owner.places_owner if isinstance(owner, Event) else owner),
        Registration.status == RegistrationStatus.confirmed,
        Registration.anonymised_at.is_(None),
    )).all()
    keys = {_announcement_key(registration, owner, now): registration for registration in people}
    if not keys:
        return 0
    existing = set(db.session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
    queued = 0
    for key, registration in keys.items():
        if key in existing:
            continue
        personal_page = public_url("registrations.detail", token=registration.token)
        notifications.queue(
            "materials_added", registration, event=owner if isinstance(owner, Event) else None,
            dedupe_key=key, with_calendar=False,
            action=("Materiaal bekijken", f"{personal_page}#materiaal"),
            send_after=now + ANNOUNCE_DELAY)
        queued += 1
    return queued


def purge(now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete the files in the folder that no material refers to (left by a crash, or by a
    deletion whose file could not be removed), once they are ORPHAN_GRACE old. Returns how
    many were deleted (a dry run only counts them). Only names this module gives are touched:
    a folder set by mistake to one holding other files (the database, its backups) loses
    nothing else."""
    now = now or utcnow()
    directory = folder()
    if not directory.is_dir():
        return 0
    referred = set(db.session.scalars(
        select(Material.stored_name).where(Material.stored_name.is_not(None))))
    cutoff = (now - ORPHAN_GRACE).timestamp()
    removed = 0
    for path in directory.iterdir():
        ours = STORED_NAME.fullmatch(path.name) or path.name.startswith(TEMPORARY_PREFIX)
        if (not ours or path.name in referred or not path.is_file()
                or path.stat().st_mtime > cutoff):
            continue
        if dry_run:
            removed += 1
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed
