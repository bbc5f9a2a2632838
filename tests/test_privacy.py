"""Retention, a person's rights, the honeypot, and hostile input in bulk."""

import json
import os
from dataclasses import asdict
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import (
    Attestation,
    Audience,
    AuditEntry,
    EvaluationInvitation,
    OutboxMessage,
    Person,
    Registration,
    RegistrationStatus,
    TrainingRequest,
    utcnow,
)
from scheduler.services import materials, moderation, privacy, registrations
from tests.helpers import applicant, form_data, personal_link


def test_purge_anonymises_old_registrations_only(runner, make_event, make_series):
    old = make_event(starts_at=utcnow() + timedelta(days=2))
    recent = make_event(starts_at=utcnow() + timedelta(days=3))
    series = make_series()
    make_event(series=series, starts_at=utcnow() + timedelta(days=4))
    late_session = make_event(series=series, starts_at=utcnow() + timedelta(days=4))
    gone = registrations.register(old.id, applicant(1, remarks="Een lokale vraag")).registration
    kept = registrations.register(recent.id, applicant(2)).registration
    enrolled = registrations.register(late_session.id, applicant(3)).registration
    moderation.set_attendance(gone, old, True, None)
    # The first activity moves thirteen months back: past retention. The series still has
    # sessions to come, so its enrolment is kept.
    old.starts_at -= timedelta(days=400)
    old.ends_at -= timedelta(days=400)
    db.session.commit()

    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert "een purge zou nu 1 inschrijvingen anonimiseren" in dry.output
    db.session.refresh(gone)
    assert gone.email == "an1@example.org"

    assert "1 inschrijvingen geanonimiseerd" in runner.invoke(args=["privacy", "purge"]).output
    assert "0 inschrijvingen geanonimiseerd" in runner.invoke(args=["privacy", "purge"]).output
    db.session.expire_all()
    assert (gone.first_name, gone.last_name, gone.email, gone.remarks) == ("", "", "", "")
    assert gone.anonymised_at is not None and len(gone.token) < 16
    assert gone.organisation.name == "Gent" and gone.status is RegistrationStatus.confirmed
    assert moderation.attendance_for(old) == {gone.id: True}
    assert db.session.scalar(select(func.count()).where(
        OutboxMessage.registration_id == gone.id)) == 0
    assert db.session.scalars(select(Person).where(
        Person.email_normalised == "an1@example.org")).first() is None
    assert kept.email == "an2@example.org" and enrolled.email == "an3@example.org"
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "privacy.purge")).first()
    assert "an1@example.org" not in entry.summary


def test_the_dry_run_reports_what_the_purge_then_does_and_changes_nothing(
        runner, make_event, make_registration):
    now = utcnow()
    old = make_event(starts_at=now + timedelta(days=2))
    later = make_event(starts_at=now + timedelta(days=3))
    first = registrations.register(old.id, applicant(1, needs="Rolstoel")).registration
    registrations.register(old.id, applicant(2))
    # The third person also comes to a later activity: their address, and person, stay.
    third = registrations.register(old.id, applicant(3)).registration
    registrations.register(later.id, applicant(3))
    # The first activity moves thirteen months back: past retention, and its evaluation
    # form closed. The attestation of who came is as if issued years ago: expired.
    old.starts_at -= timedelta(days=400)
    old.ends_at -= timedelta(days=400)
    db.session.commit()
    moderation.set_attendance(first, old, True, None)
    db.session.scalars(select(Attestation).where(
        Attestation.registration_id == first.id)).one().verifiable_until = now - timedelta(days=1)
    yesterday = make_event(starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    make_registration(yesterday, needs="Vegetarisch")
    db.session.add_all([
        EvaluationInvitation(event_id=old.id, registration_id=first.id),
        EvaluationInvitation(event_id=old.id, registration_id=third.id),
        EvaluationInvitation(event_id=yesterday.id, registration_id=None),
        TrainingRequest(contact_name="An Peeters", email="an@mechelen.be",
                        audience=Audience.both, created_at=now - timedelta(days=400)),
    ])
    db.session.commit()
    folder = materials.folder()
    folder.mkdir(parents=True, exist_ok=True)
    two_hours_ago = (now - timedelta(hours=2)).timestamp()
    for name in ("0" * 32, ".upload-abc", "notities.txt"):
        (folder / name).write_bytes(b"%PDF-1.4")
        os.utime(folder / name, (two_hours_ago, two_hours_ago))
    (folder / ("1" * 32)).write_bytes(b"wordt net vastgelegd")

    before = stored_state()
    dry = privacy.purge(now=now, dry_run=True)
    assert stored_state() == before
    line = runner.invoke(args=["privacy", "purge", "--dry-run"]).output
    assert stored_state() == before

    real = privacy.purge(now=now)
    assert asdict(dry) == asdict(real)
    assert asdict(real) == {
        "registrations": 3, "messages": 3, "people": 2, "requests": 1, "needs": 2,
        "attestations": 1, "evaluation_links": 2, "material_files": 2}
    assert stored_state() != before
    assert "zou nu 3 inschrijvingen anonimiseren" in line and "niets gewijzigd" in line
    assert "3 mails, 2 personen, 1 aanvragen, 2 noden, 1 verlopen attesten, " in line
    assert "2 evaluatielinks en 2 losse bestanden verwijderen" in line


def stored_state() -> dict:
    """How many rows of each kind, how many of them still personal, and the stored files."""
    db.session.rollback()
    counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
              for model in (Registration, OutboxMessage, Person, Attestation,
                            EvaluationInvitation, TrainingRequest, AuditEntry)}
    counts["not anonymised"] = db.session.scalar(select(func.count(Registration.id)).where(
        Registration.anonymised_at.is_(None)))
    counts["with needs"] = db.session.scalar(select(func.count(Registration.id)).where(
        Registration.needs != ""))
    counts["requests not anonymised"] = db.session.scalar(select(func.count(
        TrainingRequest.id)).where(TrainingRequest.anonymised_at.is_(None)))
    counts["links with a person"] = db.session.scalar(select(func.count(
        EvaluationInvitation.id)).where(EvaluationInvitation.registration_id.is_not(None)))
    counts["files"] = sorted(path.name for path in materials.folder().iterdir())
    return counts


def test_the_personal_link_dies_with_the_data(client, make_event):
    event = make_event()
    client.post(f"/activiteiten/{event.slug}/inschrijven", data=form_data(1))
    location = personal_link("an1@example.org")
    event.starts_at -= timedelta(days=500)
    event.ends_at -= timedelta(days=500)
    db.session.commit()
    privacy.purge()
    assert client.get(location).status_code == 404


def test_staff_look_up_export_and_erase(client, staff, make_event):
    event = make_event()
    registrations.register(event.id, applicant(1, remarks="Mijn vraag"))
    registrations.register(event.id, applicant(2))
    staff.login("baas@vvsg.be", is_admin=True)
    page = look_up(client, "AN1@example.org")
    assert "Mijn vraag" in page and "1 inschrijvingen" in page
    exported = export(client, "an1@example.org")
    assert exported["registrations"][0]["remarks"] == "Mijn vraag"
    assert exported["mails"][0]["subject"].startswith("Bevestiging")
    client.post("/beheer/privacy/wissen", data={"email": "an1@example.org"})
    after = export(client, "an1@example.org")
    assert after["registrations"] == [] and after["mails"] == []
    summaries = db.session.scalars(select(AuditEntry.summary)).all()
    assert not any("an1@example.org" in summary for summary in summaries)
    assert "an2@example.org" in look_up(client, "an2@example.org")
    # Never by address bar: a query string ends up in access logs and browser history.
    assert "an2@example.org" not in client.get("/beheer/privacy?email=an2@example.org").text


def test_the_honeypot_refuses_robots(client, make_event):
    event = make_event()
    response = client.post(f"/activiteiten/{event.slug}/inschrijven",
                           data=form_data(1, website="http://spam.example"))
    assert response.status_code == 422
    assert db.session.scalars(select(Registration)).all() == []


HOSTILE = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=5000),
    st.sampled_from([
        "' OR 1=1 --", "<script>alert(1)</script>", "\x00", "\r\nBcc: x@example.org",
        "🙂" * 50, "ـــ٣٤٥", "Ωmega", "2027-02-30", "9999-99-99", "%00", "../../etc/passwd",
        "a" * 10_000, "<img src=x onerror=alert(1)>", "{{7*7}}", "\u202e\u2028",
    ]),
)
FIELDS = ("first_name", "last_name", "email", "organisation", "role", "function", "remarks",
          "consent")


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=HOSTILE, use_htmx=st.booleans())
def test_hostile_registration_input_never_breaks_anything(app, make_event, field, value,
                                                          use_htmx):
    event = db.session.scalars(select(registrations.Event).where(
        registrations.Event.slug == "fuzz")).first() or make_event(slug="fuzz", capacity=None)
    before = db.session.scalar(select(func.count(Registration.id)))
    data = form_data(before + 1)
    data[field] = value
    client = app.test_client()
    headers = {"HX-Request": "true"} if use_htmx else {}
    response = client.post(f"/activiteiten/{event.slug}/inschrijven", data=data, headers=headers)
    db.session.rollback()
    after = db.session.scalar(select(func.count(Registration.id)))
    assert response.status_code < 500
    if response.status_code == 422:
        assert after == before
        page = response.get_data(as_text=True)
        assert 'class="field-error"' in page or 'role="alert"' in page
    else:
        assert response.status_code in (200, 303)


QUERY_PATHS = ("/", "/archief", "/abonneren", "/agenda.ics")


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(path=st.sampled_from(QUERY_PATHS),
       name=st.sampled_from(["soort", "thema", "provincie", "maand", "pagina", "x"]),
       value=HOSTILE)
def test_hostile_query_strings_never_break_anything(app, path, name, value):
    response = app.test_client().get(path, query_string={name: value[:3000]})
    assert response.status_code < 500


@pytest.mark.parametrize("path", ["/activiteiten/%00", "/inschrijving/%ff%fe", "/thema/..%2f.ics",
                                  "/mijn/" + "a" * 500 + ".ics"])
def test_malformed_urls_are_404(client, path):
    assert client.get(path).status_code == 404


def look_up(client, address: str) -> str:
    return client.post("/beheer/privacy", data={"email": address}).get_data(as_text=True)


def export(client, address: str) -> dict:
    return json.loads(client.post("/beheer/privacy.json", data={"email": address}).data)
