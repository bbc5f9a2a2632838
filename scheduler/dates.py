"""Dutch (Belgian) formatting of dates and times in Europe/Brussels, and month boundaries."""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime as babel_format

BRUSSELS = ZoneInfo("Europe/Brussels")
# The interface is Dutch (Belgium) only; a fixed locale spares a lookup per formatted date.
DUTCH = Locale.parse("nl_BE")


def format_datetime(moment: datetime, pattern: str) -> str:
    """A Brussels wall-clock rendering of ``moment`` in Belgian Dutch."""
    return babel_format(moment, pattern, tzinfo=BRUSSELS, locale=DUTCH)


def local(moment: datetime) -> datetime:
    """The wall-clock time in Brussels of an aware datetime."""
    return moment.astimezone(BRUSSELS)


def brussels_to_utc(day: date, clock: time) -> datetime:
    """A Brussels wall-clock time as an aware UTC datetime (zoneinfo resolves DST)."""
    return datetime.combine(day, clock, tzinfo=BRUSSELS).astimezone(UTC)


def start_of_day(moment: datetime) -> datetime:
    """Midnight in Brussels of the day ``moment`` falls on, in UTC."""
    return brussels_to_utc(local(moment).date(), time())


def end_of_day(moment: datetime) -> datetime:
    """Midnight in Brussels at the end of the day ``moment`` falls on, in UTC."""
    return brussels_to_utc(local(moment).date() + timedelta(days=1), time())


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of a Brussels month and of the month after it, in UTC."""
    start = brussels_to_utc(date(year, month, 1), time())
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return start, brussels_to_utc(date(next_year, next_month, 1), time())


def next_month_start(now: datetime) -> datetime:
    """The first instant of the Brussels month after the one ``now`` falls in."""
    today = local(now)
    return month_bounds(today.year, today.month)[1]


@lru_cache(maxsize=8192)
def format_day(moment: datetime) -> str:
    """E.g. 'dinsdag 12 januari 2027'."""
    return format_datetime(moment, "EEEE d MMMM y")


def format_time(moment: datetime) -> str:
    """E.g. '13.30', the way Flemish invitations write the time."""
    return format_datetime(moment, "H.mm")


@lru_cache(maxsize=8192)
def format_time_span(starts_at: datetime, ends_at: datetime) -> str:
    """E.g. '13.30–16.00 uur'."""
    return f"{format_time(starts_at)}–{format_time(ends_at)} uur"


@lru_cache(maxsize=8192)
def format_when(starts_at: datetime, ends_at: datetime) -> str:
    """E.g. 'dinsdag 12 januari 2027, 13.30–16.00 uur', or both days when it spans several."""
    if local(starts_at).date() == local(ends_at).date():
        return f"{format_day(starts_at)}, {format_time_span(starts_at, ends_at)}"
    return (
        f"{format_day(starts_at)} {format_time(starts_at)} uur tot "
        f"{format_day(ends_at)} {format_time(ends_at)} uur"
    )


def format_duration(minutes: int) -> str:
    """E.g. '3 uur', '1 uur 30 minuten', '45 minuten'."""
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} uur"] if hours else []
    if rest or not hours:
        parts.append("1 minuut" if rest == 1 else f"{rest} minuten")
    return " ".join(parts)


@lru_cache(maxsize=8192)
def format_short_datetime(moment: datetime) -> str:
    """E.g. '12 januari 2027 om 9.00 uur'."""
    return f"{format_datetime(moment, 'd MMMM y')} om {format_time(moment)} uur"


@lru_cache(maxsize=8192)
def format_month(moment: datetime) -> str:
    """E.g. 'januari 2027', the heading of a month in the agenda."""
    return format_datetime(moment, "LLLL y")
