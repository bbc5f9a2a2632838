"""Many people pressing "inschrijven" at the same second, through gunicorn, on both databases."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import Registration, RegistrationStatus
from scheduler.services import registrations
from tests.fixtures.databases import base_config
from tests.helpers import applicant, form_data
from tests.servers import Gunicorn, fire_at_once, invariants


@pytest.fixture
def server(database_url, app):
    with Gunicorn(database_url) as running:
        yield running


def test_hundred_simultaneous_registrations_never_overbook(request, server, make_event):
    event = make_event(capacity=10)
    path = f"/activiteiten/{event.slug}/inschrijven"
    calls = [
        (lambda n=n: server.post(path, form_data(n, organisation=f"Organisatie {n}")))
        for n in range(120)
    ]
    started = time.monotonic()
    codes = fire_at_once(calls)
    wall = time.monotonic() - started
    counts = invariants(event, capacity=10)
    errors = sum(code >= 500 for code in codes)
    assert errors == 0 and codes.count(200) == 120
    assert counts == {"confirmed": 10, "waiting": 110}
    request.node.user_properties.append(("figures", (
        f"registrations: {len(codes)} sent, {counts['confirmed']} confirmed, "
        f"{counts['waiting']} waiting, {errors} errors, {wall:.2f} s")))


def test_simultaneous_cancellations_and_registrations_keep_the_invariants(
    request, server, make_event
):
    event = make_event(capacity=10)
    people = [
        registrations.register(event.id, applicant(n, organisation=f"Org {n}")).registration
        for n in range(40)
    ]
    leaving = [person.token for person in people[::2]]  # 5 confirmed and 15 waiting leave
    path = f"/activiteiten/{event.slug}/inschrijven"
    calls = [(lambda t=t: server.post(f"/inschrijving/{t}/annuleren", {})) for t in leaving]
    calls += [
        (lambda n=n: server.post(path, form_data(100 + n, organisation=f"Nieuw {n}")))
        for n in range(20)
    ]
    started = time.monotonic()
    codes = fire_at_once(calls)
    wall = time.monotonic() - started
    assert all(code < 500 for code in codes), codes
    counts = invariants(event, capacity=10)
    cancelled = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id, Registration.status == RegistrationStatus.cancelled
        )
    ).all()
    assert len(cancelled) == 20
    assert counts == {"confirmed": 10, "waiting": 40 - 20 + 20 - 10}
    request.node.user_properties.append(("figures", (
        f"20 cancellations + 20 registrations: {counts['confirmed']} confirmed, "
        f"{counts['waiting']} waiting, {sum(c >= 500 for c in codes)} errors, {wall:.2f} s")))


def test_no_answered_registration_is_lost_when_the_app_is_killed(
    request, database_url, app, make_event
):
    event = make_event(capacity=None)
    path = f"/activiteiten/{event.slug}/inschrijven"
    answers: dict[int, int | None] = {}

    with Gunicorn(database_url) as server:
        def register(number: int) -> None:
            try:
                answers[number] = server.post(path, form_data(number, organisation=f"Org {number}"))
            except OSError:  # the app died before it answered
                answers[number] = None

        with ThreadPoolExecutor(max_workers=16) as pool:
            for number in range(300):
                pool.submit(register, number)
            deadline = time.monotonic() + 60
            while sum(code == 200 for code in answers.values()) < 40:
                assert time.monotonic() < deadline, answers
                time.sleep(0.01)
            server.crash()
    db.session.rollback()
    stored = set(db.session.scalars(
        select(Registration.email_normalised).where(Registration.event_id == event.id)))
    answered = {number for number, code in answers.items() if code == 200}
    assert {f"an{number}@example.org" for number in answered} <= stored
    assert len(answered) < 300, "the crash came too late to test anything"
    request.node.user_properties.append(("figures", (
        f"crash: {len(answered)} registrations answered before the kill, all {len(answered)} "
        f"stored; {len(stored) - len(answered)} more stored whose answer was lost")))


def test_a_waiting_sqlite_writer_gets_the_lock_the_moment_it_is_free(sqlite_template, tmp_path):
    """SQLite's busy handler would poll in sleeps of up to 100 ms; the lock file wakes at once."""
    from scheduler import create_app
    from scheduler.extensions import SQLITE_IMMEDIATE
    from tests.fixtures.databases import fresh_sqlite

    app = create_app(base_config(fresh_sqlite(sqlite_template, tmp_path)))
    with app.app_context():
        engine = db.engine
    writing = {SQLITE_IMMEDIATE: True}
    delays = []
    for _ in range(3):
        holding, moments = threading.Event(), {}

        def hold(holding: threading.Event, moments: dict) -> None:
            with engine.connect().execution_options(**writing) as connection, connection.begin():
                holding.set()
                time.sleep(0.25)
            moments["released"] = time.perf_counter()

        holder = threading.Thread(target=hold, args=(holding, moments))
        holder.start()
        holding.wait(5)
        with engine.connect().execution_options(**writing) as connection, connection.begin():
            moments["acquired"] = time.perf_counter()
        holder.join(5)
        delays.append(moments["acquired"] - moments["released"])
    engine.dispose()
    assert sorted(delays)[1] < 0.01, delays
