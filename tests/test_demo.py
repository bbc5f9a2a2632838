"""flask seed-demo: realistic, varied and idempotent."""

from sqlalchemy import func, select

from scheduler.dates import local
from scheduler.extensions import db
from scheduler.models import Event, EventStatus, Registration, RegistrationStatus, Series, utcnow
from scheduler.services import places


def test_seed_demo_twice_adds_nothing_the_second_time(runner):
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert "0 activiteiten" in second.output
    assert "0 activiteiten" not in first.output
    assert db.session.scalar(select(func.count()).select_from(Series)) == 2


def test_seed_demo_if_empty_leaves_a_used_database_alone(runner, make_event):
    make_event()
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "0 activiteiten" in result.output
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1


def test_demo_covers_the_situations_people_meet(runner):
    runner.invoke(args=["seed-demo"])
    now = utcnow()
    events = list(db.session.scalars(select(Event)))
    seats = places.summaries(events)
    assert any(e.status is EventStatus.cancelled and e.cancellation_reason for e in events)
    assert any(e.is_moderated for e in events)
    assert any(e.ends_at < now for e in events)
    assert any(seats[e.id].is_full and seats[e.id].waiting for e in events)
    assert any(e.registration_opens_at and e.registration_opens_at > now for e in events)
    offsets = {local(e.starts_at).utcoffset() for e in events if e.starts_at > now}
    assert len(offsets) == 2, "the upcoming activities should span a change of daylight saving time"
    assert all(local(e.starts_at).weekday() < 5 for e in events)
    emails = db.session.scalars(select(Registration.email)).all()
    assert all(email.endswith("@example.org") for email in emails)
    assert db.session.scalar(
        select(func.count()).where(Registration.status == RegistrationStatus.pending)
    )


def test_demo_shows_what_follows_an_activity(runner, client, staff):
    """A newcomer finds attestations, evaluation answers with their chart and materials."""
    from scheduler.models import Attestation, EvaluationResponse, Material
    from scheduler.services import attestations, materials

    runner.invoke(args=["seed-demo"])
    valid = db.session.scalars(select(Attestation).where(Attestation.replaced_at.is_(None))).all()
    assert len(valid) >= 20
    verified = client.get(f"/attest/{valid[0].code}")
    assert verified.status_code == 200 and "echt en geldig" in verified.get_data(as_text=True)
    holder = db.session.get(Registration, valid[0].registration_id)
    page = client.get(f"/inschrijving/{holder.token}").get_data(as_text=True)
    assert "Attest downloaden" in page and "Materiaal" in page
    assert client.get(f"/inschrijving/{holder.token}/attest.pdf").data.startswith(b"%PDF-")
    shared = materials.for_registration(holder)
    (slides,) = [material for material in shared if material.is_file]
    with client.get(f"/inschrijving/{holder.token}/materiaal/{slides.id}") as download:
        assert download.status_code == 200 and download.data.startswith(b"%PDF-")
    assert db.session.scalar(select(func.count(Material.id))) >= 3
    assert attestations.is_final(valid[0].registration.places_owner)

    answered = db.session.scalars(select(EvaluationResponse.event_id).distinct()).all()
    assert len(answered) == 2
    staff.login()
    results = client.get(f"/beheer/activiteiten/{answered[0]}/evaluatie")
    assert results.status_code == 200 and "<svg" in results.get_data(as_text=True)
