"""Mijn inschrijvingen: a person gets their personal links back by mail, and the page tells an
outsider nothing about whether an address is registered."""

from sqlalchemy import select

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import OutboxMessage
from scheduler.services import outbox, privacy, registrations
from tests.fixtures.databases import base_config
from tests.helpers import applicant, words


def ask(client, address: str, **extra):
    return client.post("/mijn-inschrijvingen", data={"email": address, **extra})


def overview_mails() -> list[OutboxMessage]:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "overview")).all()


def test_a_registered_person_gets_one_mail_with_every_link(app, client, make_event,
                                                           make_series, smtp):
    first, second = make_event(capacity=1), make_event()
    series = make_series()
    session = make_event(series=series)
    mine = [registrations.register(event.id, applicant(1)).registration
            for event in (first, second, session)]
    registrations.register(first.id, applicant(2))
    cancelled = make_event()
    registrations.cancel_registration(
        registrations.register(cancelled.id, applicant(1)).registration.token)
    response = ask(client, " AN1@Example.org ")
    assert response.status_code == 303
    assert "Bekijk je mailbox" in client.get(response.headers["Location"]).text
    outbox.deliver_pending(outbox.transport_from_config(app.config, app.instance_path))
    (delivered,) = [m for m in smtp.messages if m["Subject"] == "Je inschrijvingen"]
    assert delivered["To"].addresses[0].addr_spec == "an1@example.org"
    text = delivered.get_body(("plain",)).get_content()
    for registration in mine:
        assert f"/inschrijving/{registration.token}" in text
    assert cancelled.title not in text and "/mijn/" in text
    assert "Ingeschreven" in text and "Op de wachtlijst" not in text


def test_the_answer_is_the_same_for_an_unknown_address_and_nothing_is_mailed(client,
                                                                             make_event):
    registrations.register(make_event().id, applicant(1))
    known, unknown = ask(client, "an1@example.org"), ask(client, "niemand@example.org")
    assert (known.status_code, known.headers["Location"]) == \
        (unknown.status_code, unknown.headers["Location"])
    assert [m.recipient for m in overview_mails()] == ["an1@example.org"]


def test_an_erased_person_is_mailed_nothing(client, make_event, staff):
    registrations.register(make_event().id, applicant(1))
    privacy.erase("an1@example.org", staff.create())
    ask(client, "an1@example.org")
    assert overview_mails() == []


def test_bad_input_is_refused_next_to_the_field(client):
    response = ask(client, "an@")
    assert response.status_code == 422 and "geen geldig e-mailadres" in response.text
    assert ask(client, "an1@example.org", website="http://spam").status_code == 422
    assert overview_mails() == []


def test_one_address_is_mailed_a_few_times_at_most_and_the_answer_does_not_change(
        database_url, make_event):
    """Nobody floods someone's mailbox, and nobody learns from the answer how often an
    address was asked for: past the limit it is the same answer, without the mail."""
    for number in (1, 2):
        registrations.register(make_event().id, applicant(number))
    limited = create_app(base_config(database_url, RATELIMIT_ENABLED=True,
                                     OVERVIEW_ADDRESS_RATE_LIMIT="2 per hour"))
    client = limited.test_client()
    answers = [ask(client, address) for address in
               ("an1@example.org", " AN1@example.org", "an1@example.org", "an2@example.org")]
    assert {answer.status_code for answer in answers} == {303}
    assert [m.recipient for m in overview_mails()] == ["an1@example.org"] * 2 + ["an2@example.org"]
    with limited.app_context():
        db.engine.dispose()


def test_one_client_trying_addresses_is_limited(database_url):
    limited = create_app(base_config(database_url, RATELIMIT_ENABLED=True,
                                     OVERVIEW_RATE_LIMIT="2 per hour"))
    client = limited.test_client()
    answers = [ask(client, f"p{n}@example.org").status_code for n in range(3)]
    assert answers == [303, 303, 429]
    with limited.app_context():
        db.engine.dispose()


def test_overview_mails_are_erased_with_the_person(client, make_event, staff):
    registrations.register(make_event().id, applicant(1))
    ask(client, "an1@example.org")
    assert len(overview_mails()) == 1
    privacy.erase("an1@example.org", staff.create())
    assert overview_mails() == []


def test_the_page_is_linked_from_every_page_and_mail(client, make_event):
    event = make_event()
    page = client.get(f"/activiteiten/{event.slug}").text
    assert page.count('href="/mijn-inschrijvingen"') == 2
    registration = registrations.register(event.id, applicant(1)).registration
    (confirmation,) = registration.messages
    assert "/mijn-inschrijvingen" in words(confirmation).text_body
    assert "/mijn-inschrijvingen" in words(confirmation).html_body
