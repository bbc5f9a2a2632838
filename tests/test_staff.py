"""The staff area: access, accounts, planning activities, handling registrations, reach, audit."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from scheduler import create_app
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    AuditEntry,
    Event,
    EventStatus,
    MailStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    utcnow,
)
from scheduler.services import moderation, registrations
from tests.fixtures.databases import base_config
from tests.fixtures.factories import StaffLogin
from tests.helpers import applicant, event_form, form_data, words

SAMPLE_VALUES = {"event_id": 1, "registration_id": 1, "user_id": 1, "series_id": 1,
                 "request_id": 1, "part_id": 1, "attestation_id": 1,
                 "material_id": 1, "question_id": 1}


def staff_endpoints(app) -> list[tuple[str, str, str]]:
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff."):
            continue
        path = rule.rule
        for name, value in SAMPLE_VALUES.items():
            path = path.replace(f"<int:{name}>", str(value))
        path = path.replace("<key>", "referrals")
        path = path.replace("<kind>", "training")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rules.append((rule.endpoint, method, path))
    return rules


def test_every_staff_page_refuses_anonymous_visitors(app, client):
    endpoints = staff_endpoints(app)
    assert len(endpoints) >= 25
    for endpoint, method, path in endpoints:
        response = client.open(path, method=method)
        assert response.status_code == 302, (endpoint, method, response.status_code)
        assert response.headers["Location"].startswith("/beheer/aanmelden"), endpoint


def test_admin_pages_refuse_editors(app, client, staff):
    staff.login("redacteur@vvsg.be")
    for endpoint, method, path in staff_endpoints(app):
        if endpoint in ("staff.accounts", "staff.account_invite", "staff.account_deactivate",
                        "staff.account_activate", "staff.account_reset", "staff.audit_log"):
            assert client.open(path, method=method).status_code == 403, endpoint


def test_login_gives_one_generic_message(client, staff):
    staff.create("an@vvsg.be")
    wrong_password = client.post("/beheer/aanmelden",
                                 data={"email": "an@vvsg.be", "password": "fout"})
    unknown = client.post("/beheer/aanmelden",
                          data={"email": "niemand@vvsg.be", "password": "fout"})
    for response in (wrong_password, unknown):
        assert response.status_code == 422
        assert "horen niet bij elkaar" in response.get_data(as_text=True)
    assert client.get("/beheer/").status_code == 302


def test_login_and_logout(client, staff):
    staff.login()
    assert client.get("/beheer/").status_code == 200
    assert client.get("/beheer/").headers["Cache-Control"] == "no-store"
    staff.logout()
    assert client.get("/beheer/").status_code == 302


@pytest.mark.parametrize("target", [
    "//evil.example.org/", "/%09/evil.example.org/x", "/%0A/evil.example.org", "/%0D%0Ax",
    "/\\evil.example.org", "https://evil.example.org/", "javascript:alert(1)", "/ /x",
])
def test_login_never_redirects_off_site(client, staff, target):
    """A browser drops a tab or newline from a Location: "/<tab>/evil" would be "//evil"."""
    staff.create()
    response = client.post(f"/beheer/aanmelden?next={target}",
                           data={"email": "medewerker@vvsg.be", "password": StaffLogin.password})
    assert response.status_code == 303 and response.headers["Location"] == "/beheer/"


def test_login_returns_to_the_staff_page_it_came_from(client, staff):
    staff.create()
    response = client.post("/beheer/aanmelden?next=/beheer/activiteiten%3Fsectie%3Dpast",
                           data={"email": "medewerker@vvsg.be", "password": StaffLogin.password})
    assert response.headers["Location"] == "/beheer/activiteiten?sectie=past"


def test_deactivated_accounts_cannot_log_in(client, staff):
    admin = staff.login("baas@vvsg.be", is_admin=True)
    colleague = staff.create("collega@vvsg.be")
    client.post(f"/beheer/medewerkers/{colleague.id}/uitschakelen")
    staff.logout()
    response = client.post("/beheer/aanmelden",
                           data={"email": "collega@vvsg.be", "password": StaffLogin.password})
    assert response.status_code == 422
    assert admin.is_admin


def test_admin_invites_and_the_link_sets_a_password_once(client, staff):
    staff.login("baas@vvsg.be", is_admin=True)
    response = client.post("/beheer/medewerkers", data={"email": "nieuw@vvsg.be", "name": "Nieuw"})
    assert response.status_code == 303
    page = client.get("/beheer/medewerkers").get_data(as_text=True)
    link = page[page.index("/beheer/wachtwoord/"):].split(None, 1)[0].split("<", 1)[0]
    staff.logout()
    assert client.get(link).status_code == 200
    chosen = "nieuw wachtwoord van mij"
    client.post(link, data={"password": chosen, "confirm": chosen})
    assert client.get(link).status_code == 410
    login = client.post("/beheer/aanmelden",
                        data={"email": "nieuw@vvsg.be", "password": "nieuw wachtwoord van mij"})
    assert login.status_code == 303


def test_login_is_rate_limited(database_url):
    app = create_app(base_config(database_url, RATELIMIT_ENABLED=True,
                                 LOGIN_RATE_LIMIT="3 per minute"))
    client = app.test_client()
    attempt = {"email": "x@vvsg.be", "password": "y"}
    codes = [client.post("/beheer/aanmelden", data=attempt).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    with app.app_context():
        db.engine.dispose()


def test_staff_create_command(runner):
    result = runner.invoke(args=["staff", "create", "cli@vvsg.be", "--admin"],
                           input="een lang wachtwoord\neen lang wachtwoord\n")
    assert result.exit_code == 0, result.output
    assert "beheerder" in result.output
    again = runner.invoke(args=["staff", "create", "CLI@vvsg.be"],
                          input="een lang wachtwoord\neen lang wachtwoord\n")
    assert again.exit_code != 0 and "bestaat al" in again.output


def test_create_an_activity_as_draft(client, staff):
    staff.login()
    response = client.post("/beheer/activiteiten/nieuw", data=event_form())
    assert response.status_code == 303
    event = db.session.scalars(select(Event)).one()
    assert event.status is EventStatus.draft
    assert event.municipality.name == "Mechelen"
    assert event.starts_at.isoformat() == "2031-03-11T12:30:00+00:00"
    assert client.get(f"/activiteiten/{event.slug}").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"end_time": "13:00"}, "Het einde moet na het begin liggen."),
        ({"capacity": "-1"}, "Geef 0 of meer plaatsen."),
        ({"slug": "Met Spaties"}, "Alleen kleine letters"),
        ({"registration_opens_at": "2031-03-05T10:00",
          "registration_closes_at": "2031-03-01T10:00"}, "moet sluiten na ze opent."),
        ({"registration_closes_at": "2031-03-12T10:00"}, "sluiten voor de activiteit begint"),
        ({"title": ""}, "Geef een titel."),
    ],
)
def test_activity_validation(client, staff, overrides, message):
    staff.login()
    response = client.post("/beheer/activiteiten/nieuw", data=event_form(**overrides))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(Event)).all() == []


def test_slug_must_be_unique(client, staff, make_event):
    make_event(slug="bezet")
    staff.login()
    response = client.post("/beheer/activiteiten/nieuw", data=event_form(slug="bezet"))
    assert response.status_code == 422
    assert "al in gebruik" in response.get_data(as_text=True)


def test_markdown_preview_is_sanitised(client, staff, hx):
    staff.login()
    response = client.post("/beheer/markdown-voorbeeld", headers=hx,
                           data={"description": "# Titel\n\n<script>x()</script>[a](javascript:x)"})
    page = response.get_data(as_text=True)
    assert "<h2>Titel</h2>" in page  # one level below the page's own title
    assert "<script" not in page and 'href="javascript' not in page


def test_changing_time_mails_everyone_and_raises_sequence(client, staff, make_event):
    event = make_event(capacity=1)
    registrations.register(event.id, applicant(1, organisation="A"))
    registrations.register(event.id, applicant(2, organisation="B"))
    staff.login()
    sequence = event.sequence
    client.post(f"/beheer/activiteiten/{event.id}", data=event_form(
        title=event.title, slug=event.slug, day="2031-04-01"))
    db.session.refresh(event)
    assert event.sequence == sequence + 1
    changed = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "event_changed")).all()
    assert sorted(m.recipient for m in changed) == ["an1@example.org", "an2@example.org"]
    said = {m.recipient: words(m) for m in changed}
    assert said["an1@example.org"].calendar_method == "REQUEST"
    assert said["an2@example.org"].calendar is None


def test_cancel_an_activity_mails_and_keeps_it_visible(client, staff, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1))
    staff.login()
    response = client.post(f"/beheer/activiteiten/{event.id}/annuleren",
                           data={"reason": "De spreker is ziek."})
    assert response.status_code == 303
    db.session.refresh(event)
    assert event.status is EventStatus.cancelled
    (message,) = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "event_cancelled")).all()
    said = words(message)
    assert said.calendar_method == "CANCEL" and "De spreker is ziek." in said.text_body
    assert "geannuleerd" in client.get(f"/activiteiten/{event.slug}").get_data(as_text=True)


def test_publish_duplicate_and_delete(client, staff, make_event):
    draft = make_event(status=EventStatus.draft)
    staff.login()
    client.post(f"/beheer/activiteiten/{draft.id}/publiceren")
    db.session.refresh(draft)
    assert draft.status is EventStatus.published
    client.post(f"/beheer/activiteiten/{draft.id}/dupliceren")
    copy = db.session.scalars(select(Event).where(Event.slug == f"{draft.slug}-2")).one()
    assert copy.status is EventStatus.draft
    copy_id, draft_id = copy.id, draft.id
    client.post(f"/beheer/activiteiten/{copy_id}/verwijderen")
    client.post(f"/beheer/activiteiten/{draft_id}/verwijderen")  # published: refused
    db.session.expunge_all()
    assert db.session.get(Event, copy_id) is None
    assert db.session.get(Event, draft_id) is not None


def test_approve_decline_and_promote(client, staff, make_event):
    event = make_event(capacity=1, is_moderated=True)
    first = registrations.register(event.id, applicant(1, organisation="A")).registration
    second = registrations.register(event.id, applicant(2, organisation="B")).registration
    staff.login()
    base = f"/beheer/activiteiten/{event.id}/inschrijvingen"
    client.post(f"{base}/{second.id}/doorschuiven")  # no place free: refused
    db.session.refresh(second)
    assert second.status is RegistrationStatus.waiting
    client.post(f"{base}/{first.id}/weigeren")
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.status is RegistrationStatus.declined
    assert second.status is RegistrationStatus.pending  # promoted, still to be approved
    client.post(f"{base}/{second.id}/goedkeuren")
    db.session.refresh(second)
    assert second.status is RegistrationStatus.confirmed
    kinds = [m.kind for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert kinds[-3:] == ["declined", "promoted_pending", "approved"]


def test_staff_see_which_mails_went_out_per_registration(client, staff, make_event):
    event = make_event()
    registration = registrations.register(event.id, applicant(1)).registration
    failed = db.session.scalars(select(OutboxMessage)).one()
    failed.status, failed.last_error = MailStatus.failed, "SMTPRecipientsRefused: 550"
    db.session.commit()
    staff.login()
    page = client.get(f"/beheer/activiteiten/{event.id}/inschrijvingen").get_data(as_text=True)
    # Refused before it was composed: staff see what it was about.
    assert "Bevestiging van de inschrijving: mislukt" in page
    assert "SMTPRecipientsRefused: 550" in page
    assert registration.id


def test_a_registration_of_another_activity_is_404(client, staff, make_event):
    event, other = make_event(), make_event()
    registration = registrations.register(other.id, applicant(1)).registration
    staff.login()
    url = f"/beheer/activiteiten/{event.id}/inschrijvingen/{registration.id}/weigeren"
    assert client.post(url).status_code == 404


def test_add_by_hand_after_registration_closed(client, staff, make_event):
    event = make_event(registration_closes_at=utcnow() - timedelta(days=1))
    staff.login()
    data = form_data(1)
    data.pop("consent")
    response = client.post(f"/beheer/activiteiten/{event.id}/inschrijvingen/nieuw", data=data)
    assert response.status_code == 303
    (registration,) = db.session.scalars(select(Registration)).all()
    assert registration.status is RegistrationStatus.confirmed


def test_attendance_with_htmx_and_without(client, staff, hx, make_event):
    event = make_event()
    person = registrations.register(event.id, applicant(1)).registration
    staff.login()
    url = f"/beheer/activiteiten/{event.id}/inschrijvingen/{person.id}/aanwezigheid"
    fragment = client.post(url, data={"aanwezig": "1"}, headers=hx)
    assert fragment.status_code == 200
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith(f'<form id="attendance-{person.id}"') and "<html" not in text
    assert 'aria-pressed="true">Aanwezig' in text
    plain = client.post(url, data={"aanwezig": "0"})
    assert plain.status_code == 303
    (attendance,) = db.session.scalars(select(Attendance)).all()
    assert attendance.is_present is False


def test_export_opens_in_belgian_excel(client, staff, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1, first_name="Zoë", last_name="=HYPERLINK()"))
    staff.login()
    response = client.get(f"/beheer/activiteiten/{event.id}/inschrijvingen.csv")
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Voornaam", "Naam", "E-mail"]
    assert rows[1][0] == "Zoë" and rows[1][1] == "'=HYPERLINK()"
    assert db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "registration.export")).one()


def test_reach_report_counts_municipalities(client, staff, make_event, municipality):
    event = make_event(starts_at=utcnow() + timedelta(days=3))
    first = registrations.register(event.id, applicant(1, organisation="Gent")).registration
    registrations.register(event.id, applicant(2, organisation="Gent"))
    registrations.register(event.id, applicant(3, organisation="Genk"))
    registrations.register(event.id, applicant(4, organisation="Politiezone X"))
    admin = staff.login()
    moderation.set_attendance(first, event, True, admin)
    today = date.today()
    query = f"?van={today - timedelta(days=30)}&tot={today + timedelta(days=30)}"
    page = client.get("/beheer/bereik" + query).get_data(as_text=True)
    assert "2 gemeenten bereikt" in page and "302 nog niet" in page
    exported = client.get("/beheer/bereik.csv" + query).data.decode("utf-8-sig")
    rows = {row[1]: row for row in csv.reader(io.StringIO(exported), delimiter=";")}
    assert rows["Gent"][3:] == ["2", "1"] and rows["Genk"][3:] == ["1", "0"]
    assert rows["Aalst"][3:] == ["0", "0"]
    assert municipality("Gent").province == "Oost-Vlaanderen"


def test_dashboard_and_audit_log(client, staff, make_event):
    event = make_event(is_moderated=True, title="Te beoordelen")
    registrations.register(event.id, applicant(1, first_name="Wachtend"))
    staff.login("baas@vvsg.be", is_admin=True)
    page = client.get("/beheer/").get_data(as_text=True)
    assert "Te beoordelen" in page and "Wachtend" in page
    client.post(f"/beheer/activiteiten/{event.id}/annuleren", data={"reason": "Ziek"})
    log = client.get("/beheer/logboek").get_data(as_text=True)
    assert "event.cancel" in log and "baas@vvsg.be" in log


def test_staff_pages_query_count_does_not_grow(client, staff, make_event, count_queries):
    for number in range(15):
        event = make_event()
        registrations.register(event.id, applicant(number))
    staff.login()
    client.get("/beheer/activiteiten")
    with count_queries() as statements:
        assert client.get("/beheer/activiteiten").status_code == 200
    assert len(statements) <= 5, statements


def test_create_a_series_with_a_weekly_pattern(client, staff):
    staff.login()
    response = client.post("/beheer/reeksen/nieuw", data={
        "kind": "intervision", "title": "Intervisie LIVC", "slug": "intervisie-livc",
        "first_day": "2031-01-07", "every_weeks": "2", "count": "3", "start_time": "13:30",
        "end_time": "16:30", "capacity": "12", "is_moderated": "y",
    })
    assert response.status_code == 303
    sessions = db.session.scalars(select(Event).order_by(Event.starts_at)).all()
    assert [s.slug for s in sessions] == [f"intervisie-livc-{n}" for n in (1, 2, 3)]
    assert [s.starts_at.date().isoformat() for s in sessions] == [
        "2031-01-07", "2031-01-21", "2031-02-04"]
    assert sessions[0].title == "Intervisie LIVC (1/3)" and sessions[0].series.capacity == 12
    client.post(response.headers["Location"] + "/publiceren")
    db.session.expire_all()
    assert all(s.status is EventStatus.published for s in sessions)


@pytest.mark.parametrize(
    ("dates", "message"),
    [("", "Geef minstens één datum"), ("31/02/2031", "geen datum"),
     ("12/01/2031\n12/01/2031", "hoogstens 52 verschillende")],
)
def test_series_dates_are_checked(client, staff, dates, message):
    staff.login()
    response = client.post("/beheer/reeksen/nieuw", data={
        "kind": "intervision", "title": "X", "slug": "x", "dates": dates,
        "start_time": "13:30", "end_time": "16:30",
    })
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalars(select(Event)).all() == []


def test_a_form_opened_before_someone_else_saved_is_refused(client, staff, make_event):
    """Two tabs: saving the older one would silently move the activity back."""
    event = make_event()
    registrations.register(event.id, applicant(1))
    staff.login()
    page = client.get(f"/beheer/activiteiten/{event.id}").text
    seen = re.search(r'name="edited_version" type="hidden" value="([^"]+)"', page).group(1)
    client.post(f"/beheer/activiteiten/{event.id}", data=event_form(
        title=event.title, slug=event.slug, day="2031-04-01", edited_version=seen))
    db.session.refresh(event)
    moved_to, mails = event.starts_at, len(db.session.scalars(select(OutboxMessage)).all())
    stale = client.post(f"/beheer/activiteiten/{event.id}", data=event_form(
        title=event.title, slug=event.slug, day="2031-03-11", venue="Raadzaal",
        edited_version=seen))
    assert stale.status_code == 409 and "intussen gewijzigd" in stale.text
    db.session.refresh(event)
    assert event.starts_at == moved_to and event.venue == "Stadhuis"
    assert len(db.session.scalars(select(OutboxMessage)).all()) == mails


@pytest.mark.parametrize("path", [
    "/beheer/activiteiten/99999999999999999999999",
    "/beheer/activiteiten/99999999999999999999999/inschrijvingen",
    "/beheer/reeksen/99999999999999999999999",
    "/beheer/aanvragen/99999999999999999999999",
])
def test_an_id_too_large_for_the_database_is_a_404(client, staff, path):
    staff.login()
    assert client.get(path).status_code == 404
    huge = "99999999999999999999999"
    for action in (f"/beheer/activiteiten/{huge}/publiceren",
                   f"/beheer/activiteiten/1/inschrijvingen/{huge}/weigeren"):
        assert client.post(action).status_code == 404


def test_a_page_for_admins_only_answers_in_dutch(client, staff):
    staff.login()
    response = client.get("/beheer/logboek")
    assert response.status_code == 403
    assert 'lang="nl' in response.text and "Geen toegang" in response.text


def test_an_htmx_request_after_the_session_ended_sends_the_whole_page_to_the_login(
        client, hx, make_event):
    """Not the login page swapped into a table cell: htmx follows HX-Redirect, and after
    logging in staff return to the page they were on."""
    event = make_event()
    answer = client.post(f"/beheer/activiteiten/{event.id}/inschrijvingen/1/aanwezigheid",
                         data={"aanwezig": "1"}, headers={
                             **hx, "HX-Current-URL":
                             f"https://agenda.example.org/beheer/activiteiten/{event.id}"
                             "/inschrijvingen?filter=x"})
    assert answer.status_code == 401 and answer.data == b""
    assert answer.headers["HX-Redirect"] == (
        f"/beheer/aanmelden?next=/beheer/activiteiten/{event.id}/inschrijvingen?filter%3Dx")


def test_an_htmx_post_whose_staff_session_expired_sends_the_whole_page_to_the_login(
        app, client, hx, make_event):
    """No session, so no CSRF token either: the CSRF check answers first, and still the
    whole page goes to the login rather than a message in a table cell."""
    app.config["WTF_CSRF_ENABLED"] = True
    event = make_event()
    page = f"/beheer/activiteiten/{event.id}/inschrijvingen"
    answer = client.post(f"{page}/1/aanwezigheid", data={"aanwezig": "1"}, headers={
        **hx, "HX-Current-URL": f"https://agenda.example.org{page}"})
    assert answer.status_code == 401
    assert answer.headers["HX-Redirect"] == f"/beheer/aanmelden?next={page}"
