"""What a newcomer gets from `make run`: mail delivered as it is queued, to instance/mail/, with
links to the port the server runs on."""

import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from sqlalchemy import select

from scheduler import PROJECT_ROOT, create_app
from scheduler.extensions import db
from scheduler.models import OutboxMessage
from tests.fixtures.databases import fresh_sqlite
from tests.helpers import form_data, published_training, words
from tests.postgres_server import free_port

# How long a newcomer's machine may take to install nothing, migrate, seed and start.
STARTUP_SECONDS = 120




@pytest.mark.parametrize(("asked_on", "links_to"), [
    ("http://127.0.0.1:5077", "http://127.0.0.1:5077/inschrijving/"),
    # A server left in development mode lets no visitor's Host header choose the links.
    ("http://evil.example:5077", "http://127.0.0.1:5000/inschrijving/"),
])
def test_in_development_links_follow_the_loopback_address_the_site_was_asked_on(
        sqlite_template, tmp_path, request, asked_on, links_to):
    request.node.user_properties.append(("database", "sqlite"))
    app = create_app({"SCHEDULER_ENV": "development", "TESTING": True, "SECRET_KEY": "x",
                      "DATABASE_URL": fresh_sqlite(sqlite_template, tmp_path),
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        slug = published_training(capacity=5).slug
        app.test_client().post(f"/activiteiten/{slug}/inschrijven", data=form_data(1),
                               base_url=asked_on)
        (mail,) = db.session.scalars(select(OutboxMessage)).all()
        # Composed by the mail worker, outside any request: the address comes with the row.
        text = words(mail).text_body
        db.session.remove()
        db.engine.dispose()
    assert links_to in text and "evil.example" not in text


@pytest.fixture
def make_run(tmp_path):
    """`make run` on a free port and a database of its own, stopped with everything it began."""
    port = free_port()
    environment = {**os.environ, "PORT": str(port),
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite'}"}
    environment.pop("PUBLIC_BASE_URL", None)
    log = open(tmp_path / "make-run.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=PROJECT_ROOT,
                               env=environment, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        yield port, tmp_path / "make-run.log"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_make_run_delivers_each_mail_to_instance_mail_with_links_to_its_port(make_run):
    port, log = make_run
    base = f"http://127.0.0.1:{port}"
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            agenda = browser.open(base + "/", timeout=5).read().decode()
            break
        # Until the server listens, or while its first answer (migrations, demo data, a cold
        # process on a busy machine) takes longer than the read timeout.
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.5)
    address = f"nieuwkomer-{port}@example.org"
    registered = False
    for slug in dict.fromkeys(re.findall(r'href="/activiteiten/([a-z0-9-]+)"', agenda)):
        page = browser.open(f"{base}/activiteiten/{slug}", timeout=10).read().decode()
        if f'action="/activiteiten/{slug}/inschrijven"' not in page:
            continue
        body = urllib.parse.urlencode(form_data(1, email=address)).encode()
        try:
            browser.open(f"{base}/activiteiten/{slug}/inschrijven", data=body, timeout=10)
        except urllib.error.HTTPError:
            continue
        registered = True
        break
    assert registered, "no demo activity took a registration"
    folder = PROJECT_ROOT / "instance" / "mail"
    deadline = time.monotonic() + 30
    delivered = []
    while not delivered:
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.5)
        delivered = [path for path in folder.glob("*.eml") if address in path.read_text()]
    try:
        assert f"{base}/inschrijving/" in delivered[0].read_text()
        assert "instance/mail/" in log.read_text()
    finally:
        for path in delivered:
            path.unlink()
