"""Counts per municipality and province for the reach report: who registered, who came."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, distinct, func, select

from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    Event,
    EventKind,
    EventStatus,
    Organisation,
    Registration,
    RegistrationStatus,
)
from scheduler.services import places

COUNTED = (RegistrationStatus.confirmed,)


@dataclass
class MunicipalityReach:
    organisation: Organisation
    registered: int = 0
    attended: int = 0
    # Activities (sessions of a series each) someone of the municipality registered for.
    activities: int = 0


@dataclass
class ReachReport:
    rows: list[MunicipalityReach] = field(default_factory=list)
    not_reached: list[Organisation] = field(default_factory=list)
    provinces: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    @property
    def most_registered(self) -> int:
        return max((row.registered for row in self.rows), default=0)

    @property
    def municipality_count(self) -> int:
        return len(self.rows) + len(self.not_reached)

    def row_of(self, nis_code: str) -> MunicipalityReach | None:
        """The municipality with this NIS code, also when it was not reached."""
        for row in self.rows:
            if row.organisation.nis_code == nis_code:
                return row
        for organisation in self.not_reached:
            if organisation.nis_code == nis_code:
                return MunicipalityReach(organisation)
        return None


def reach(start: datetime, end: datetime, kind: EventKind | None = None) -> ReachReport:
    """Confirmed registrations and attendance per municipality for activities in [start, end).

    A series enrolment counts once per person; attendance counts people present at least once.
    Provinces map to (municipalities reached, municipalities in total, registered, attended).
    """
    in_period = _in_period(start, end, kind)
    registered, activities = {}, {}
    for organisation_id, people, events in db.session.execute(
        select(Registration.organisation_id, func.count(distinct(Registration.id)),
               func.count(distinct(Event.id)))
        .join(Event, places.covers_event())
        .where(in_period, Registration.status.in_(COUNTED),
               Registration.organisation_id.is_not(None))
        .group_by(Registration.organisation_id)
    ):
        registered[organisation_id], activities[organisation_id] = people, events
    attended = dict(db.session.execute(
        select(Registration.organisation_id, func.count(distinct(Registration.id)))
        .join(Attendance, Attendance.registration_id == Registration.id)
        .join(Event, Event.id == Attendance.event_id)
        .where(in_period, Attendance.is_present.is_(True),
               Registration.organisation_id.is_not(None))
        .group_by(Registration.organisation_id)
    ).all())
    municipalities = db.session.scalars(
        select(Organisation).where(Organisation.nis_code.is_not(None)).order_by(Organisation.name)
    ).all()
    report = ReachReport()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for municipality in municipalities:
        province = municipality.province or "Brussel"
        totals[province][1] += 1
        count = registered.get(municipality.id, 0)
        if count:
            present = attended.get(municipality.id, 0)
            report.rows.append(MunicipalityReach(municipality, count, present,
                                                 activities[municipality.id]))
            totals[province][0] += 1
            totals[province][2] += count
            totals[province][3] += present
        else:
            report.not_reached.append(municipality)
    report.rows.sort(key=lambda row: (-row.registered, row.organisation.name))
    report.provinces = {name: tuple(values) for name, values in sorted(totals.items())}
    return report


def _in_period(start: datetime, end: datetime, kind: EventKind | None):
    """Published activities that start in [start, end), of one kind or all."""
    in_period = and_(
        Event.starts_at >= start, Event.starts_at < end, Event.status == EventStatus.published
    )
    return in_period if kind is None else and_(in_period, Event.kind == kind)


@dataclass(frozen=True)
class ActivityReach:
    event: Event
    registered: int
    attended: int


def activities_of(organisation: Organisation, start: datetime, end: datetime,
                  kind: EventKind | None = None) -> list[ActivityReach]:
    """The activities in the period someone of this organisation registered for, in date order,
    with how many registered and how many were present."""
    present = (
        select(func.count(distinct(Attendance.registration_id)))
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(Attendance.event_id == Event.id, Attendance.is_present.is_(True),
               Registration.organisation_id == organisation.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Event, func.count(distinct(Registration.id)), present)
        .join(Registration, places.covers_event())
        .where(_in_period(start, end, kind), Registration.status.in_(COUNTED),
               Registration.organisation_id == organisation.id)
        .group_by(Event.id)
        .order_by(Event.starts_at, Event.id)
    ).all()
    return [ActivityReach(event, registered, attended) for event, registered, attended in rows]
