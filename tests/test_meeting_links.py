"""An online meeting link is for participants: never on a public page or feed, always in what a
confirmed participant gets."""

import re
from collections import deque
from urllib.parse import unquote, urljoin, urlsplit

import icalendar
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import Event, OutboxMessage, Registration
from scheduler.services import moderation, people, planning, registrations
from tests.helpers import applicant, event_fields, vevents, words

LINK = "https://vergadering.example.org/geheim-123"
NOT_PUBLIC = ("/beheer", "/inschrijving/", "/mijn/", "/static/")


def public_urls_reachable_from(client, start_paths: list[str], limit: int = 400):
    """Every same-site address a visitor can reach by following links, with its body."""
    queue, seen = deque(start_paths), set(start_paths)
    while queue and len(seen) <= limit:
        path = queue.popleft()
        response = client.get(path)
        body = response.get_data(as_text=True)
        yield path, response.status_code, body
        if "html" not in response.content_type:
            continue
        for href in re.findall(r'(?:href|hx-get)="([^"#]+)', body):
            target = urlsplit(urljoin(f"http://localhost{path}", href.replace("&amp;", "&")))
            if target.netloc not in ("localhost", "") or target.scheme not in ("http", ""):
                continue
            address = target.path + (f"?{target.query}" if target.query else "")
            if address not in seen and not address.startswith(NOT_PUBLIC):
                seen.add(address)
                queue.append(address)


def test_no_public_page_or_feed_of_the_demo_holds_a_meeting_link(client, runner):
    runner.invoke(args=["seed-demo"])
    links = set(db.session.scalars(select(Event.online_url).where(Event.online_url.is_not(None))))
    assert links, "the demo should have an online activity"
    slugs = db.session.scalars(select(Event.slug)).all()
    start = ["/", "/archief", "/aanbod", "/abonneren", "/agenda.ics",
             *(f"/activiteiten/{slug}" for slug in slugs),
             *(f"/activiteiten/{slug}.ics" for slug in slugs)]
    walked = 0
    for path, status, body in public_urls_reachable_from(client, start):
        assert status < 500, path
        readable = unquote(body.replace("\r\n ", ""))  # folded iCalendar lines, encoded links
        assert not [link for link in links if link in readable], path
        assert "CONFERENCE" not in readable, path
        walked += 1
    assert walked >= len(start)


def test_the_public_page_says_the_link_comes_with_the_confirmation(client, make_event):
    event = make_event(online_url=LINK, venue="")
    page = client.get(f"/activiteiten/{event.slug}").text
    assert "krijg je bij je bevestiging" in page and LINK not in page


def test_a_confirmed_participant_gets_the_link_everywhere(client, make_event):
    event = make_event(online_url=LINK, capacity=1)
    confirmed = registrations.register(event.id, applicant(1, organisation="A")).registration
    waiting = registrations.register(event.id, applicant(2, organisation="B")).registration
    (invitation,) = [m for m in confirmed.messages if m.kind == "registration_confirmed"]
    assert LINK in words(invitation).text_body and LINK in words(invitation).html_body
    (entry,) = icalendar.Calendar.from_ical(words(invitation).calendar).walk("VEVENT")
    assert str(entry["conference"]) == LINK and LINK in str(entry["description"])
    (waiting_mail,) = [m for m in waiting.messages if m.kind == "registration_waiting"]
    assert LINK not in words(waiting_mail).text_body
    assert LINK in client.get(f"/inschrijving/{confirmed.token}").text
    assert LINK not in client.get(f"/inschrijving/{waiting.token}").text
    for person, holds in ((confirmed, True), (waiting, False)):
        feed = client.get(f"/mijn/{person_feed_token(person)}.ics").data
        assert (LINK.encode() in feed.replace(b"\r\n ", b"")) is holds


def person_feed_token(registration: Registration) -> str:
    return people.find_person(registration.email).feed_token


def test_awaiting_approval_gets_the_link_only_once_approved(client, make_event, staff):
    event = make_event(online_url=LINK, is_moderated=True)
    pending = registrations.register(event.id, applicant(1)).registration
    assert LINK not in client.get(f"/inschrijving/{pending.token}").text
    moderation.approve(pending, event.id, staff.create())
    assert LINK in client.get(f"/inschrijving/{pending.token}").text
    (approved,) = [m for m in pending.messages if m.kind == "approved"]
    assert LINK in words(approved).text_body


def test_a_changed_link_reaches_every_confirmed_participant(make_event, staff):
    event = make_event(online_url=LINK)
    person = registrations.register(event.id, applicant(1)).registration
    sequence = event.sequence
    new_link = "https://vergadering.example.org/nieuw-456"
    planning.save_event(event, event_fields(event, online_url=new_link), staff.create())
    changed = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "event_changed", OutboxMessage.registration_id == person.id)).one()
    assert words(changed).calendar_method == "REQUEST" and new_link in words(changed).text_body
    (entry,) = vevents(words(changed).calendar.encode()).values()
    assert str(entry["uid"]) == event.uid and entry["sequence"] > sequence
    assert str(entry["conference"]) == new_link
