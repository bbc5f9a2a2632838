"""Attestations of attendance: issued from the attendance staff take, read back from the PDF,
mailed once the attendance is final, corrected, revoked and verified by a third party."""

import io
import os
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from scheduler.dates import format_day
from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import (
    Attestation,
    EvaluationInvitation,
    Event,
    EventKind,
    EventStatus,
    MailStatus,
    OutboxMessage,
    Registration,
    RegistrationStatus,
    Role,
    utcnow,
)
from scheduler.services import (
    attestations,
    handover,
    materials,
    moderation,
    notifications,
    outbox,
    planning,
    privacy,
)
from scheduler.services import series as series_service
from tests.helpers import event_fields

CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){3}")


@pytest.fixture
def staff_client(client, staff):
    staff.login()
    return client


def mark(client, event, registration, present: bool = True):
    response = client.post(
        f"/beheer/activiteiten/{event.id}/inschrijvingen/{registration.id}/aanwezigheid",
        data={"aanwezig": "1" if present else "0"})
    assert response.status_code == 303
    db.session.expire_all()


def make_final(client, event):
    response = client.post(f"/beheer/activiteiten/{event.id}/aanwezigheid-definitief")
    assert response.status_code == 303
    db.session.expire_all()
    return response


def send(app) -> outbox.DeliveryReport:
    return outbox.deliver_pending(outbox.transport_from_config(app.config, app.instance_path))


def current(registration) -> Attestation | None:
    db.session.expire_all()
    return attestations.shown_to(db.session.get(Registration, registration.id))


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def attestation_mails() -> list[OutboxMessage]:
    db.session.rollback()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "attestation")
                              .order_by(OutboxMessage.id)).all()


@pytest.fixture
def past_training(make_event):
    starts = utcnow() - timedelta(days=2)
    return make_event(title="Basisvorming radicalisering", starts_at=starts,
                      ends_at=starts + timedelta(hours=3, minutes=30))


def test_present_gets_an_attestation_whose_pdf_states_who_what_when_and_how_long(
        client, staff_client, past_training, make_registration, municipality):
    person = make_registration(past_training, first_name="Zoë", last_name="Van Hëlsing-Ïnçe",
                               organisation=municipality("Leuven"))
    token = person.token
    assert "Attest van deelname" not in client.get(f"/inschrijving/{token}").get_data(True)
    assert client.get(f"/inschrijving/{token}/attest.pdf").status_code == 404

    mark(staff_client, past_training, person)

    page = client.get(f"/inschrijving/{token}").get_data(as_text=True)
    attestation = current(person)
    assert "Attest van deelname" in page and "3 uur 30 minuten" in page
    assert f"/attest/{attestation.code}" in page
    assert CODE.fullmatch(attestation.code)
    response = client.get(f"/inschrijving/{token}/attest.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=\"attest-")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    reader, text = pdf_text(response.data)
    flat = " ".join(text.split())
    for expected in ("Attest van deelname", "Zoë Van Hëlsing-Ïnçe", "Leuven",
                     "Basisvorming radicalisering", "Totaal: 3 uur 30 minuten",
                     attestation.code, f"/attest/{attestation.code}", "radicalisering@vvsg.be",
                     "Lokale aanpak van radicalisering",
                     "Vereniging van Vlaamse Steden en Gemeenten"):
        assert expected in flat, expected
    assert format_day(past_training.starts_at) in flat
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    embedded = [font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                .get_object() for font in fonts.values()]
    assert embedded and all("/FontFile2" in descriptor for descriptor in embedded)
    assert reader.metadata.title == "Attest van deelname: Basisvorming radicalisering"


def test_a_series_attestation_lists_the_sessions_attended_and_their_total(
        client, staff_client, make_series, make_event, make_registration):
    series = make_series(title="Intervisiegroep Limburg")
    now = utcnow()
    sessions = [make_event(series=series, title=f"Intervisie {number}",
                           starts_at=now - timedelta(days=30 - number),
                           ends_at=now - timedelta(days=30 - number) + timedelta(hours=2))
                for number in (1, 2, 3)]
    cancelled = make_event(series=series, title="Intervisie afgelast",
                           starts_at=now - timedelta(days=20),
                           ends_at=now - timedelta(days=20) + timedelta(hours=2))
    person = make_registration(series)
    for session in (sessions[0], sessions[2], cancelled):
        mark(staff_client, session, person)
    cancelled.status = EventStatus.cancelled
    db.session.commit()
    mark(staff_client, sessions[1], person, present=False)

    attestation = current(person)
    assert attestation.series_id == series.id and attestation.minutes == 4 * 60
    assert [row["title"] for row in attestation.sessions] == ["Intervisie 1", "Intervisie 3"]
    _reader, text = pdf_text(client.get(f"/inschrijving/{person.token}/attest.pdf").data)
    flat = " ".join(text.split())
    assert "Intervisiegroep Limburg" in flat and "Totaal: 4 uur" in flat
    assert "Intervisie 1" in flat and "Intervisie 3" in flat and "Intervisie 2" not in flat
    assert "afgelast" not in flat


def test_the_attestation_is_mailed_when_attendance_is_final_once_with_the_pdf_attached(
        app, smtp, client, staff_client, past_training, make_registration):
    present = make_registration(past_training, first_name="Eline")
    absent = make_registration(past_training)
    mark(staff_client, past_training, present)
    mark(staff_client, past_training, absent, present=False)
    assert attestation_mails() == []

    make_final(staff_client, past_training)
    assert send(app).sent == 1
    (recipients, message), = smtp.received
    assert recipients == [present.email]
    assert message["Subject"] == "Attest van deelname: Basisvorming radicalisering"
    (attachment,) = [part for part in message.iter_attachments()
                     if part.get_content_type() == "application/pdf"]
    _reader, text = pdf_text(attachment.get_content())
    assert current(present).code in " ".join(text.split())
    body = message.get_body(("plain",)).get_content()
    # It took place: the personal page is to look at, nothing is left to cancel.
    assert "Je inschrijving bekijken: " in body and "annuleren" not in body

    assert staff_client.post(
        f"/beheer/activiteiten/{past_training.id}/aanwezigheid-definitief").status_code == 303
    assert len(attestation_mails()) == 1
    assert current(absent) is None


def attend_and_mail(app, staff_client, event, person) -> None:
    """Present, the attendance final, the attestation mailed."""
    mark(staff_client, event, person)
    make_final(staff_client, event)
    send(app)


def mailed_codes(smtp) -> list[str]:
    codes = []
    for message in smtp.messages:
        (attachment,) = [part for part in message.iter_attachments()
                         if part.get_content_type() == "application/pdf"]
        codes.append(CODE.search(" ".join(pdf_text(attachment.get_content())[1].split()))
                     .group(0))
    return codes


def test_a_correction_after_final_reissues_and_the_old_code_says_replaced(
        app, smtp, client, staff_client, past_training, make_registration):
    person = make_registration(past_training)
    late = make_registration(past_training)
    attend_and_mail(app, staff_client, past_training, person)
    first = current(person)
    assert mailed_codes(smtp) == [first.code]
    assert "echt en geldig" in client.get(f"/attest/{first.code}").get_data(as_text=True)

    # Corrected after the mail: the newcomer is mailed at once.
    mark(staff_client, past_training, late)
    send(app)
    assert mailed_codes(smtp) == [first.code, current(late).code]

    # Absent, then present again before the sender runs: only what is valid leaves.
    staff_client.post(f"/beheer/activiteiten/{past_training.id}/inschrijvingen/{person.id}"
                      "/aanwezigheid", data={"aanwezig": "0"})
    renamed = db.session.get(Registration, person.id)
    renamed.last_name = "Janssens"
    db.session.commit()
    mark(staff_client, past_training, person)
    second = current(person)
    assert second.code != first.code and second.person_name.endswith("Janssens")
    send(app)
    assert mailed_codes(smtp)[2:] == [second.code]
    correction = smtp.messages[-1].get_body(("plain",)).get_content()
    assert "vervangt het attest dat je eerder kreeg" in correction
    assert "vervangt" not in smtp.messages[0].get_body(("plain",)).get_content()
    old_page = client.get(f"/attest/{first.code}").get_data(as_text=True)
    assert "vervangen" in old_page and "echt en geldig" not in old_page
    assert "echt en geldig" in client.get(f"/attest/{second.code}").get_data(as_text=True)


def test_absent_after_present_withdraws_the_attestation(client, staff_client, past_training,
                                                         make_registration):
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    code = current(person).code
    mark(staff_client, past_training, person, present=False)
    assert current(person) is None
    assert client.get(f"/inschrijving/{person.token}/attest.pdf").status_code == 404
    personal = client.get(f"/inschrijving/{person.token}").get_data(as_text=True)
    assert "Je attest geldt niet meer" in personal and "Attest downloaden" not in personal
    page = client.get(f"/attest/{code}").get_data(as_text=True)
    assert "geldt niet meer" in page and "echt en geldig" not in page


def test_staff_revoke_with_a_reason_and_nothing_reissues_it_until_they_issue_it_again(
        client, staff_client, past_training, make_registration):
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    attestation = current(person)
    page = staff_client.post(f"/beheer/attesten/{attestation.id}", data={"reden": " "})
    assert page.status_code == 422 and "Geef een reden op." in page.get_data(as_text=True)
    assert current(person).is_valid

    staff_client.post(f"/beheer/attesten/{attestation.id}",
                      data={"reden": "Vergissing in de aanwezigheidslijst."})
    verify = client.get(f"/attest/{attestation.code}").get_data(as_text=True)
    assert "ingetrokken" in verify and "Vergissing in de aanwezigheidslijst." in verify
    assert "ingetrokken" in client.get(f"/inschrijving/{person.token}").get_data(as_text=True)
    assert client.get(f"/inschrijving/{person.token}/attest.pdf").status_code == 404
    mark(staff_client, past_training, person, present=False)
    mark(staff_client, past_training, person)
    assert current(person).id == attestation.id

    staff_client.post(f"/beheer/inschrijvingen/{person.id}/attest-opnieuw")
    again = current(person)
    assert again.id != attestation.id and again.is_valid
    assert client.get(f"/inschrijving/{person.token}/attest.pdf").status_code == 200


def test_the_verification_page_shows_only_what_verification_needs(
        client, staff_client, past_training, make_registration, municipality):
    person = make_registration(past_training, first_name="An", last_name="Peeters",
                               email="an.peeters@example.org", function="Preventiewerker",
                               organisation=municipality("Gent"))
    mark(staff_client, past_training, person)
    code = current(person).code
    response = client.get(f"/attest/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "An Peeters" in page and "Basisvorming radicalisering" in page
    assert "3 uur 30 minuten" in page
    for private in ("an.peeters@example.org", "Preventiewerker", "Gent", person.token):
        assert private not in page
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert response.headers["Cache-Control"] == "no-store"

    typed = code.lower().replace("-", " ")
    canonical = client.get(f"/attest/{typed}")
    assert canonical.status_code == 301 and canonical.location.endswith(f"/attest/{code}")
    form = client.get("/attest", query_string={"code": typed})
    assert form.status_code == 303 and form.headers["Location"].endswith(f"/attest/{code}")
    refused = client.get("/attest", query_string={"code": "12345"})
    assert refused.status_code == 422 and "twintig letters" in refused.get_data(as_text=True)
    assert client.get("/attest").status_code == 200


@pytest.mark.parametrize("code", ["0000000000000000000Z", "niet-een-code", "A" * 300])
def test_unknown_or_malformed_codes_are_a_404_page(client, code):
    response = client.get(f"/attest/{code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Er is geen attest met deze code" in page
    assert 'name="code"' in page


def test_codes_are_unguessable():
    codes = {attestations.new_code() for _ in range(2000)}
    assert len(codes) == 2000 and all(CODE.fullmatch(code) for code in codes)
    # 20 characters of 32 possibilities: every position takes many values.
    assert all(len({code.replace("-", "")[position] for code in codes}) == 32
               for position in range(20))


def test_attendance_is_final_only_once_and_only_after_the_start(
        staff_client, make_event, past_training):
    upcoming = make_event()
    response = staff_client.post(f"/beheer/activiteiten/{upcoming.id}/aanwezigheid-definitief",
                                 follow_redirects=True)
    assert "pas definitief" in response.get_data(as_text=True)
    assert db.session.get(type(upcoming), upcoming.id).attendance_final_at is None
    make_final(staff_client, past_training)
    again = staff_client.post(f"/beheer/activiteiten/{past_training.id}/aanwezigheid-definitief",
                              follow_redirects=True)
    assert "al definitief" in again.get_data(as_text=True)


def test_a_series_is_mailed_once_every_held_session_is_final(
        app, staff_client, make_series, make_event, make_registration):
    series = make_series()
    now = utcnow()
    first, second = (make_event(series=series, starts_at=now - timedelta(days=days),
                                ends_at=now - timedelta(days=days) + timedelta(hours=2))
                     for days in (9, 2))
    person = make_registration(series)
    mark(staff_client, first, person)
    make_final(staff_client, first)
    assert attestation_mails() == []
    mark(staff_client, second, person)
    make_final(staff_client, second)
    (mail,) = attestation_mails()
    assert mail.facts["attestation_id"] == current(person).id
    assert current(person).minutes == 240


def test_participants_page_offers_final_and_links_each_attestation(
        staff_client, past_training, make_registration):
    person = make_registration(past_training)
    page = staff_client.get(f"/beheer/activiteiten/{past_training.id}/inschrijvingen")
    assert "Aanwezigheid definitief maken" in page.get_data(as_text=True)
    mark(staff_client, past_training, person)
    attestation = current(person)
    page = staff_client.get(f"/beheer/activiteiten/{past_training.id}/inschrijvingen")
    assert f"/beheer/attesten/{attestation.id}" in page.get_data(as_text=True)
    staff_pdf = staff_client.get(f"/beheer/attesten/{attestation.id}/attest.pdf")
    assert staff_pdf.status_code == 200 and staff_pdf.data.startswith(b"%PDF-")


def test_staff_pages_of_attestations_need_a_login(client, staff, past_training,
                                                  make_registration):
    person = make_registration(past_training)
    staff.login()
    mark(client, past_training, person)
    staff.logout()
    attestation_id = current(person).id
    for path in (f"/beheer/attesten/{attestation_id}",
                 f"/beheer/attesten/{attestation_id}/attest.pdf"):
        response = client.get(path)
        assert response.status_code == 302 and "/beheer/aanmelden" in response.headers["Location"]


def test_there_is_one_current_attestation_per_registration(staff_client, past_training,
                                                           make_registration):
    person = make_registration(past_training)
    for present in (True, False, True, True, False, True):
        mark(staff_client, past_training, person, present)
    valid = db.session.scalar(select(func.count(Attestation.id)).where(
        Attestation.registration_id == person.id, Attestation.replaced_at.is_(None),
        Attestation.revoked_at.is_(None)))
    assert valid == 1


def test_an_attestation_revoked_before_its_mail_left_is_not_sent(
        app, smtp, staff_client, past_training, make_registration):
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    make_final(staff_client, past_training)
    staff_client.post(f"/beheer/attesten/{current(person).id}", data={"reden": "Vergissing."})
    report = send(app)
    assert report.sent == 0 and smtp.messages == []
    assert [mail.status for mail in attestation_mails()] == [MailStatus.superseded]


def test_an_anonymised_registration_keeps_a_verifiable_attestation_for_the_set_years(
        app, client, staff_client, past_training, make_registration):
    person = make_registration(past_training, first_name="Lotte", last_name="Maes")
    token = person.token
    mark(staff_client, past_training, person)
    attestation = current(person)
    code, until = attestation.code, attestation.verifiable_until
    assert until.year == past_training.ends_at.year + 5

    privacy.purge(now=utcnow() + timedelta(days=400), months=12)
    assert client.get(f"/inschrijving/{token}").status_code == 404
    anonymous = db.session.get(Registration, person.id)
    assert anonymous.anonymised_at is not None and anonymous.first_name == ""
    page = client.get(f"/attest/{code}").get_data(as_text=True)
    assert "Lotte Maes" in page and "echt en geldig" in page
    # A correction of an anonymised registration leaves what a third party verifies alone.
    mark(staff_client, past_training, person, present=False)
    assert "echt en geldig" in client.get(f"/attest/{code}").get_data(as_text=True)

    report = privacy.purge(now=until + timedelta(days=1), months=12)
    assert report.attestations == 1
    assert client.get(f"/attest/{code}").status_code == 404


def test_purging_an_expired_attestation_keeps_the_one_it_replaced_consistent(
        client, staff_client, make_series, make_event, make_registration):
    """A correction may shorten what is attested, so a successor can expire first."""
    series = make_series()
    now = utcnow()
    early, late = (make_event(series=series, starts_at=now - timedelta(days=days),
                              ends_at=now - timedelta(days=days) + timedelta(hours=2))
                   for days in (40, 3))
    person = make_registration(series)
    mark(staff_client, early, person)
    mark(staff_client, late, person)
    both = current(person)
    mark(staff_client, late, person, present=False)
    only_early = current(person)
    assert only_early.verifiable_until < both.verifiable_until
    expired_code, kept_code = only_early.code, both.code
    report = privacy.purge(now=only_early.verifiable_until + timedelta(days=1), months=12)
    # The first version (early only) and the last; the one between stays until its own end.
    assert report.attestations == 2
    assert client.get(f"/attest/{expired_code}").status_code == 404
    assert "geldt niet meer" in client.get(f"/attest/{kept_code}").get_data(as_text=True)


def test_erasure_deletes_every_attestation_of_the_person_and_access_lists_them(
        client, staff, past_training, make_registration):
    person = make_registration(past_training, email="wis.mij@example.org")
    admin = staff.login(is_admin=True)
    mark(client, past_training, person)
    mark(client, past_training, person, present=False)
    mark(client, past_training, person)
    codes = [row["code"] for row in privacy.lookup("wis.mij@example.org")["attestations"]]
    assert len(codes) == 2 and current(person).code in codes
    page = client.post("/beheer/privacy", data={"email": "wis.mij@example.org"})
    assert all(code in page.get_data(as_text=True) for code in codes)
    privacy.erase("wis.mij@example.org", admin)
    for code in codes:
        assert client.get(f"/attest/{code}").status_code == 404
    assert db.session.scalar(select(func.count(Attestation.id))) == 0


def test_cancelling_a_running_activity_withdraws_its_attestations_an_ended_one_is_kept(
        client, staff, staff_client, make_event, past_training, make_registration):
    running = make_event(starts_at=utcnow() - timedelta(hours=1),
                         ends_at=utcnow() + timedelta(hours=2))
    person = make_registration(running)
    mark(staff_client, running, person)
    code = current(person).code
    canceller = staff.create("annuleer@vvsg.be")
    planning.cancel_event(db.session.get(Event, running.id), "Brandalarm.", canceller)
    assert current(person) is None
    assert "geldt niet meer" in client.get(f"/attest/{code}").get_data(as_text=True)

    attended = make_registration(past_training)
    mark(staff_client, past_training, attended)
    with pytest.raises(SchedulerError, match="voorbij"):
        planning.cancel_event(db.session.get(Event, past_training.id), "Te laat.", canceller)
    assert current(attended).is_valid


def test_only_what_took_place_while_holding_a_place_is_attested(
        staff, make_event, make_series, make_registration):
    recorder = staff.create("lijst@vvsg.be")
    upcoming = make_event()
    early = make_registration(upcoming)
    moderation.set_attendance(early, upcoming, True, recorder)
    assert current(early) is None
    held = make_event(starts_at=utcnow() - timedelta(days=1),
                      ends_at=utcnow() - timedelta(days=1) + timedelta(hours=2))
    for status in (RegistrationStatus.waiting, RegistrationStatus.pending,
                   RegistrationStatus.declined):
        outsider = make_registration(held, status=status)
        moderation.set_attendance(outsider, held, True, recorder)
        assert current(outsider) is None, status
    series = make_series()
    now = utcnow()
    first, second = (make_event(series=series, starts_at=now - timedelta(days=days),
                                ends_at=now - timedelta(days=days) + timedelta(hours=2))
                     for days in (20, 2))
    left = make_registration(series, status=RegistrationStatus.cancelled,
                             cancelled_at=now - timedelta(days=10))
    moderation.set_attendance(left, first, True, recorder)
    moderation.set_attendance(left, second, True, recorder)
    assert [row["starts_at"] for row in current(left).sessions] == [
        first.starts_at.isoformat()]


def test_flask_privacy_purge_deletes_expired_attestations_closed_evaluation_links_and_loose_files(
        app, staff_client, make_event, past_training, make_registration):
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    long_ago = utcnow() - timedelta(days=60)
    old = make_event(starts_at=long_ago, ends_at=long_ago + timedelta(hours=2))
    db.session.add(EvaluationInvitation(event_id=old.id, registration_id=None))
    db.session.commit()
    loose = materials.folder() / ("0" * 32)
    not_ours = materials.folder() / "scheduler.sqlite"
    loose.parent.mkdir(parents=True, exist_ok=True)
    loose.write_bytes(b"%PDF-1.4 niemand verwijst hiernaar")
    not_ours.write_bytes(b"SQLite format 3")
    hour_ago = (utcnow() - timedelta(hours=2)).timestamp()
    for path in (loose, not_ours):
        os.utime(path, (hour_ago, hour_ago))
    # As if it had been issued for an activity of years ago.
    current(person).verifiable_until = utcnow() - timedelta(days=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 verlopen attesten, 1 evaluatielinks en 1 losse bestanden verwijderd" in result.output
    assert not loose.exists() and not_ours.exists()
    assert db.session.scalar(select(func.count(EvaluationInvitation.id))) == 0


def test_the_participants_page_takes_the_same_statements_however_many_attestations(
        staff_client, past_training, make_registration, count_queries):
    def statements_with(people: int) -> int:
        for _ in range(people):
            person = make_registration(past_training)
            mark(staff_client, past_training, person)
        path = f"/beheer/activiteiten/{past_training.id}/inschrijvingen"
        staff_client.get(path)
        with count_queries() as statements:
            assert staff_client.get(path).status_code == 200
        return len(statements)

    assert statements_with(2) == statements_with(12)


def test_an_admin_erases_an_attestation_found_by_its_code_after_anonymisation(
        client, staff, past_training, make_registration):
    person = make_registration(past_training)
    staff.login("redacteur@vvsg.be")
    mark(client, past_training, person)
    mark(client, past_training, person, present=False)
    mark(client, past_training, person)
    first_code = privacy.lookup(person.email)["attestations"][0]["code"]
    attestation = current(person)
    code = attestation.code
    privacy.purge(now=utcnow() + timedelta(days=400), months=12)
    assert "Dit attest beheren" in client.get(f"/attest/{code}").get_data(as_text=True)
    assert client.post(f"/beheer/attesten/{attestation.id}/wissen").status_code == 403
    staff.logout()
    staff.login("baas@vvsg.be", is_admin=True)
    assert client.post(f"/beheer/attesten/{attestation.id}/wissen").status_code == 303
    assert db.session.scalar(select(func.count(Attestation.id)).where(
        Attestation.registration_id == person.id)) == 0
    for gone in (code, first_code):
        assert client.get(f"/attest/{gone}").status_code == 404
    staff.logout()
    assert "Dit attest beheren" not in client.get("/attest").get_data(as_text=True)


def test_staff_hand_out_no_pdf_of_an_attestation_that_is_not_valid(
        staff_client, past_training, make_registration):
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    attestation_id = current(person).id
    staff_client.post(f"/beheer/attesten/{attestation_id}", data={"reden": "Vergissing."})
    assert staff_client.get(f"/beheer/attesten/{attestation_id}/attest.pdf").status_code == 404
    assert "Pdf downloaden" not in staff_client.get(
        f"/beheer/attesten/{attestation_id}").get_data(as_text=True)


def test_the_database_holds_one_valid_attestation_per_registration(
        staff_client, past_training, make_registration):
    """Two staff correcting one person at the same moment cannot leave two valid codes."""
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    valid = current(person)
    db.session.add(Attestation(
        code=attestations.new_code(), registration_id=person.id, event_id=past_training.id,
        person_name="Dubbel", title="Dubbel", kind=valid.kind, sessions=valid.sessions,
        minutes=valid.minutes, verifiable_until=valid.verifiable_until))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_mail_due_once_queued_twice_at_the_same_moment_is_queued_once(
        past_training, make_registration):
    person = make_registration(past_training)
    for _ in range(2):
        notifications.queue("reminder", person, dedupe_key=f"reminder:{person.id}:x")
        db.session.commit()
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.dedupe_key == f"reminder:{person.id}:x")) == 1


def withdrawal_mails(smtp) -> list:
    return [message for message in smtp.messages
            if message["Subject"].startswith("Je attest van deelname geldt niet meer")]


def test_whoever_was_mailed_an_attestation_that_stops_holding_is_told_once(
        app, smtp, staff_client, past_training, make_registration):
    corrected, revoked, never_mailed = (make_registration(past_training) for _ in range(3))
    for person in (corrected, revoked):
        attend_and_mail(app, staff_client, past_training, person)

    mark(staff_client, past_training, corrected, present=False)
    staff_client.post(f"/beheer/attesten/{current(revoked).id}",
                      data={"reden": "Vroeg vertrokken, na een half uur."})
    # Marked present after the mails went and withdrawn before the sender ran: never told.
    mark(staff_client, past_training, never_mailed)
    mark(staff_client, past_training, never_mailed, present=False)
    send(app)
    told = withdrawal_mails(smtp)
    assert sorted(message["To"].addresses[0].addr_spec for message in told) == sorted(
        [corrected.email, revoked.email])
    for message in told:
        assert message["Subject"].endswith("Basisvorming radicalisering")
        assert not any(part.get_content_type() == "application/pdf"
                       for part in message.iter_attachments())
    texts = {message["To"].addresses[0].addr_spec: message.get_body(("plain",)).get_content()
             for message in told}
    assert "volgens de aanwezigheidslijst zoals die nu is, was je er niet bij" in " ".join(
        texts[corrected.email].split())
    assert "Vroeg vertrokken, na een half uur." in texts[revoked.email]

    # Told once: a new attestation withdrawn before its mail left says nothing new.
    mark(staff_client, past_training, corrected)
    mark(staff_client, past_training, corrected, present=False)
    send(app)
    assert len(withdrawal_mails(smtp)) == 2


def test_word_of_a_withdrawal_is_not_sent_once_a_new_attestation_holds(
        app, smtp, staff_client, past_training, make_registration):
    person = make_registration(past_training)
    attend_and_mail(app, staff_client, past_training, person)
    mark(staff_client, past_training, person, present=False)
    mark(staff_client, past_training, person)
    send(app)
    assert withdrawal_mails(smtp) == []
    assert mailed_codes(smtp) == [mailed_codes(smtp)[0], current(person).code]


def test_staff_correct_the_name_and_the_attestation_is_issued_anew_and_mailed(
        app, smtp, client, staff_client, past_training, make_registration):
    person = make_registration(past_training, first_name="Jan", last_name="Jansens")
    attend_and_mail(app, staff_client, past_training, person)
    first = current(person)
    page = staff_client.get(f"/beheer/attesten/{first.id}").get_data(as_text=True)
    assert "Naam verbeteren" in page and 'value="Jansens"' in page

    refused = staff_client.post(f"/beheer/attesten/{first.id}/naam",
                                data={"first_name": "Jan", "last_name": " "})
    assert refused.status_code == 422 and "Vul de naam in." in refused.get_data(as_text=True)
    assert current(person).id == first.id

    corrected = staff_client.post(f"/beheer/attesten/{first.id}/naam",
                                  data={"first_name": "Jan", "last_name": "Janssens"})
    second = current(person)
    assert corrected.status_code == 303
    assert corrected.headers["Location"].endswith(f"/beheer/attesten/{second.id}")
    assert second.person_name == "Jan Janssens" and second.code != first.code
    assert db.session.get(Registration, person.id).last_name == "Janssens"
    assert "vervangen" in client.get(f"/attest/{first.code}").get_data(as_text=True)
    send(app)
    assert mailed_codes(smtp) == [first.code, second.code]
    _reader, text = pdf_text(client.get(f"/inschrijving/{person.token}/attest.pdf").data)
    assert "Jan Janssens" in " ".join(text.split())

    unchanged = staff_client.post(f"/beheer/attesten/{second.id}/naam",
                                  data={"first_name": "Jan", "last_name": "Janssens"})
    assert unchanged.status_code == 303 and current(person).id == second.id
    # Only a valid attestation is corrected: from an old version's tab, staff are sent to the
    # one that holds, told why, and nothing changes.
    stale = staff_client.post(f"/beheer/attesten/{first.id}/naam", data={
        "first_name": "Jan", "last_name": "X"})
    assert stale.status_code == 303
    assert stale.headers["Location"].endswith(f"/beheer/attesten/{second.id}")
    assert "intussen vervangen" in staff_client.get(stale.headers["Location"]).get_data(True)
    assert current(person).person_name == "Jan Janssens"
    revoke_stale = staff_client.post(f"/beheer/attesten/{first.id}", data={"reden": "Oud"})
    assert revoke_stale.status_code == 303
    assert "al niet meer geldig" in staff_client.get(revoke_stale.headers["Location"]).get_data(
        True)
    assert current(person).is_valid


def test_renaming_an_activity_after_its_attendance_reissues_its_attestations(
        app, smtp, staff, staff_client, past_training, make_registration, make_series,
        make_event):
    admin = staff.create("beheerder@vvsg.be", is_admin=True)
    person = make_registration(past_training)
    attend_and_mail(app, staff_client, past_training, person)
    first = current(person)

    outcome = planning.save_event(past_training, event_fields(
        past_training, title="Basisvorming lokale aanpak"), admin)
    assert (outcome.reissue.count, outcome.reissue.mailed) == (1, True)
    second = current(person)
    assert second.title == "Basisvorming lokale aanpak" and second.code != first.code
    send(app)
    assert mailed_codes(smtp) == [first.code, second.code]
    assert planning.save_event(past_training, event_fields(
        past_training, summary="Een andere samenvatting"), admin).reissue is None
    outcome = planning.save_event(past_training, event_fields(
        past_training, kind=EventKind.visit), admin)
    assert outcome.reissue.count == 1 and current(person).kind is EventKind.visit

    series = make_series(title="Intervisie Limburg")
    session = make_event(series=series, title="Intervisie Limburg (1/2)",
                         starts_at=utcnow() - timedelta(days=3))
    member = make_registration(series)
    mark(staff_client, session, member)
    outcome = series_service.update_series(series, series_service.SeriesSettings(
        title="Intervisie Limburg en Antwerpen", summary=series.summary,
        capacity=series.capacity, is_moderated=series.is_moderated), admin)
    # Not final yet: issued anew, mailed once the series' attendance is.
    assert (outcome.reissue.count, outcome.reissue.mailed) == (1, False)
    attestation = current(member)
    assert attestation.title == "Intervisie Limburg en Antwerpen"
    assert [row["title"] for row in attestation.sessions] == [
        "Intervisie Limburg en Antwerpen (1/2)"]

    # A session's own title, written by staff.
    outcome = planning.save_event(session, event_fields(session, title="Terugkomdag Hasselt"),
                                  admin)
    assert outcome.reissue.count == 1
    assert [row["title"] for row in current(member).sessions] == ["Terugkomdag Hasselt"]

    # A revoked attestation stays as staff left it.
    revoked = current(person)
    attestations.revoke(revoked, "Vergissing.", admin)
    outcome = planning.save_event(past_training, event_fields(
        past_training, title="Basisvorming"), admin)
    assert outcome.reissue.count == 0 and current(person).id == revoked.id


def test_a_place_handed_over_between_sessions_keeps_the_attestation_of_those_before(
        staff_client, make_series, make_event, make_registration):
    series = make_series(title="Intervisie Gent")
    now = utcnow()
    held = make_event(series=series, title="Intervisie 1", starts_at=now - timedelta(days=7),
                      ends_at=now - timedelta(days=7) + timedelta(hours=2))
    make_event(series=series, title="Intervisie 2", starts_at=now + timedelta(days=7),
               ends_at=now + timedelta(days=7, hours=2))
    person = make_registration(series)
    mark(staff_client, held, person)
    before = current(person)

    handover.hand_over(person.token, handover.Colleague(
        first_name="Els", last_name="Peeters", email="els.peeters@example.org",
        role=Role.medewerker))
    assert db.session.get(Registration, person.id).status is RegistrationStatus.handed_over
    assert current(person).id == before.id and current(person).is_valid

    # Corrected after the hand-over: the session before it still counts.
    mark(staff_client, held, person, present=False)
    assert current(person) is None
    mark(staff_client, held, person)
    assert [row["title"] for row in current(person).sessions] == ["Intervisie 1"]


def test_an_attestation_of_someone_not_anonymised_is_erased_by_address_not_by_code(
        client, staff, past_training, make_registration):
    person = make_registration(past_training)
    staff.login("baas@vvsg.be", is_admin=True)
    mark(client, past_training, person)
    attestation = current(person)
    page = client.get(f"/beheer/attesten/{attestation.id}").get_data(as_text=True)
    assert "Alle versies wissen" not in page and "privacy-opzoeking" in page
    # Erased alone, it would come back at the next correction or title edit.
    refused = client.post(f"/beheer/attesten/{attestation.id}/wissen", follow_redirects=True)
    assert "wis de persoon via de privacy-opzoeking" in refused.get_data(as_text=True)
    assert current(person).id == attestation.id


def test_the_withdrawal_mail_gives_the_reason_that_holds_when_it_leaves(
        app, smtp, staff_client, past_training, make_registration):
    person = make_registration(past_training)
    attend_and_mail(app, staff_client, past_training, person)
    # Withdrawn (not attended), then attended after all and revoked, before the sender ran.
    mark(staff_client, past_training, person, present=False)
    mark(staff_client, past_training, person)
    staff_client.post(f"/beheer/attesten/{current(person).id}",
                      data={"reden": "Fraude met de aanwezigheidslijst."})
    send(app)
    (told,) = withdrawal_mails(smtp)
    text = " ".join(told.get_body(("plain",)).get_content().split())
    assert "werd ingetrokken" in text and "Fraude met de aanwezigheidslijst." in text
    assert "was je er niet bij" not in text


@pytest.mark.parametrize("lease_ran_out", [False, True])
def test_the_withdrawal_mail_waits_while_another_sender_holds_the_attestation_mail(
        app, smtp, runner, staff_client, past_training, make_registration, lease_ran_out):
    """A second mail sender is sending the attestation when it is withdrawn (its lease may have
    run out meanwhile): whether the person holds it is known once that sender is done, and only
    then is the word decided."""
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    make_final(staff_client, past_training)
    (attestation_mail,) = attestation_mails()
    attestation_mail_id = attestation_mail.id
    if lease_ran_out:
        # Not ours to claim yet (a retry is due later), nor held any more.
        attestation_mail.leased_until = utcnow() - timedelta(minutes=1)
        attestation_mail.next_attempt_at = utcnow() + timedelta(minutes=5)
    else:
        attestation_mail.leased_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    mark(staff_client, past_training, person, present=False)

    sent = runner.invoke(args=["mail", "send"])
    assert "0 verzonden" in sent.output and "1 even uitgesteld" in sent.output
    db.session.rollback()
    (word,) = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "attestation_withdrawn")).all()
    assert word.status is MailStatus.pending and word.leased_until is None
    look_again = timedelta(minutes=5 if lease_ran_out else 1)
    assert utcnow() < word.next_attempt_at <= utcnow() + look_again

    # The other sender got it out; once due again, the word follows.
    attestation_mail = db.session.get(OutboxMessage, attestation_mail_id)
    attestation_mail.status, attestation_mail.sent_at = MailStatus.sent, utcnow()
    attestation_mail.leased_until = None
    db.session.commit()
    outbox.deliver_pending(outbox.transport_from_config(app.config, app.instance_path),
                           now=utcnow() + look_again + timedelta(minutes=1))
    assert len(withdrawal_mails(smtp)) == 1


def test_a_name_is_not_corrected_on_an_attestation_that_stopped_being_valid(
        staff, staff_client, past_training, make_registration):
    person = make_registration(past_training, last_name="Jansens")
    mark(staff_client, past_training, person)
    first = current(person)
    mark(staff_client, past_training, person, present=False)
    with pytest.raises(SchedulerError, match="intussen vervangen"):
        attestations.correct_name(db.session.get(Attestation, first.id), "Jan", "Janssens",
                                  staff.create("ander@vvsg.be"))
    assert db.session.get(Registration, person.id).last_name == "Jansens"


def test_a_mailed_code_whose_later_version_ended_says_it_no_longer_holds(
        client, staff_client, past_training, make_registration):
    """Replaced by a version that was withdrawn in turn: its holder has nothing valid, so the
    page does not send anyone looking for a newer attestation."""
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    first = current(person).code
    mark(staff_client, past_training, person, present=False)
    mark(staff_client, past_training, person)
    assert "vervangen" in client.get(f"/attest/{first}").get_data(as_text=True)
    mark(staff_client, past_training, person, present=False)
    page = client.get(f"/attest/{first}").get_data(as_text=True)
    assert "geldt niet meer" in page and "vervangen" not in page


def test_attendance_of_an_anonymised_registration_stays_as_it_was(
        client, staff_client, hx, past_training, make_registration):
    person = make_registration(past_training)
    mark(staff_client, past_training, person)
    code = current(person).code
    privacy.purge(now=utcnow() + timedelta(days=400), months=12)
    page = staff_client.get(f"/beheer/activiteiten/{past_training.id}/inschrijvingen")
    assert f'id="attendance-{person.id}"' not in page.get_data(as_text=True)
    url = (f"/beheer/activiteiten/{past_training.id}/inschrijvingen/{person.id}"
           "/aanwezigheid")
    refused = staff_client.post(url, data={"aanwezig": "0"}, headers=hx)
    assert refused.status_code == 409 and refused.headers["HX-Refresh"] == "true"
    plain = staff_client.post(url, data={"aanwezig": "0"}, follow_redirects=True)
    assert "de aanwezigheid staat vast" in plain.get_data(as_text=True)
    assert "echt en geldig" in client.get(f"/attest/{code}").get_data(as_text=True)


def test_staff_correct_the_hours_of_an_activity_that_took_place(
        app, smtp, staff, staff_client, past_training, make_registration):
    """It ran half an hour longer: a record corrected, not a move. Nobody is mailed a change
    or a calendar update; the attestations state the hours that held."""
    admin = staff.create("beheerder@vvsg.be", is_admin=True)
    person = make_registration(past_training)
    attend_and_mail(app, staff_client, past_training, person)
    sequence = past_training.sequence
    outcome = planning.save_event(past_training, event_fields(
        past_training, ends_at=past_training.ends_at + timedelta(minutes=30)), admin)
    assert (outcome.reissue.count, outcome.reissue.mailed) == (1, True)
    # Calendars that hold it show the hours that held.
    assert db.session.get(Event, past_training.id).sequence == sequence + 1
    assert current(person).minutes == 4 * 60
    db.session.rollback()
    assert db.session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.kind == "event_changed")).all() == []

    # Into the future, or to another day, it is a move, and a published activity is not
    # moved once it began.
    for starts_at, ends_at in ((past_training.starts_at, utcnow() + timedelta(days=1)),
                               (past_training.starts_at - timedelta(days=7),
                                past_training.ends_at - timedelta(days=7))):
        with pytest.raises(SchedulerError, match="moment dat voorbij is"):
            planning.save_event(past_training, event_fields(
                past_training, starts_at=starts_at, ends_at=ends_at), admin)
