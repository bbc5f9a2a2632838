"""The figures of one calendar year, for the board and the Flemish government."""

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import case, distinct, func, select

from scheduler import dates
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    Event,
    EventKind,
    EventStatus,
    Registration,
    RegistrationStatus,
    RequestStatus,
    Role,
    TrainingRequest,
)
from scheduler.services import places, reach
from scheduler.services.evaluation_results import KindFigures, figures_per_kind

KINDS = (EventKind.training, EventKind.visit, EventKind.intervision)
PLANNED_REQUESTS = (RequestStatus.planned, RequestStatus.done)


@dataclass(frozen=True)
class YearlyReport:
    year: int
    # Per month (1–12) and kind: activities that took place or are to take place (published).
    held: dict[int, dict[EventKind, int]]
    cancelled: int
    # Confirmed registrations (an enrolment in a series once), and of the activities that ended,
    # how many registrations there were and how many people were present (attendance taken
    # ahead of an activity does not count before it is over).
    registered: int
    registered_for_ended: int
    present: int
    roles: dict[Role, int]
    requests_received: int
    requests_planned: int
    reach: reach.ReachReport
    # Per kind: the evaluations of its activities, answers and the average per score question.
    evaluations: dict[EventKind, KindFigures]

    @property
    def held_total(self) -> int:
        return sum(sum(kinds.values()) for kinds in self.held.values())

    def held_of_kind(self, kind: EventKind) -> int:
        return sum(kinds[kind] for kinds in self.held.values())

    @property
    def attendance_rate(self) -> float | None:
        """Present as a share of those registered for activities that have ended."""
        return self.present / self.registered_for_ended if self.registered_for_ended else None


def year_bounds(year: int) -> tuple[datetime, datetime]:
    return (dates.brussels_to_utc(date(year, 1, 1), time()),
            dates.brussels_to_utc(date(year + 1, 1, 1), time()))


def yearly_report(year: int, now: datetime) -> YearlyReport:
    start, end = year_bounds(year)
    in_year = (Event.starts_at >= start, Event.starts_at < end)
    held = {month: dict.fromkeys(KINDS, 0) for month in range(1, 13)}
    cancelled = 0
    for starts_at, kind, status in db.session.execute(
        select(Event.starts_at, Event.kind, Event.status)
        .where(*in_year, Event.status != EventStatus.draft)
    ):
        if status is EventStatus.cancelled:
            cancelled += 1
        else:
            held[dates.local(starts_at).month][kind] += 1

    counted = (Registration.status == RegistrationStatus.confirmed,)
    published_in_year = (*in_year, Event.status == EventStatus.published)
    # One statement for both: the report's statements are counted (see its test).
    registered, registered_for_ended = db.session.execute(
        select(func.count(distinct(Registration.id)),
               func.count(distinct(case((Event.ends_at <= now, Registration.id)))))
        .join(Event, places.covers_event()).where(*published_in_year, *counted)).one()
    present = db.session.scalar(
        select(func.count(distinct(Attendance.registration_id)))
        .join(Event, Event.id == Attendance.event_id)
        .where(*published_in_year, Event.ends_at <= now, Attendance.is_present.is_(True)))
    roles = dict.fromkeys(Role, 0) | dict(db.session.execute(
        select(Registration.role, func.count(distinct(Registration.id)))
        .join(Event, places.covers_event()).where(*published_in_year, *counted)
        .group_by(Registration.role)).all())
    received = (TrainingRequest.created_at >= start, TrainingRequest.created_at < end)
    requests_received, requests_planned = db.session.execute(
        select(func.count(TrainingRequest.id),
               func.count(case((TrainingRequest.status.in_(PLANNED_REQUESTS),
                                TrainingRequest.id))))
        .where(*received)).one()
    return YearlyReport(
        year=year, held=held, cancelled=cancelled, registered=registered,
        registered_for_ended=registered_for_ended, present=present, roles=roles,
        requests_received=requests_received, requests_planned=requests_planned,
        reach=reach.reach(start, end), evaluations=figures_per_kind(start, end),
    )
