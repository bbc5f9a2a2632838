"""The outbox against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

import email
import random
import threading
from datetime import timedelta
from email import policy
from pathlib import Path

import icalendar
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from scheduler import create_app, labels
from scheduler.extensions import db
from scheduler.models import MailStatus, OutboxMessage, Registration, RegistrationStatus, utcnow
from scheduler.services import moderation, notifications, outbox, planning, privacy, registrations
from tests.fixtures.databases import base_config
from tests.fixtures.mail import Collector
from tests.helpers import applicant, event_fields, words
from tests.postgres_server import free_port


def send(app) -> outbox.DeliveryReport:
    return outbox.deliver_pending(outbox.transport_from_config(app.config, app.instance_path))


def queued_mails() -> list[OutboxMessage]:
    db.session.rollback()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def personal_token(address: str) -> str:
    return db.session.scalars(select(Registration.token).where(
        Registration.email_normalised == address)).one()


def parts(message) -> dict[str, email.message.EmailMessage]:
    return {part.get_content_type(): part for part in message.walk()}


def test_a_registration_and_its_mail_are_one_transaction(make_event):
    event = make_event(capacity=1)
    registrations.register(event.id, applicant(1, organisation="A"))
    registrations.register(event.id, applicant(2, organisation="B"))
    registrations.register(event.id, applicant(1))  # again: told so, nothing else changes
    closed = make_event(registration_closes_at=utcnow() - timedelta(hours=1))
    with pytest.raises(Exception):  # noqa: B017 (any refusal)
        registrations.register(closed.id, applicant(3))
    assert [(m.kind, m.status) for m in queued_mails()] == [
        ("registration_confirmed", MailStatus.pending),
        ("registration_waiting", MailStatus.pending),
        ("already_registered", MailStatus.pending),
    ]
    waiting_text = words(queued_mails()[1]).text_body
    assert "op plaats 2" not in waiting_text and "plaats 1" in waiting_text


def test_confirmation_arrives_with_text_html_and_an_invitation(app, smtp, make_event,
                                                                municipality):
    event = make_event(title="Basisvorming Mechelen", venue="Stadhuis",
                       address="Grote Markt 21, 2800 Mechelen",
                       municipality=municipality("Mechelen"))
    outcome = registrations.register(event.id, applicant(1, first_name="Zoë"))
    assert send(app).sent == 1
    (recipients, message), = smtp.received
    assert recipients == ["an1@example.org"]
    assert message["Subject"] == "Bevestiging: Basisvorming Mechelen"
    assert message["Message-ID"] == queued_mails()[0].message_id and message["Date"]
    found = parts(message)
    text = found["text/plain"].get_content()
    assert "Beste Zoë" in text
    assert "Stadhuis, Grote Markt 21, 2800 Mechelen" in text
    assert "uur" in text and event.title in text
    assert f"https://agenda.example.org/inschrijving/{outcome.registration.token}" in text
    assert "<a href=" in found["text/html"].get_content()
    invitation = found["text/calendar"]
    assert invitation.get_param("method") == "REQUEST"
    calendar = icalendar.Calendar.from_ical(invitation.get_content())
    assert calendar["METHOD"] == "REQUEST"
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == event.uid
    assert str(vevent["ORGANIZER"]) == "mailto:radicalisering@vvsg.be"
    assert str(vevent["ATTENDEE"]) == "mailto:an1@example.org"
    assert queued_mails()[0].status is MailStatus.sent


def test_cancellation_is_a_cancel_and_the_promoted_person_is_invited(app, smtp, make_event):
    event = make_event(capacity=1)
    first = registrations.register(event.id, applicant(1, organisation="A")).registration
    registrations.register(event.id, applicant(2, organisation="B"))
    send(app)
    registrations.cancel_registration(first.token)
    send(app)
    by_subject = {m["Subject"]: m for m in smtp.messages}
    cancel = parts(by_subject[f"Geannuleerd: je inschrijving voor {event.title}"])["text/calendar"]
    assert cancel.get_param("method") == "CANCEL"
    assert icalendar.Calendar.from_ical(cancel.get_content())["METHOD"] == "CANCEL"
    promoted = by_subject[f"Er is een plaats vrij: {event.title}"]
    assert promoted["To"].addresses[0].addr_spec == "an2@example.org"
    assert parts(promoted)["text/calendar"].get_param("method") == "REQUEST"


def test_a_mail_overtaken_before_it_was_sent_is_superseded(app, smtp, make_event):
    """Queued "waiting list", then promoted before the sender ran: only "promoted" goes."""
    event = make_event(capacity=1)
    first = registrations.register(event.id, applicant(1, organisation="A")).registration
    registrations.register(event.id, applicant(2, organisation="B"))
    registrations.cancel_registration(first.token)
    report = send(app)
    assert report.superseded == 2 and report.sent == 2
    by_kind = {m.kind: m for m in queued_mails()}
    assert by_kind["registration_waiting"].status is MailStatus.superseded
    assert by_kind["registration_confirmed"].status is MailStatus.superseded
    assert by_kind["registration_waiting"].text_body == ""
    received = {(m["To"].addresses[0].addr_spec, m["Subject"]) for m in smtp.messages}
    assert received == {("an1@example.org", f"Geannuleerd: je inschrijving voor {event.title}"),
                        ("an2@example.org", f"Er is een plaats vrij: {event.title}")}
    # What staff see: the mail that was not sent, and why.
    assert labels.MAIL_STATUS["superseded"].startswith("niet verzonden")


def test_a_mail_already_sent_is_not_superseded_and_news_about_the_activity_always_goes(
        app, smtp, make_event):
    event = make_event(capacity=3)
    registration = registrations.register(event.id, applicant(1)).registration
    send(app)
    registrations.cancel_registration(registration.token)
    assert (send(app).sent, queued_mails()[0].status) == (1, MailStatus.sent)
    other = registrations.register(event.id, applicant(2)).registration
    send(app)
    planning.cancel_event(event, "De spreker is ziek.", None)
    report = send(app)
    assert (report.sent, report.superseded) == (1, 0)
    db.session.expire_all()
    assert [m.status for m in other.messages] == [MailStatus.sent, MailStatus.sent]
    assert [m["Subject"] for m in smtp.messages][-2:] == [
        f"Bevestiging: {event.title}", f"Geannuleerd: {event.title}"]


def test_nothing_older_goes_once_the_activity_is_cancelled_or_the_place_is_gone(
        app, smtp, make_event, staff):
    event = make_event(capacity=5)
    registrations.register(event.id, applicant(1))
    declined = registrations.register(event.id, applicant(2)).registration
    notifications.queue_reminders(days_before=30)
    by = staff.create()
    # Two changes before the sender runs: one "Gewijzigd" says it all.
    planning.save_event(event, event_fields(event, venue="Zaal 2"), by)
    planning.save_event(event, event_fields(event, venue="Zaal 3"), by)
    moderation.decline(declined, event.id, by)
    send(app)
    received = [(m["To"].addresses[0].addr_spec, m["Subject"].split(":")[0])
                for m in smtp.messages]
    assert received == [("an1@example.org", "Bevestiging"), ("an1@example.org", "Herinnering"),
                        ("an1@example.org", "Gewijzigd"),
                        ("an2@example.org", "Inschrijving niet weerhouden")]
    planning.cancel_event(event, "De spreker is ziek.", by)
    registrations.register(make_event().id, applicant(3))
    later = make_event(capacity=5)
    registrations.register(later.id, applicant(4))
    notifications.queue_reminders(days_before=30)
    planning.cancel_event(later, "Te weinig inschrijvingen.", by)
    smtp.received.clear()
    send(app)
    # No confirmation or reminder of an activity that will not take place: only that news.
    assert sorted((m["To"].addresses[0].addr_spec, m["Subject"].split(":")[0])
                  for m in smtp.messages) == [
        ("an1@example.org", "Geannuleerd"), ("an3@example.org", "Bevestiging"),
        ("an3@example.org", "Herinnering"), ("an4@example.org", "Geannuleerd")]


def test_a_cancelled_session_leaves_the_series_enrolment_mail_be(app, smtp, make_series,
                                                                 make_event, staff):
    series = make_series()
    first = make_event(series=series)
    make_event(series=series)
    registrations.register(first.id, applicant(1))
    planning.cancel_event(first, "Zaal onbeschikbaar.", staff.create())
    assert send(app).sent == 2
    assert [m["Subject"].split(":")[0] for m in smtp.messages] == ["Bevestiging", "Geannuleerd"]


def test_the_mail_bears_the_name_the_person_gave_last_and_promises_no_missing_invitation(
        app, smtp, make_event, staff):
    event = make_event(capacity=1)
    first = registrations.register(event.id, applicant(1, first_name="Olga")).registration
    registrations.register(event.id, applicant(2, organisation="B"))
    registrations.correct_details(first.token, registrations.OwnDetails(
        first_name="Olgaa", last_name="Online", function="", needs=""))
    send(app)
    planning.save_event(event, event_fields(event, venue="Zaal 2"), staff.create())
    send(app)
    by_address = {}
    for message in smtp.messages:
        by_address.setdefault(message["To"].addresses[0].addr_spec, []).append(message)
    confirmation, changed = by_address["an1@example.org"]
    assert str(confirmation["To"]) == "Olgaa Online <an1@example.org>"
    assert "Beste Olgaa" in parts(confirmation)["text/plain"].get_content()
    assert "uitnodiging in bijlage" in parts(changed)["text/plain"].get_content()
    waiting_changed = by_address["an2@example.org"][-1]
    assert waiting_changed["Subject"].startswith("Gewijzigd")
    assert "text/calendar" not in parts(waiting_changed)
    assert "uitnodiging" not in parts(waiting_changed)["text/plain"].get_content()


def test_the_sender_composes_the_activity_as_it_is_and_what_happened_as_it_was(
        app, smtp, make_event):
    event = make_event(title="Vorming Gent", capacity=1)
    registrations.register(event.id, applicant(1, organisation="A"))
    registrations.register(event.id, applicant(2, organisation="B"))
    registrations.register(event.id, applicant(3, organisation="C"))
    # Before the sender runs, staff retitle the activity and the first in line leaves.
    event.title = "Vorming Gent (nieuwe zaal)"
    db.session.commit()
    registrations.cancel_registration(personal_token("an2@example.org"))
    send(app)
    by_address = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    third = parts(by_address["an3@example.org"])["text/plain"].get_content()
    # The title of now; the place in line of the moment of registering.
    assert "Vorming Gent (nieuwe zaal)" in third and "plaats 2" in third
    confirmation = parts(by_address["an1@example.org"])["text/calendar"].get_content()
    (vevent,) = icalendar.Calendar.from_ical(confirmation).walk("VEVENT")
    feed = icalendar.Calendar.from_ical(app.test_client().get("/agenda.ics").data)
    (listed,) = [v for v in feed.walk("VEVENT") if str(v["UID"]) == event.uid]
    assert str(vevent["SUMMARY"]) == str(listed["SUMMARY"]) == "Vorming Gent (nieuwe zaal)"
    assert vevent["SEQUENCE"] == listed["SEQUENCE"]
    stored = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == "an1@example.org")).one()
    assert "nieuwe zaal" in stored.subject and stored.calendar == confirmation


def test_nothing_is_sent_about_a_registration_erased_before_the_sender_ran(
        app, smtp, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1))
    registrations.register(event.id, applicant(2))
    anonymised = registrations.register(event.id, applicant(3)).registration
    privacy.erase("an1@example.org", None)
    # Nameless by the time the sender comes (a proposal set aside keeps its row, for one).
    anonymised.anonymised_at = utcnow()
    db.session.commit()
    assert send(app).superseded == 1
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["an2@example.org"]


def test_a_mail_that_cannot_be_composed_fails_alone(app, smtp, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1))
    registrations.register(event.id, applicant(2))
    broken = queued_mails()[0]
    broken.facts = {"status": "confirmed"}
    db.session.commit()
    report = send(app)
    assert (report.sent, report.failed) == (1, 1)
    assert queued_mails()[0].status is MailStatus.failed
    assert queued_mails()[0].last_error.startswith("KeyError")
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == ["an2@example.org"]


def test_a_retry_says_what_is_true_at_that_attempt(app, smtp, make_event, staff):
    event = make_event(title="Vorming Gent")
    registration = registrations.register(event.id, applicant(1, first_name="Olga")).registration
    working_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # the server is away for a while
    assert send(app).retrying == 1
    assert "Vorming Gent" in queued_mails()[0].subject, "what the failed attempt said is kept"
    event.title = "Vorming Gent (nieuwe zaal)"
    db.session.commit()
    registrations.correct_details(registration.token, registrations.OwnDetails(
        first_name="Olgaa", last_name="Peeters", function="", needs=""))
    app.config["MAIL_PORT"] = working_port
    later = utcnow() + timedelta(minutes=5)
    transport = outbox.transport_from_config(app.config, app.instance_path)
    assert outbox.deliver_pending(transport, now=later).sent == 1
    (confirmation,) = smtp.messages
    assert confirmation["Subject"] == "Bevestiging: Vorming Gent (nieuwe zaal)"
    assert "Beste Olgaa" in parts(confirmation)["text/plain"].get_content()
    assert queued_mails()[0].subject == confirmation["Subject"]


def test_server_down_keeps_mail_queued_then_delivers_each_once(app, make_event):
    event = make_event()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens here
    for number in range(3):
        assert registrations.register(event.id, applicant(number)).is_new
    report = send(app)
    assert (report.sent, report.retrying) == (0, 3)
    queued = queued_mails()
    assert all(m.status is MailStatus.pending and m.attempts == 1 for m in queued)
    assert all(m.next_attempt_at > utcnow() for m in queued)
    assert "ConnectionRefusedError" in queued[0].last_error

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=app.config["MAIL_PORT"])
    controller.start()
    try:
        assert send(app).sent == 0  # not due yet: back-off
        later = utcnow() + timedelta(minutes=5)
        transport = outbox.transport_from_config(app.config, app.instance_path)
        assert outbox.deliver_pending(transport, now=later).sent == 3
        assert outbox.deliver_pending(transport, now=later).sent == 0
    finally:
        controller.stop()
    ids = [m["Message-ID"] for m in collector.messages]
    assert sorted(ids) == sorted(m.message_id for m in queued)
    assert all(m.status is MailStatus.sent for m in queued_mails())


def test_gives_up_after_the_last_attempt_and_keeps_the_error(app, make_event):
    event = make_event()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=2)
    registrations.register(event.id, applicant(1))
    transport = outbox.transport_from_config(app.config, app.instance_path)
    outbox.deliver_pending(transport)
    report = outbox.deliver_pending(transport, now=utcnow() + timedelta(hours=1))
    assert report.failed == 1
    (message,) = queued_mails()
    assert message.status is MailStatus.failed and message.attempts == 2
    assert message.last_error


def test_headers_cannot_be_injected(app, smtp, make_event):
    event = make_event(title="Vorming\r\nBcc: stiekem@example.org")
    hostile = applicant(1, first_name="An\r\nBcc: stiekem@example.org", last_name="\u2028X\x1b")
    registrations.register(event.id, hostile)
    assert send(app).sent == 1
    (recipients, message), = smtp.received
    assert recipients == ["an1@example.org"]
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and "\n" not in str(message["To"])


def test_two_senders_at_once_deliver_each_mail_once(app, smtp, database_url, make_event):
    event = make_event(capacity=None)
    for number in range(30):
        registrations.register(event.id, applicant(number))
    reports = []
    # Made here, one after the other: CPython 3.11 before 3.11.8 corrupts ast state when two
    # threads compile at once (gh-106905), and every app compiles its URL rules.
    workers = [create_app(base_config(database_url, MAIL_SERVER="127.0.0.1",
                                      MAIL_PORT=app.config["MAIL_PORT"])) for _ in range(2)]

    def sender(worker) -> None:
        with worker.app_context():
            transport = outbox.transport_from_config(worker.config, worker.instance_path)
            reports.append(outbox.deliver_pending(transport))
            db.session.remove()
            db.engine.dispose()

    threads = [threading.Thread(target=sender, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert sum(report.sent for report in reports) == 30


def test_reminders_are_queued_once(app, make_event, make_series):
    soon = make_event(starts_at=utcnow() + timedelta(days=1))
    later = make_event(starts_at=utcnow() + timedelta(days=10))
    series = make_series(capacity=5)
    session = make_event(series=series, starts_at=utcnow() + timedelta(hours=30))
    registrations.register(soon.id, applicant(1))
    registrations.register(later.id, applicant(2))
    registrations.register(session.id, applicant(3))
    waiting = registrations.register(soon.id, applicant(4))
    waiting.registration.status = RegistrationStatus.waiting
    db.session.commit()
    assert notifications.queue_reminders(days_before=2) == 2
    assert notifications.queue_reminders(days_before=2) == 0
    reminders = [m for m in queued_mails() if m.kind == "reminder"]
    assert sorted(m.recipient for m in reminders) == ["an1@example.org", "an3@example.org"]


def test_without_mail_settings_mails_go_to_a_folder(app, make_event, tmp_path):
    event = make_event()
    registrations.register(event.id, applicant(1))
    report = outbox.deliver_pending(outbox.FolderTransport(tmp_path / "mail"))
    assert report.sent == 1
    (written,) = (tmp_path / "mail").glob("*.eml")
    assert "Bevestiging" in email.message_from_bytes(written.read_bytes(),
                                                     policy=policy.default)["Subject"]


def test_an_unusable_address_fails_at_once(app, smtp, make_event, make_registration):
    event = make_event()
    registration = make_registration(event, email="niet geldig@@example")
    notifications.queue("registration_confirmed", registration)
    db.session.commit()
    assert send(app).sent == 0
    (message,) = queued_mails()
    assert message.status is MailStatus.failed and "Ongeldig adres" in message.last_error
    assert smtp.received == []


def test_flask_mail_commands(app, runner, smtp, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1))
    result = runner.invoke(args=["mail", "send"])
    assert "1 verzonden" in result.output
    assert len(smtp.received) == 1
    assert "in de wachtrij" in runner.invoke(args=["mail", "reminders"]).output


def test_every_kind_of_mail_has_its_words_in_a_template(app):
    kinds = {path.stem for path in (Path(app.template_folder) / "mail" / "kinds").glob("*.txt")}
    assert kinds == set(notifications.CALENDAR_METHOD)
    with app.test_request_context():
        for kind in kinds:
            subject, lead = notifications.words_of(kind, title="Vorming Gent", position=3)
            assert subject.endswith("Vorming Gent") and len(lead) > 20, kind
            assert "{" not in subject + lead and "\n" not in lead, kind
        assert "op plaats 3" in notifications.words_of("registration_waiting", title="x",
                                                       position=3)[1]


def test_a_title_is_mail_text_not_markup_or_template(app, make_event):
    event = make_event(title="Vorming <b>A & B</b> {{ 7*7 }}")
    outcome = registrations.register(event.id, applicant(1))
    message = outcome.registration.messages[0]
    said = words(message)
    assert said.subject == "Bevestiging: Vorming <b>A & B</b> {{ 7*7 }}"
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in said.html_body and "49" not in said.subject


def test_message_ids_do_not_follow_the_shared_random_state(app):
    """Hypothesis seeds `random` per example: two mails in one example once shared an id."""
    state = random.getstate()
    try:
        ids = set()
        for _ in range(2):
            random.seed(0)
            ids.add(notifications.new_message_id())
    finally:
        random.setstate(state)
    assert len(ids) == 2
