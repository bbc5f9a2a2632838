"""One JSON line per request and per mail attempt, without an address, token or form content;
the request id comes back in a header and on the error page."""

import json
import logging

from scheduler.services import outbox, registrations
from tests.helpers import applicant, form_data, personal_link


def lines(caplog) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records
            if record.name == "scheduler.requests"]


def test_each_request_is_one_line_without_personal_data(client, make_event, caplog):
    caplog.set_level(logging.INFO, logger="scheduler.requests")
    event = make_event()
    client.post(f"/activiteiten/{event.slug}/inschrijven",
                data=form_data(1, remarks="geheim dossier"))
    link = personal_link("an1@example.org")
    response = client.get(link)
    token = link.rsplit("/", 1)[1]
    client.get("/")
    client.get("/")
    logged = lines(caplog)
    assert [(line["method"], line["status"]) for line in logged] == [
        ("POST", 303), ("GET", 200), ("GET", 200), ("GET", 200)]
    assert logged[1]["path"] == "/inschrijving/…"
    assert response.headers["X-Request-ID"] == logged[1]["request_id"]
    assert [line["from_memory"] for line in logged[2:]] == [False, True]
    assert all(isinstance(line["duration_ms"], float) for line in logged)
    text = caplog.text
    assert "an1@example.org" not in text and token not in text and "geheim" not in text


def test_odd_paths_leave_no_token_or_address_in_the_log(client, make_event, caplog):
    caplog.set_level(logging.INFO, logger="scheduler.requests")
    registration = registrations.register(make_event().id, applicant(1)).registration
    client.get("/", environ_overrides={"PATH_INFO": f"//inschrijving/{registration.token}"})
    client.get("/jan.janssens@example.org")
    assert [line["path"] for line in lines(caplog)] == ["/inschrijving/…", "/…@…"]
    assert registration.token not in caplog.text and "jan.janssens" not in caplog.text


def test_a_mail_attempt_is_logged_without_the_address(app, make_event, caplog, tmp_path):
    caplog.set_level(logging.INFO, logger="scheduler.requests")
    registrations.register(make_event().id, applicant(1))
    outbox.deliver_pending(outbox.FolderTransport(tmp_path))
    (line,) = [line for line in lines(caplog) if line.get("event") == "mail"]
    assert (line["kind"], line["outcome"], line["attempts"]) == (
        "registration_confirmed", "sent", 1)
    assert "an1@example.org" not in caplog.text


def test_the_error_page_shows_the_request_id_to_quote(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/kapot")
    def broken():
        raise RuntimeError("stuk")

    response = client.get("/kapot", headers={"X-Request-ID": "helpdesk-1234"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "helpdesk-1234"
    assert "helpdesk-1234" in response.text
    assert "X-Request-ID" in client.get("/").headers
