"""A person corrects their name and function and states their needs from the personal page;
staff see the needs, and they are gone the day after the activity."""

import re
from datetime import timedelta

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.models import AuditEntry, Registration, utcnow
from scheduler.services import privacy, registrations
from tests.helpers import applicant, form_data, personal_link

NEEDS = "Rolstoeltoegankelijk, vegetarisch"


def correct(client, email: str, **changes):
    data = {"first_name": "Anna", "last_name": "Peeters", "function": "Schepen",
            "needs": NEEDS}
    data.update(changes)
    return client.post(f"{personal_link(email)}/gegevens", data=data)


def test_a_person_corrects_their_details_and_states_their_needs(client, make_event):
    registrations.register(make_event().id, applicant(1))
    assert 'name="needs"' in client.get(f"{personal_link('an1@example.org')}/gegevens").text
    response = correct(client, "an1@example.org")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "Anna Peeters" in page and NEEDS in page
    (registration,) = db.session.scalars(db.select(Registration)).all()
    assert (registration.first_name, registration.function, registration.needs) == (
        "Anna", "Schepen", NEEDS)
    # A new name on a place is logged, without either name.
    (renamed,) = db.session.scalars(db.select(AuditEntry).where(
        AuditEntry.action == "registration.rename")).all()
    assert renamed.subject_id == registration.id and "An" not in renamed.summary
    correct(client, "an1@example.org", needs="Een tolk")
    assert db.session.scalar(db.select(db.func.count(AuditEntry.id))) == 1


def test_an_empty_name_is_refused_next_to_the_field_and_nothing_changes(client, make_event):
    registrations.register(make_event().id, applicant(1))
    response = correct(client, "an1@example.org", first_name="  ", needs="x" * 501)
    assert response.status_code == 422
    assert "Vul je voornaam in." in response.text and "te lang" in response.text.lower()
    db.session.expire_all()
    (registration,) = db.session.scalars(db.select(Registration)).all()
    assert (registration.first_name, registration.needs) == ("An", "")


def test_after_the_activity_or_a_cancellation_nothing_is_corrected(client, make_event):
    done = make_event(starts_at=utcnow() - timedelta(days=2))
    db.session.add(Registration(event=done, first_name="An", last_name="P", email="an1@example.org",
                                email_normalised="an1@example.org", role=applicant().role,
                                status=registrations.RegistrationStatus.confirmed))
    db.session.commit()
    assert "Gegevens en noden aanpassen" not in client.get(personal_link("an1@example.org")).text
    assert correct(client, "an1@example.org").status_code == 422
    cancelled = registrations.register(make_event().id, applicant(2)).registration
    registrations.cancel_registration(cancelled.token)
    assert correct(client, "an2@example.org").status_code == 422
    db.session.expire_all()
    assert db.session.scalars(db.select(Registration.needs)).all() == ["", ""]


def test_needs_given_when_registering_reach_the_participant_list_and_export(client, staff,
                                                                            make_event):
    event = make_event()
    client.post(f"/activiteiten/{event.slug}/inschrijven", data=form_data(1, needs=NEEDS))
    staff.login()
    assert NEEDS in client.get(f"/beheer/activiteiten/{event.id}/inschrijvingen").text
    export = client.get(f"/beheer/activiteiten/{event.id}/inschrijvingen.csv")
    header, row = export.data.decode("utf-8-sig").splitlines()[:2]
    assert header.split(";")[8] == "Noden" and row.split(";")[8] == NEEDS


def test_needs_are_purged_the_day_after_the_activity_ends(runner, make_event, make_series):
    now = utcnow()
    evening = brussels_to_utc(local(now).date() - timedelta(days=1), local(now).time())
    yesterday = make_event(starts_at=evening - timedelta(hours=3))
    yesterday.ends_at = evening
    today = make_event(starts_at=now - timedelta(minutes=1))
    series = make_series()
    make_event(series=series, starts_at=now - timedelta(days=8))
    make_event(series=series)
    for number, target in enumerate((yesterday, today, series), start=1):
        db.session.add(Registration(
            first_name="An", last_name=str(number), email=f"an{number}@example.org",
            email_normalised=f"an{number}@example.org", role=applicant().role, needs=NEEDS,
            remarks="blijft", status=registrations.RegistrationStatus.confirmed,
            **({"series": target} if target is series else {"event": target})))
    db.session.commit()
    assert privacy.purge(dry_run=True).needs == 1
    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0 and "1 noden" in result.output
    db.session.expire_all()
    kept = db.session.execute(db.select(Registration.last_name, Registration.needs,
                                        Registration.remarks).order_by(Registration.id)).all()
    assert kept == [("1", "", "blijft"), ("2", NEEDS, "blijft"), ("3", NEEDS, "blijft")]


def test_the_privacy_page_says_when_needs_go(client):
    assert "noden" in client.get("/privacy").text and "de dag na de activiteit" in \
        client.get("/privacy").text


def test_a_save_from_a_second_window_does_not_wipe_the_first(client, make_event):
    registrations.register(make_event().id, applicant(1))
    link = personal_link("an1@example.org")
    form = client.get(f"{link}/gegevens").text
    version = re.search(r'name="version" type="hidden" value="([0-9a-f]+)"', form).group(1)
    assert correct(client, "an1@example.org", version=version).status_code == 303
    stale = correct(client, "an1@example.org", version=version, needs="",
                    function="Burgemeester")
    assert stale.status_code == 422 and "intussen aangepast" in stale.text
    assert NEEDS in stale.text
    db.session.expire_all()
    (registration,) = db.session.scalars(db.select(Registration)).all()
    assert (registration.function, registration.needs) == ("Schepen", NEEDS)


def test_invisible_characters_do_not_make_a_name(client, make_event):
    registrations.register(make_event().id, applicant(1))
    for name in ("\u200b", "An\u202eSREteeP"):
        response = correct(client, "an1@example.org", last_name=name)
        assert response.status_code == 422 and "tekens die we niet kunnen verwerken" in \
            response.text


def test_after_a_cancellation_the_page_says_so_instead_of_offering_a_form(client, make_event):
    registration = registrations.register(make_event().id, applicant(1)).registration
    registrations.cancel_registration(registration.token)
    page = client.get(f"{personal_link('an1@example.org')}/gegevens").text
    assert "aanpassen kan niet meer" in page and 'name="needs"' not in page
