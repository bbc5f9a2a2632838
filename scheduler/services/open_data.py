"""What machines read about the activities: schema.org ``Event`` for search engines, and the
resources of the public JSON API. Neither ever holds personal data or a meeting link."""

from collections.abc import Callable
from datetime import datetime

from scheduler import dates, labels
from scheduler.forms.fields import KIND_SLUG
from scheduler.markdown import plain_text
from scheduler.models import Event, Series, Theme
from scheduler.services.agenda import describe_availability
from scheduler.services.places import Seats

SCHEMA = "https://schema.org/"
# Places left up to this share of the capacity are "limited availability" to a search engine.
LIMITED_SHARE = 0.2

PageUrl = Callable[[str], str]


def moment(value: datetime | None) -> str | None:
    """A moment as ISO 8601 in Brussels time with its UTC offset, as calendars show it."""
    return dates.local(value).isoformat(timespec="seconds") if value else None


def attendance_mode(event: Event) -> str:
    """"offline", "online" or "mixed": whether one comes to a place, joins a link, or either."""
    on_site = bool(event.venue or event.address or event.municipality_id)
    if event.online_url:
        return "mixed" if on_site else "online"
    return "offline"


def offer_availability(event: Event, seats: Seats, now: datetime) -> str:
    """The schema.org availability of a place: in stock, limited, sold out or not yet on offer."""
    code = describe_availability(event, seats, now).code
    if code == "not-yet":
        return "PreOrder"
    if code != "open":
        return "SoldOut"
    if seats.left is not None and seats.left <= max(1, seats.capacity * LIMITED_SHARE):
        return "LimitedAvailability"
    return "InStock"


def event_status(event: Event) -> str:
    if event.is_cancelled:
        return "EventCancelled"
    return "EventRescheduled" if event.previous_starts_at else "EventScheduled"


def _without_empty(mapping: dict) -> dict:
    return {key: value for key, value in mapping.items() if value not in (None, "", [], {})}


def _place(event: Event) -> dict:
    municipality = event.municipality
    return _without_empty({
        "@type": "Place",
        "name": event.venue or (municipality.name if municipality else "Plaats volgt"),
        "address": _without_empty({
            "@type": "PostalAddress",
            "streetAddress": event.address,
            "addressLocality": municipality.name if municipality else None,
            "addressRegion": municipality.province if municipality else None,
            "addressCountry": "BE",
        }),
    })


def event_json_ld(event: Event, seats: Seats, sessions: list[Event], now: datetime,
                  page_url: PageUrl, organiser: dict) -> dict:
    """The activity as a schema.org Event; ``sessions`` are those of its series, if any."""
    url = page_url(event.slug)
    mode = attendance_mode(event)
    # Where to join is told to those registered only; the search engine gets the page.
    online = {"@type": "VirtualLocation", "url": url}
    location = {"offline": _place(event), "online": online, "mixed": [_place(event), online]}
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": url,
        "url": url,
        "name": event.title,
        "description": event.summary or plain_text(event.description),
        "startDate": moment(event.starts_at),
        "endDate": moment(event.ends_at),
        "eventStatus": SCHEMA + event_status(event),
        "eventAttendanceMode": SCHEMA + {
            "offline": "OfflineEventAttendanceMode",
            "online": "OnlineEventAttendanceMode",
            "mixed": "MixedEventAttendanceMode",
        }[mode],
        "location": location[mode],
        "organizer": organiser,
        "isAccessibleForFree": True,
        "inLanguage": "nl-BE",
        "audience": {"@type": "Audience",
                     "audienceType": f"{labels.AUDIENCE[event.audience]} van lokale besturen"},
        "about": [theme.name for theme in event.themes],
        # An activity that is over is on offer no more.
        "offers": None if event.has_ended(now) else _without_empty({
            "@type": "Offer",
            "url": url + "#registration",
            "price": "0",
            "priceCurrency": "EUR",
            "availability": SCHEMA + offer_availability(event, seats, now),
            "validFrom": moment(event.registration_opens_at),
            "availabilityEnds": moment(event.registration_closes_at or event.starts_at),
        }),
    }
    if event.previous_starts_at and not event.is_cancelled:
        data["previousStartDate"] = moment(event.previous_starts_at)
    if event.series:
        data["superEvent"] = {
            "@type": "EventSeries",
            "name": event.series.title,
            "subEvent": [
                {"@type": "Event", "name": session.title, "url": page_url(session.slug),
                 "startDate": moment(session.starts_at), "endDate": moment(session.ends_at),
                 "eventStatus": SCHEMA + event_status(session)}
                for session in sessions
            ],
        }
    return _without_empty(data)


def theme_resource(theme: Theme) -> dict:
    return {"slug": theme.slug, "name": theme.name}


def activity_resource(event: Event, seats: Seats, now: datetime, page_url: PageUrl) -> dict:
    """An activity in the public API: what its page shows, without personal data."""
    municipality = event.municipality
    return {
        "slug": event.slug,
        "url": page_url(event.slug),
        "title": event.title,
        "kind": KIND_SLUG[event.kind],
        "status": status_code(event),
        "cancellation_reason": event.cancellation_reason or None,
        "summary": event.summary,
        "description": event.description,
        "starts_at": moment(event.starts_at),
        "ends_at": moment(event.ends_at),
        "previous_starts_at": moment(event.previous_starts_at),
        "attendance_mode": attendance_mode(event),
        "venue": event.venue or None,
        "address": event.address or None,
        "municipality": {
            "name": municipality.name, "nis_code": municipality.nis_code,
            "province": municipality.province,
        } if municipality else None,
        "audience": event.audience.value,
        "themes": [theme_resource(theme) for theme in event.themes],
        "series": {"slug": event.series.slug, "title": event.series.title}
        if event.series else None,
        "places": {
            "capacity": seats.capacity,
            "left": seats.left,
            "waiting": seats.waiting,
        },
        "registration": {
            "state": describe_availability(event, seats, now).code,
            "opens_at": moment(event.registration_opens_at),
            "closes_at": moment(event.registration_closes_at),
        },
        "published_at": moment(event.published_at),
        "updated_at": moment(event.updated_at),
    }


def status_code(event: Event) -> str:
    return "cancelled" if event.is_cancelled else "scheduled"


def session_resource(session: Event, page_url: PageUrl) -> dict:
    return {"slug": session.slug, "url": page_url(session.slug), "title": session.title,
            "starts_at": moment(session.starts_at), "ends_at": moment(session.ends_at),
            "status": status_code(session)}


def series_resource(series: Series, sessions: list[Event], page_url: PageUrl) -> dict:
    return {
        "slug": series.slug,
        "title": series.title,
        "summary": series.summary,
        "kind": KIND_SLUG[series.kind],
        "sessions": [session_resource(session, page_url) for session in sessions],
    }

