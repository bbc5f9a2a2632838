"""iCalendar documents built with icalendar from activities; pure functions, no request access."""

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from icalendar import Calendar, Timezone, TimezoneDaylight, TimezoneStandard, vRecur
from icalendar import Event as VEvent

from scheduler import labels
from scheduler.dates import BRUSSELS
from scheduler.models import Event, RegistrationStatus

PRODID = "-//Vereniging van Vlaamse Steden en Gemeenten//scheduler//NL"
TIMEZONE = "Europe/Brussels"
# Part of every ETag and stored serialisation, so that a change in how feeds are written
# reaches every calendar (2: the meeting link left the public feeds).
FORMAT_VERSION = "2"


@dataclass(frozen=True)
class Entry:
    """One activity as it appears in a feed, with what a personal feed adds to it."""

    event: Event
    status: str | None = None
    summary_prefix: str = ""
    # The online meeting link is for participants only: never in a public feed or download.
    meeting_link: bool = False


@dataclass(frozen=True)
class Stamp:
    """Everything a public feed's VEVENT is made of but the activity itself, read cheaply.

    ``stored`` is the (digest, text) any process serialised earlier, when there is one.
    """

    event_id: int
    uid: str
    sequence: int
    updated_at: datetime
    slug: str
    theme_names: tuple[str, ...]
    municipality_name: str | None
    stored: tuple[str, str] | None


# Told about every public VEVENT serialised afresh: the activity's id, the digest, the bytes.
Serialised = Callable[[int, str, bytes], None]


def brussels_timezone() -> Timezone:
    """Europe/Brussels with the EU daylight-saving rules, valid for every year they hold."""
    timezone = Timezone()
    timezone.add("tzid", TIMEZONE)
    timezone.add("x-lic-location", TIMEZONE)
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("dtstart", datetime(1981, 3, 29, 2, 0))
    summer.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    summer.add("tzoffsetfrom", timedelta(hours=1))
    summer.add("tzoffsetto", timedelta(hours=2))
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("dtstart", datetime(1996, 10, 27, 3, 0))
    winter.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    winter.add("tzoffsetfrom", timedelta(hours=2))
    winter.add("tzoffsetto", timedelta(hours=1))
    timezone.add_component(summer)
    timezone.add_component(winter)
    return timezone


def build_calendar(
    entries: Iterable[Entry],
    *,
    name: str,
    event_url: Callable[[Event], str],
    refresh: timedelta = timedelta(hours=1),
    method: str = "PUBLISH",
) -> bytes:
    """A whole VCALENDAR with one VEVENT per entry, ready to serve as text/calendar."""
    events = (_entry_bytes(entry, event_url(entry.event)) for entry in entries)
    return _calendar_bytes(events, name=name, refresh=refresh, method=method)


def build_public_calendar(
    stamps: list[Stamp],
    load_events: Callable[[list[int]], dict[int, Event]],
    *,
    name: str,
    slug_url: Callable[[str], str],
    refresh: timedelta,
    on_serialised: Serialised,
) -> bytes:
    """A public feed: VEVENTs from memory or from stored text, and only the rest serialised.

    ``load_events`` is asked once, for the activities whose text is missing or out of date.
    """
    bodies: list[bytes | None] = []
    missing: list[tuple[int, Stamp, str, tuple]] = []
    for stamp in stamps:
        url = slug_url(stamp.slug)
        key = _key(stamp.uid, stamp.sequence, stamp.updated_at, None, "", url,
                   stamp.theme_names, stamp.municipality_name)
        body = _serialised.get(key)
        if body is None and stamp.stored is not None and stamp.stored[0] == _digest(key):
            body = _remember(key, stamp.stored[1].encode())
        if body is None:
            missing.append((len(bodies), stamp, url, key))
        bodies.append(body)
    events = load_events([stamp.event_id for _, stamp, _, _ in missing]) if missing else {}
    for position, stamp, url, key in missing:
        event = events.get(stamp.event_id)
        if event is None:  # deleted since the stamps were read
            bodies[position] = b""
            continue
        body = _remember(key, event_component(Entry(event), url).to_ical())
        on_serialised(stamp.event_id, _digest(key), body)
        bodies[position] = body
    return _calendar_bytes(bodies, name=name, refresh=refresh, method="PUBLISH")


def _calendar_bytes(
    events: Iterable[bytes], *, name: str, refresh: timedelta, method: str
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", TIMEZONE)
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", refresh)
    calendar.add_component(brussels_timezone())
    head, tail = calendar.to_ical().rsplit(b"END:VCALENDAR", 1)
    return b"".join((head, *events, b"END:VCALENDAR", tail))


# Serialising is most of a feed's cost and most activities do not change between two
# versions of a feed, so each VEVENT's bytes are kept by everything they are made of.
_serialised: OrderedDict[tuple, bytes] = OrderedDict()
SERIALISED_LIMIT = 20_000


def _key(uid: str, sequence: int, updated_at: datetime, status: str | None, prefix: str,
         url: str, theme_names: Iterable[str], municipality_name: str | None,
         meeting_link: bool = False) -> tuple:
    return (FORMAT_VERSION, uid, sequence, updated_at.isoformat(), status, prefix, url,
            tuple(sorted(theme_names)), municipality_name, meeting_link)


def _digest(key: tuple) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()


def _remember(key: tuple, body: bytes) -> bytes:
    _serialised[key] = body
    if len(_serialised) > SERIALISED_LIMIT:
        _serialised.popitem(last=False)
    return body


def _entry_bytes(entry: Entry, url: str) -> bytes:
    event = entry.event
    key = _key(event.uid, event.sequence, event.updated_at, entry.status, entry.summary_prefix,
               url, (theme.name for theme in event.themes),
               event.municipality.name if event.municipality else None, entry.meeting_link)
    body = _serialised.get(key)
    return body if body is not None else _remember(key, event_component(entry, url).to_ical())


def event_component(entry: Entry, url: str) -> VEvent:
    """The VEVENT of one activity. Its UID never changes; SEQUENCE follows the activity's."""
    event = entry.event
    cancelled = event.is_cancelled or entry.status == "CANCELLED"
    component = VEvent()
    component.add("uid", event.uid)
    component.add("dtstamp", event.updated_at)
    component.add("created", event.created_at)
    component.add("last-modified", event.updated_at)
    component.add("sequence", event.sequence)
    component.add("dtstart", event.starts_at.astimezone(BRUSSELS))
    component.add("dtend", event.ends_at.astimezone(BRUSSELS))
    prefix = "GEANNULEERD: " if event.is_cancelled else entry.summary_prefix
    component.add("summary", prefix + event.title)
    meeting_link = event.online_url if entry.meeting_link and not cancelled else None
    component.add("description", _description(event, url, meeting_link))
    location = location_of(event)
    if location:
        component.add("location", location)
    component.add("url", url)
    if meeting_link:
        component.add("conference", meeting_link, parameters={
            "VALUE": "URI", "FEATURE": ["AUDIO", "VIDEO"], "LABEL": "Online deelnemen"})
    component.add("categories", [labels.KIND[event.kind]] + [t.name for t in event.themes])
    component.add("status", "CANCELLED" if cancelled else entry.status or "CONFIRMED")
    component.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    return component


def personal_entry(event: Event, status: RegistrationStatus) -> Entry:
    """How one of a person's registrations shows in their own calendar."""
    if status is RegistrationStatus.confirmed:
        return Entry(event, "CONFIRMED", meeting_link=True)
    if status is RegistrationStatus.waiting:
        return Entry(event, "TENTATIVE", "[Wachtlijst] ")
    if status is RegistrationStatus.pending:
        return Entry(event, "TENTATIVE", "[Wacht op goedkeuring] ")
    return Entry(event, "CANCELLED", "[Niet ingeschreven] ")


def _description(event: Event, url: str, meeting_link: str | None) -> str:
    parts = []
    if event.is_cancelled:
        parts.append("Deze activiteit is geannuleerd.")
        if event.cancellation_reason:
            parts.append(event.cancellation_reason)
    if event.summary:
        parts.append(event.summary)
    if event.description:
        parts.append(event.description)
    if meeting_link:
        parts.append(f"Online deelnemen: {meeting_link}")
    parts.append(f"Meer info en inschrijven: {url}")
    return "\n\n".join(parts)


def location_of(event: Event) -> str:
    """Where the activity takes place, on one line."""
    place = [event.venue, event.address]
    if event.municipality and event.municipality.name not in event.address:
        place.append(event.municipality.name)
    text = ", ".join(part for part in place if part)
    if not text and event.online_url:
        return "Online"
    return text


def google_calendar_link(event: Event, url: str) -> str:
    """A link that opens Google Calendar with this activity filled in, ready to save."""
    moment = "%Y%m%dT%H%M%SZ"
    query = urlencode({
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{event.starts_at.strftime(moment)}/{event.ends_at.strftime(moment)}",
        "ctz": TIMEZONE,
        "details": f"{event.summary}\n\n{url}".strip(),
        "location": location_of(event),
    })
    return f"https://calendar.google.com/calendar/render?{query}"


def build_invitation(
    entries: list[Entry],
    *,
    method: str,
    event_url: Callable[[Event], str],
    organizer: tuple[str, str],
    attendee: tuple[str, str],
    stamped_at: datetime,
) -> bytes:
    """An iTIP calendar for one mail: REQUEST adds or updates, CANCEL removes, PUBLISH offers.

    ORGANIZER and ATTENDEE make Outlook and Gmail treat it as an invitation for the
    recipient; the UID is the activity's own, so later changes update the same entry.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(brussels_timezone())
    organizer_email, organizer_name = organizer
    attendee_email, attendee_name = attendee
    for entry in entries:
        component = event_component(entry, event_url(entry.event))
        # DTSTAMP of a message is when it was sent: a later message about an unchanged
        # activity (a cancelled enrolment) must still read as newer than the invitation.
        component.pop("dtstamp")
        component.add("dtstamp", stamped_at)
        if method != "PUBLISH":
            component.add("organizer", f"mailto:{organizer_email}",
                          parameters={"CN": organizer_name})
            component.add("attendee", f"mailto:{attendee_email}", parameters={
                "CN": attendee_name, "ROLE": "REQ-PARTICIPANT", "RSVP": "FALSE",
                "PARTSTAT": "DECLINED" if method == "CANCEL" else "ACCEPTED",
            })
        calendar.add_component(component)
    return calendar.to_ical()
