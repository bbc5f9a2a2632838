"""Attestations of attendance: issued from the attendance staff record, verifiable by code.

One rule, kept by ``bring_up_to_date`` whatever changed (attendance taken or corrected, a name
corrected, attendance made final): a registration's current attestation states exactly the
sessions it was present at. When that changes, the old one is marked replaced (or withdrawn,
when nothing attended is left) and a new one with a new code is issued; its mail goes out once
the attendance of the activity, or of every session of a series, is final. An attestation
staff revoked stays revoked until staff issue it again. Whoever was mailed an attestation that
stops holding, with nothing in its place, is told so.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select, update

from scheduler.dates import end_of_day
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    Attestation,
    Event,
    EventKind,
    EventStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Series,
    StaffUser,
    utcnow,
)
from scheduler.services import audit, notifications, places
from scheduler.services.attestation_document import AttendedSession, sessions_of

# The statuses of a registration that had a place: the others never attended as registered.
HELD_A_PLACE = (RegistrationStatus.confirmed, RegistrationStatus.cancelled,
                RegistrationStatus.handed_over)
# Crockford's base 32: no I, L, O or U to misread when a code is typed from paper.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 4
CODE_GROUP_LENGTH = 5
MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})


def new_code() -> str:
    """Twenty characters of 5 random bits each, e.g. ``7QK2M-XD4PA-…``: 100 bits, unguessable."""
    characters = "".join(secrets.choice(CODE_ALPHABET)
                         for _ in range(CODE_GROUPS * CODE_GROUP_LENGTH))
    return "-".join(characters[start:start + CODE_GROUP_LENGTH]
                    for start in range(0, len(characters), CODE_GROUP_LENGTH))


def normalised_code(typed: str) -> str | None:
    """A code as typed (any case, spaces or dashes, O for 0) in its stored form; None when it
    cannot be one."""
    characters = "".join(typed.upper().split()).replace("-", "").translate(MISREAD)
    if len(characters) != CODE_GROUPS * CODE_GROUP_LENGTH or any(
            character not in CODE_ALPHABET for character in characters):
        return None
    return "-".join(characters[start:start + CODE_GROUP_LENGTH]
                    for start in range(0, len(characters), CODE_GROUP_LENGTH))


def find(typed_code: str) -> Attestation | None:
    code = normalised_code(typed_code)
    if code is None:
        return None
    return db.session.scalars(select(Attestation).where(Attestation.code == code)).one_or_none()


@dataclass(frozen=True)
class Facts:
    """What an attestation states; two attestations stating the same facts are the same."""

    person_name: str
    organisation_name: str
    title: str
    kind: EventKind
    sessions: tuple[AttendedSession, ...]

    @property
    def minutes(self) -> int:
        return sum(session.minutes for session in self.sessions)

    @classmethod
    def stated_by(cls, attestation: Attestation) -> "Facts":
        return cls(attestation.person_name, attestation.organisation_name, attestation.title,
                   attestation.kind, sessions_of(attestation))


def facts_of(registrations: list[Registration],
             now: datetime | None = None) -> dict[int, Facts]:
    """Registration id → what its attestation must state now, in one query; left out when it
    attended nothing.

    Only what took place counts: a session whose day has come (attendance is taken at the
    door, on the day), not cancelled, while the registration held a place (confirmed; one
    cancelled or handed over since keeps the sessions before that). A walk-in is added by hand
    first, so they hold a place too.
    """
    now = now or utcnow()
    by_id = {registration.id: registration for registration in registrations
             if registration.status in HELD_A_PLACE}
    attended: dict[int, list[AttendedSession]] = {}
    rows = db.session.execute(
        select(Attendance.registration_id, Event.title, Event.starts_at, Event.ends_at)
        .join(Event, Event.id == Attendance.event_id)
        .where(Attendance.registration_id.in_(by_id), Attendance.is_present.is_(True),
               Event.status != EventStatus.cancelled, Event.starts_at < end_of_day(now))
        .order_by(Event.starts_at, Event.id))
    for registration_id, title, starts_at, ends_at in rows:
        given_up = by_id[registration_id].cancelled_at
        if given_up is None or starts_at < given_up:
            attended.setdefault(registration_id, []).append(
                AttendedSession(title, starts_at, ends_at))
    return {
        registration_id: Facts(
            person_name=f"{by_id[registration_id].first_name} "
                        f"{by_id[registration_id].last_name}".strip(),
            organisation_name=by_id[registration_id].organisation_name,
            title=by_id[registration_id].places_owner.title,
            kind=by_id[registration_id].places_owner.kind,
            sessions=tuple(sessions))
        for registration_id, sessions in attended.items()
    }


def latest_of(registrations: list[Registration]) -> dict[int, Attestation]:
    """Registration id → its attestation that nothing replaced (valid, revoked or withdrawn),
    in one query."""
    found = db.session.scalars(
        select(Attestation)
        .where(Attestation.registration_id.in_([r.id for r in registrations]),
               Attestation.replaced_by_id.is_(None))
        .order_by(Attestation.id))
    return {attestation.registration_id: attestation for attestation in found}


def shown_to(registration: Registration) -> Attestation | None:
    """The attestation the personal page offers: the latest, unless it was withdrawn."""
    latest = latest_of([registration]).get(registration.id)
    if latest is None or is_withdrawn(latest):
        return None
    return latest


def is_withdrawn(attestation: Attestation) -> bool:
    """Ended with nothing in its place: a correction or a cancellation left nothing to attest,
    or the version that replaced it expired and was deleted."""
    return attestation.replaced_at is not None and attestation.replaced_by_id is None


def no_longer_holds(attestation: Attestation) -> bool:
    """Ended without a valid attestation in its place: withdrawn, or replaced by versions the
    last of which was withdrawn or revoked. Its holder has nothing valid to show, so its page
    says it no longer holds rather than sending people to look for a newer one."""
    if attestation.replaced_at is None:
        return False
    last = attestation
    while last.replaced_by_id is not None:
        last = db.session.get_one(Attestation, last.replaced_by_id)
    return not last.is_valid


def is_final(owner: Event | Series) -> bool:
    """Whether staff declared the attendance complete: of the activity, or of every session
    of a series that takes place."""
    if isinstance(owner, Event):
        return owner.attendance_final_at is not None
    held = [session for session in owner.events if session.status is EventStatus.published]
    return bool(held) and all(session.attendance_final_at is not None for session in held)


def bring_up_to_date(registration: Registration, *, after_revocation: bool = False,
                     mail: bool = True, now: datetime | None = None) -> Attestation | None:
    """``bring_all_up_to_date`` for one registration: the attestation issued, or None. The
    caller holds the lock on the places of its activity (``places.lock``), so two corrections
    at once take turns."""
    return bring_all_up_to_date([registration], after_revocation=after_revocation, mail=mail,
                                now=now).get(registration.id)


def bring_all_up_to_date(registrations: list[Registration], *, after_revocation: bool = False,
                         mail: bool = True, now: datetime | None = None
                         ) -> dict[int, Attestation]:
    """Make each registration's attestation state what it attended now, reading them all in
    two queries; the caller commits.

    Returns registration id → the attestation issued, for those that had to change. A new one
    is mailed when the attendance is final already (a correction) and ``mail`` is set; whoever
    is left with nothing valid is told (``_tell_withdrawn``) either way. A revoked attestation is
    left alone unless staff issue it again (``after_revocation``); an anonymised registration
    keeps what it has, for verification.
    """
    now = now or utcnow()
    named = [registration for registration in registrations if registration.anonymised_at is None]
    latest = latest_of(named)
    facts = facts_of(named, now)
    issued, withdrawn = {}, []
    for registration in named:
        attestation = _bring_up_to_date(registration, latest.get(registration.id),
                                        facts.get(registration.id), after_revocation, now,
                                        withdrawn)
        if attestation is not None:
            issued[registration.id] = attestation
            if mail and is_final(registration.places_owner):
                _queue_mail(registration, attestation,
                            replaces=latest.get(registration.id) is not None)
    _tell_withdrawn(withdrawn)
    return issued


def _bring_up_to_date(registration: Registration, latest: Attestation | None,
                      facts: Facts | None, after_revocation: bool, now: datetime,
                      withdrawn: list[Attestation]) -> Attestation | None:
    if latest is not None and latest.revoked_at is not None and not after_revocation:
        return None
    current = latest if latest is not None and not is_withdrawn(latest) else None
    if current is not None and current.revoked_at is None and facts == Facts.stated_by(current):
        return None
    if facts is None:
        if current is not None and current.is_valid:
            current.replaced_at = now
            withdrawn.append(current)
        return None
    # The one before ends first: the database holds one valid attestation per registration.
    if latest is not None:
        latest.replaced_at = latest.replaced_at or now
        db.session.flush()
    issued = _issue(registration, facts, now)
    # Withdrawn or not, the one before now points at its successor: its page says "replaced".
    if latest is not None:
        latest.replaced_by = issued
    return issued


def _issue(registration: Registration, facts: Facts, now: datetime) -> Attestation:
    owner = registration.places_owner
    last_end = max(session.ends_at for session in facts.sessions)
    attestation = Attestation(
        code=new_code(), registration=registration,
        event_id=owner.id if isinstance(owner, Event) else None,
        series_id=owner.id if isinstance(owner, Series) else None,
        person_name=facts.person_name, organisation_name=facts.organisation_name,
        title=facts.title, kind=facts.kind,
        sessions=[{"title": session.title, "starts_at": session.starts_at.isoformat(),
                   "ends_at": session.ends_at.isoformat()} for session in facts.sessions],
        minutes=facts.minutes, issued_at=now,
        verifiable_until=years_after(last_end,
                                     current_app.config["ATTESTATION_RETENTION_YEARS"]),
    )
    db.session.add(attestation)
    db.session.flush()
    return attestation


def years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        # 29 February in a year that has none.
        return moment.replace(year=moment.year + years, day=28)


REPLACES = ("Dit attest vervangt het attest dat je eerder kreeg: de code van dat attest geldt "
            "niet meer.")


def _queue_mail(registration: Registration, attestation: Attestation,
                replaces: bool = False) -> None:
    key = f"attestation:{attestation.id}"
    notifications.queue("attestation", registration, with_calendar=False,
                        attestation_id=attestation.id, dedupe_key=key,
                        extra=REPLACES if replaces else "")


def _tell_withdrawn(ended: list[Attestation]) -> None:
    """Word for the people left without a valid attestation who may hold one of ours: those
    an attestation mail was queued for. Whether they are told, and why (revoked or not
    attended), is decided when it leaves (``notifications``): only after an attestation that
    really reached them, and once."""
    by_registration = {attestation.registration_id: attestation for attestation in ended}
    if not by_registration:
        return
    mailed = set(db.session.scalars(select(OutboxMessage.registration_id).where(
        OutboxMessage.kind == "attestation",
        OutboxMessage.registration_id.in_(by_registration))))
    for registration_id in mailed:
        attestation = by_registration[registration_id]
        notifications.queue("attestation_withdrawn", attestation.registration,
                            with_calendar=False, attestation_id=attestation.id,
                            dedupe_key=f"attestation-withdrawn:{attestation.id}")


@dataclass(frozen=True)
class Reissue:
    """Attestations issued anew after a correction, and whether they are being mailed."""

    issued: list[Attestation]
    mailed: bool

    @property
    def count(self) -> int:
        return len(self.issued)


def follow_edit(owner: Event | Series) -> Reissue:
    """An activity, session or series renamed, or its kind or times changed, after attendance
    was taken: its attestations state the new facts, mailed again where the attendance is
    final. The caller holds the lock on its places and commits."""
    owner = owner.places_owner if isinstance(owner, Event) else owner
    issued = bring_all_up_to_date(list(db.session.scalars(places.registrations_of(owner))))
    return Reissue(list(issued.values()), bool(issued) and is_final(owner))


def correct_name(attestation: Attestation, first_name: str, last_name: str,
                 staff: StaffUser) -> Reissue:
    """Staff correct the name on a valid attestation (a typo found after the activity): the
    person's registration takes the name and the attestation is issued anew, mailed when the
    attendance is final. An unchanged name issues nothing. Raises SchedulerError when the
    attestation stopped being valid meanwhile or the registration was anonymised."""
    registration = attestation.registration
    places.lock_owner(registration.places_owner)
    db.session.refresh(attestation)
    if not attestation.is_valid or registration.anonymised_at is not None:
        db.session.rollback()
        raise SchedulerError("Dit attest is intussen vervangen, ingetrokken of gewist; "
                             "verbeter de naam op het geldige attest.")
    name = (first_name.strip(), last_name.strip())
    if name == (registration.first_name, registration.last_name):
        db.session.rollback()
        return Reissue([], mailed=False)
    registration.first_name, registration.last_name = name
    issued = bring_up_to_date(registration)
    audit.record(staff, "registration.rename", "registration", registration.id,
                 "naam verbeterd door een medewerker"
                 + (f"; attest {issued.code} uitgereikt" if issued else ""))
    db.session.commit()
    reissued = [issued] if issued else []
    return Reissue(reissued, bool(reissued) and is_final(registration.places_owner))


def make_final(event: Event, staff: StaffUser, now: datetime | None = None) -> int:
    """Declare the attendance of an activity complete: from now on attestations are mailed, for
    a series once every session's attendance is final. Returns the number of mails queued."""
    now = now or utcnow()
    # Two sessions of a series made final at once take turns on the series' lock: the second
    # sees the first, so the series' attestations go out.
    event, _owner = places.lock(event.id)
    if not event.attendance_may_be_final(now):
        db.session.rollback()
        if event.attendance_final_at is not None:
            raise SchedulerError("De aanwezigheid van deze activiteit is al definitief.")
        raise SchedulerError("De aanwezigheid kan pas definitief worden zodra de activiteit "
                             "begonnen is, en niet voor een geannuleerde activiteit.")
    event.attendance_final_at = now
    registrations = places.list_for_event(event)
    bring_all_up_to_date(registrations, mail=False, now=now)
    queued = _mail_the_unmailed(registrations) if is_final(event.places_owner) else 0
    audit.record(staff, "event.attendance_final", "event", event.id,
                 f"{queued} attesten gemaild")
    db.session.commit()
    return queued


def follow_cancellation(event: Event) -> None:
    """A cancelled activity did not take place: its attestations are withdrawn, a series'
    attestations lose the session, and the series may now be final. The caller commits."""
    registrations = places.list_for_event(event)
    bring_all_up_to_date(registrations)
    if is_final(event.places_owner):
        _mail_the_unmailed(registrations)


def _mail_the_unmailed(registrations: list[Registration]) -> int:
    """Mail every valid attestation of these registrations that was not mailed yet: those
    issued while the attendance was not final."""
    valid = db.session.scalars(
        select(Attestation).where(
            Attestation.registration_id.in_([r.id for r in registrations]),
            Attestation.replaced_at.is_(None), Attestation.revoked_at.is_(None))
    ).all()
    keys = {f"attestation:{attestation.id}": attestation for attestation in valid}
    queued_before = set(db.session.scalars(
        select(notifications.OutboxMessage.dedupe_key)
        .where(notifications.OutboxMessage.dedupe_key.in_(keys))))
    by_id = {registration.id: registration for registration in registrations}
    fresh = [attestation for key, attestation in keys.items() if key not in queued_before]
    for attestation in fresh:
        _queue_mail(by_id[attestation.registration_id], attestation)
    return len(fresh)


def revoke(attestation: Attestation, reason: str, staff: StaffUser,
           now: datetime | None = None) -> None:
    """Declare an attestation not valid; its page says so from now on. Under the lock of its
    activity's places, so a correction at the same moment comes before or after, not between."""
    if attestation.registration is not None:
        places.lock_owner(attestation.registration.places_owner)
        db.session.refresh(attestation)
    if not attestation.is_valid:
        db.session.rollback()
        raise SchedulerError("Dit attest is al niet meer geldig.")
    attestation.revoked_at = now or utcnow()
    attestation.revoked_reason = reason
    if attestation.registration is not None:
        _tell_withdrawn([attestation])
    audit.record(staff, "attestation.revoke", "registration", attestation.registration_id,
                 f"attest {attestation.code} ingetrokken")
    db.session.commit()


def erase(attestation: Attestation, staff: StaffUser) -> int:
    """Delete an attestation with every other version of the same registration, on the
    person's request: after anonymisation their address no longer finds it, its code does.
    Returns how many were deleted. Refused while the registration still holds the person's
    data: erasing by address (``privacy.erase``) takes it all, the attestations too, where
    deleting these alone would let the next correction issue a new one."""
    registration = attestation.registration
    if registration is not None and registration.anonymised_at is None:
        raise SchedulerError("Deze inschrijving heeft nog naam en e-mailadres: wis de persoon "
                             "via de privacy-opzoeking op e-mailadres; dat wist ook de attesten.")
    versions = [attestation.id] if attestation.registration_id is None else list(
        db.session.scalars(select(Attestation.id).where(
            Attestation.registration_id == attestation.registration_id)))
    db.session.execute(update(Attestation).where(Attestation.replaced_by_id.in_(versions))
                       .values(replaced_by_id=None).execution_options(synchronize_session=False))
    db.session.execute(delete(Attestation).where(Attestation.id.in_(versions))
                       .execution_options(synchronize_session=False))
    audit.record(staff, "privacy.erase", "registration", None,
                 f"{len(versions)} attesten gewist op vraag van de persoon")
    db.session.commit()
    return len(versions)


def issue_again(registration: Registration, staff: StaffUser) -> Attestation:
    """After a revocation: a new attestation of what the registration attended now."""
    latest = latest_of([registration]).get(registration.id)
    if latest is None or latest.revoked_at is None:
        raise SchedulerError("Er is geen ingetrokken attest om opnieuw uit te reiken.")
    issued = bring_up_to_date(registration, after_revocation=True)
    if issued is None:
        raise SchedulerError("Deze persoon was bij geen enkele bijeenkomst aanwezig.")
    audit.record(staff, "attestation.issue", "registration", registration.id,
                 f"attest {issued.code} opnieuw uitgereikt")
    db.session.commit()
    return issued
