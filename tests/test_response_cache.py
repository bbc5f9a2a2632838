"""Public pages and feeds answered from memory, and never with data older than the database's."""

import gzip
import subprocess
import sys
from datetime import timedelta

from cachetools import LRUCache
from flask import Flask, make_response, request
from sqlalchemy import create_engine, insert

from scheduler.dates import next_month_start
from scheduler.extensions import db
from scheduler.models import Theme, utcnow
from scheduler.response_cache import DataVersion, ResponseCache, share_until
from scheduler.services import registrations
from tests.helpers import applicant


def test_the_agenda_is_served_from_memory_until_a_registration_changes_it(
    client, make_event, count_queries
):
    event = make_event(title="Basisvorming Mechelen", capacity=10)
    first = client.get("/")
    assert "Nog 10 plaatsen" in first.get_data(as_text=True)
    with count_queries() as statements:
        again = client.get("/")
    assert statements == []
    assert again.data == first.data
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]

    registrations.register(event.id, applicant(1))
    with count_queries() as statements:
        after = client.get("/")
    assert statements, "a registration must make the agenda be rendered again"
    assert "Nog 9 plaatsen" in after.get_data(as_text=True)


def test_a_change_committed_by_another_process_is_seen_at_once(client, make_event, app):
    make_event(title="Werkbezoek Leuven", slug="werkbezoek-leuven")
    assert "Werkbezoek Leuven" in client.get("/").get_data(as_text=True)
    script = (
        "import sys\n"
        "from sqlalchemy import create_engine, text\n"
        "engine = create_engine(sys.argv[1])\n"
        "with engine.begin() as connection:\n"
        "    connection.execute(text(\"UPDATE events SET title = 'Werkbezoek Kortrijk' "
        "WHERE slug = 'werkbezoek-leuven'\"))\n"
    )
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    subprocess.run([sys.executable, "-c", script, url], check=True, timeout=60)
    page = client.get("/").get_data(as_text=True)
    assert "Werkbezoek Kortrijk" in page and "Werkbezoek Leuven" not in page


def test_the_kept_agenda_expires_when_a_registration_deadline_passes(
    client, make_event, count_queries, app
):
    closes_at = utcnow() + timedelta(hours=2)
    make_event(registration_closes_at=closes_at)
    client.get("/")
    with count_queries() as statements:
        client.get("/")
    assert statements == []
    app.extensions["response_cache"].clock = lambda: closes_at + timedelta(seconds=1)
    with count_queries() as statements:
        client.get("/")
    assert statements, "past the deadline the page must be rendered again"


def test_a_kept_feed_expires_when_its_history_window_moves(
    client, make_event, count_queries, app
):
    make_event()
    client.get("/agenda.ics")  # serialises the activity for every process: a commit
    client.get("/agenda.ics")
    with count_queries() as statements:
        client.get("/agenda.ics")
    assert statements == []
    memory = app.extensions["response_cache"]
    memory.clock = lambda: next_month_start(utcnow()) + timedelta(seconds=1)
    with count_queries() as statements:
        client.get("/agenda.ics")
    assert statements, "in a new month the feed's window has moved"


def test_the_least_recently_used_response_makes_way(client, make_event, count_queries, app):
    app.extensions["response_cache"].entries = LRUCache(maxsize=1)
    make_event()
    client.get("/")
    client.get("/?soort=vorming")
    with count_queries() as statements:
        client.get("/?soort=vorming")
    assert statements == []
    with count_queries() as statements:
        client.get("/")
    assert statements, "only one response fits"


def test_the_full_page_and_the_htmx_fragment_are_kept_apart(client, hx, make_event):
    make_event(title="Intervisie Brugge")
    page = client.get("/").get_data(as_text=True)
    fragment = client.get("/", headers=hx).get_data(as_text=True)
    again = client.get("/").get_data(as_text=True)
    assert "<html" in page and "<html" in again
    assert "<html" not in fragment and "Intervisie Brugge" in fragment


def test_visitors_with_a_session_are_not_served_from_memory(client, make_event, count_queries):
    make_event()
    client.get("/")
    client.set_cookie("session", "anything")
    with count_queries() as statements:
        assert client.get("/").status_code == 200
    assert statements, "a session may hold a flash message for this visitor"


def test_later_agenda_pages_are_not_kept(client, make_event, count_queries, app):
    app.config["AGENDA_PAGE_SIZE"] = 2
    for _ in range(3):
        make_event()
    client.get("/?pagina=2")
    with count_queries() as statements:
        client.get("/?pagina=2")
    assert statements


def test_a_feed_is_answered_from_memory_with_304_head_and_gzip(
    client, make_event, count_queries
):
    make_event(title="Vorming Hasselt")
    client.get("/agenda.ics")  # serialises the activity for every process: a commit
    plain = client.get("/agenda.ics")
    zipped = client.get("/agenda.ics", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    with count_queries() as statements:
        not_modified = client.get("/agenda.ics", headers={"If-None-Match": plain.headers["ETag"]})
        head = client.head("/agenda.ics")
        again = client.get("/agenda.ics", headers={"Accept-Encoding": "gzip"})
    assert statements == []
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == plain.headers["ETag"]
    assert "Content-Length" not in not_modified.headers
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(plain.data))
    assert again.data == zipped.data and again.headers["Content-Encoding"] == "gzip"


def test_calendars_that_only_send_if_none_match_still_fill_the_memory(
    client, make_event, count_queries, app
):
    make_event()
    client.get("/agenda.ics")  # serialises the activity for every process: a commit
    etag = client.get("/agenda.ics").headers["ETag"]
    # As after a restart: only calendars that know the ETag come.
    app.extensions["response_cache"].entries.clear()
    app.extensions["response_cache"].shareable.clear()
    for _ in range(2):
        with count_queries() as statements:
            assert client.get("/agenda.ics", headers={"If-None-Match": etag}).status_code == 304
        assert statements
    with count_queries() as statements:
        assert client.get("/agenda.ics", headers={"If-None-Match": etag}).status_code == 304
    assert statements == []


def test_static_files_still_answer_304_themselves(client):
    with client.get("/static/css/site.css") as first:
        etag = first.headers["ETag"]
    with client.get("/static/css/site.css", headers={"If-None-Match": etag}) as second:
        assert second.status_code == 304


def _tiny_app(tmp_path, view):
    """A Flask app with one shared view behind the cache, on a real SQLite file."""
    engine = create_engine(f"sqlite:///{tmp_path / 'tiny.sqlite'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE visits (id INTEGER PRIMARY KEY)")
    tiny = Flask(__name__)
    tiny.get("/")(view)
    calls = []

    def counted(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    flask_app = tiny.wsgi_app
    tiny.wsgi_app = ResponseCache(counted, DataVersion(engine), clock=utcnow)
    return tiny, calls, engine


def test_responses_that_set_a_cookie_or_fail_are_never_kept(tmp_path):
    def view():
        share_until(request.environ, utcnow() + timedelta(hours=1))
        response = make_response("hallo", 500 if request.args.get("fout") else 200)
        if request.args.get("koekje"):
            response.set_cookie("koekje", "1")
        return response

    tiny, calls, engine = _tiny_app(tmp_path, view)
    client = tiny.test_client()
    for query in ("?koekje=1", "?fout=1", "?koekje=1", "?fout=1", "", ""):
        client.get("/" + query)
    assert calls == ["/"] * 5
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO visits DEFAULT VALUES")
    client.get("/")
    assert len(calls) == 6
    engine.dispose()


def test_the_data_version_changes_with_each_commit_on_both_databases(app):
    version = DataVersion(db.engine)
    before = version.current()
    assert before is not None and version.current() == before
    with db.engine.begin() as connection:
        connection.execute(insert(Theme).values(slug="preventie", name="Preventie"))
    assert version.current() != before
    version.close()
