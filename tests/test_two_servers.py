"""Two app servers (two gunicorns, standing in for two machines) on one PostgreSQL and one Redis:
places, the waiting list, the agenda, the rate limits and the mail all hold across them."""

import os
import re
import subprocess
import sys

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from scheduler import PROJECT_ROOT
from scheduler.extensions import db
from scheduler.models import MailStatus, OutboxMessage
from scheduler.services import registrations
from tests.fixtures.databases import empty_postgres
from tests.fixtures.mail import Collector
from tests.helpers import applicant, form_data, published_training
from tests.postgres_server import free_port
from tests.servers import Gunicorn, Redis, fire_at_once, invariants

OVERVIEW_LIMIT = 4


@pytest.fixture
def shared(postgres_url, request):
    """One PostgreSQL and one Redis, and an app context on that database for the checks."""
    from scheduler import create_app
    from tests.fixtures.databases import base_config

    request.node.user_properties.append(("database", "postgresql"))
    empty_postgres(postgres_url)
    redis = Redis()
    app = create_app(base_config(postgres_url))
    with app.app_context():
        yield postgres_url, redis.url
        db.session.remove()
        db.engine.dispose()
    redis.stop()


@pytest.fixture
def machines(shared):
    url, redis_url = shared
    config = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": redis_url,
              "REGISTRATION_RATE_LIMIT": "1000 per minute",
              "OVERVIEW_RATE_LIMIT": f"{OVERVIEW_LIMIT} per hour"}
    with Gunicorn(url, workers=2, threads=8, **config) as first, \
            Gunicorn(url, workers=2, threads=8, **config) as second:
        yield first, second




def test_a_race_split_across_two_servers_keeps_capacity_and_order(machines):
    first, second = machines
    event = published_training(capacity=10)
    path = f"/activiteiten/{event.slug}/inschrijven"
    calls = [(lambda n=n, server=(first, second)[n % 2]:
              server.post(path, form_data(n, organisation=f"Organisatie {n}")))
             for n in range(60)]
    codes = fire_at_once(calls)
    assert codes.count(200) == 60
    assert invariants(event, capacity=10) == {"confirmed": 10, "waiting": 50}


def test_one_servers_registration_shows_on_the_others_next_page(machines):
    first, second = machines
    event = published_training(capacity=10)
    page = f"/activiteiten/{event.slug}"
    assert "Nog 10 plaatsen" in second.get(page)[1]
    assert "Nog 10 plaatsen" in second.get(page)[1]  # now answered from its memory
    assert first.post(f"{page}/inschrijven", form_data(1)) == 200
    assert "Nog 9 plaatsen" in second.get(page)[1]


def test_the_rate_limit_counts_across_both_servers(machines):
    first, second = machines
    codes = [(first, second)[n % 2].post("/mijn-inschrijvingen", {"email": f"x{n}@example.org"})
             for n in range(OVERVIEW_LIMIT + 2)]
    assert codes == [303] * OVERVIEW_LIMIT + [429, 429]


def test_two_mail_workers_send_each_mail_once(shared):
    url, _redis_url = shared
    event = published_training(capacity=100)
    for number in range(40):
        registrations.register(event.id, applicant(number))
    collector = Collector()
    smtp = Controller(collector, hostname="127.0.0.1", port=free_port())
    smtp.start()
    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x", "FLASK_APP": "scheduler",
                   "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
    try:
        workers = [subprocess.Popen([sys.executable, "-m", "flask", "mail", "send"],
                                    cwd=PROJECT_ROOT, env=environment,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for _ in range(2)]
        said = [worker.communicate(timeout=120)[0].decode() for worker in workers]
    finally:
        smtp.stop()
    db.session.rollback()
    sent = db.session.scalars(select(OutboxMessage.message_id)
                              .where(OutboxMessage.status == MailStatus.sent)).all()
    delivered = [message["Message-ID"] for message in collector.messages]
    assert len(sent) == 40
    assert sorted(delivered) == sorted(sent)
    assert sum(int(re.search(r"(\d+) verzonden", output).group(1)) for output in said) == 40
