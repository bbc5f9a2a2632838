"""A closed group says so before registering, in the answer and in the mail: staff check each
registration, who the group is for, and when the person will hear."""

from sqlalchemy import select

from scheduler.extensions import db
from scheduler.models import OutboxMessage
from tests.helpers import event_form, form_data, words
from tests.test_series import series_settings

NOTE = "Voor de LIVC-coördinatoren van de deelnemende gemeenten."


def test_the_page_of_a_closed_group_says_who_it_is_for_and_when_you_hear(client, make_event):
    closed = make_event(is_moderated=True, admission_note=NOTE)
    page = client.get(f"/activiteiten/{closed.slug}").text
    assert "Besloten groep" in page and NOTE in page and "binnen 5 werkdagen" in page
    open_page = client.get(f"/activiteiten/{make_event().slug}").text
    assert "Besloten groep" not in open_page


def test_a_session_shows_what_its_series_says(client, make_event, make_series):
    series = make_series(is_moderated=True, admission_note=NOTE)
    session = make_event(series=series)
    assert NOTE in client.get(f"/activiteiten/{session.slug}").text


def test_the_answer_and_the_mail_repeat_it(client, hx, make_event):
    closed = make_event(is_moderated=True, admission_note=NOTE)
    answer = client.post(f"/activiteiten/{closed.slug}/inschrijven", data=form_data(1),
                         headers=hx).text
    assert "besloten groep" in answer and "5 werkdagen" in answer
    (mail,) = db.session.scalars(select(OutboxMessage)).all()
    assert mail.kind == "registration_pending"
    assert "5 werkdagen" in words(mail).text_body and NOTE in words(mail).text_body
    assert "besloten groep" not in client.post(
        f"/activiteiten/{make_event().slug}/inschrijven", data=form_data(2), headers=hx).text


def test_staff_write_the_note_on_an_activity_and_on_a_series(client, staff, make_event,
                                                            make_series):
    staff.login()
    event = make_event()
    client.post(f"/beheer/activiteiten/{event.id}", data=event_form(
        title=event.title, slug=event.slug, is_moderated="y", admission_note=NOTE))
    db.session.refresh(event)
    assert event.is_moderated and event.admission_note == NOTE
    series = make_series()
    session = make_event(series=series)
    client.post(f"/beheer/reeksen/{series.id}", data=series_settings(
        series, is_moderated="y", admission_note=NOTE))
    db.session.refresh(series)
    assert series.admission_note == NOTE
    assert 'name="admission_note"' not in client.get(f"/beheer/activiteiten/{session.id}").text
