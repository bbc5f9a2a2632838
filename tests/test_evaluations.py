"""The anonymous evaluation after an activity: who is invited and when, the form and its
one-use link, what cannot be traced back, and what staff see; counts made here from the rows."""

import csv
import io
import json
import logging
import re
import threading
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    AuditEntry,
    EvaluationAnswer,
    EvaluationInvitation,
    EvaluationQuestion,
    EvaluationResponse,
    EventKind,
    EventStatus,
    OutboxMessage,
    utcnow,
)
from scheduler.services import evaluation_questions, evaluation_results, evaluations, outbox

TODAY = local(utcnow()).date()
# Mid-afternoon today: "the day after" and the window are counted from this moment.
NOW = brussels_to_utc(TODAY, time(15))
THIS_YEAR = TODAY.year


def held(make_event, days_ago: int = 1, **fields):
    """An activity that took place ``days_ago`` days before today, 10.00–13.00."""
    starts_at = brussels_to_utc(TODAY - timedelta(days=days_ago), time(10))
    return make_event(starts_at=starts_at, ends_at=starts_at + timedelta(hours=3), **fields)


def mark(registration, event, is_present: bool = True) -> None:
    db.session.add(Attendance(registration_id=registration.id, event_id=event.id,
                              is_present=is_present))
    db.session.commit()


def present_people(make_registration, event, count: int) -> list:
    people = [make_registration(event) for _ in range(count)]
    for person in people:
        mark(person, event)
    return people


def invitations() -> list[EvaluationInvitation]:
    db.session.rollback()
    return list(db.session.scalars(select(EvaluationInvitation).order_by(EvaluationInvitation.id)))


def token_of(registration, event) -> str:
    db.session.rollback()
    return db.session.scalars(select(EvaluationInvitation.token).where(
        EvaluationInvitation.registration_id == registration.id,
        EvaluationInvitation.event_id == event.id)).one()


def questions(kind: EventKind = EventKind.training) -> dict[str, EvaluationQuestion]:
    """The default questions of a kind by their type: score, usefulness, useful, better, theme."""
    found = evaluations.active_questions(kind)[:5]
    return dict(zip(("score", "usefulness", "useful", "better", "theme"), found, strict=True))


def counted(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def answer_data(kind: EventKind = EventKind.training, score: str = "4", usefulness: str = "5",
                useful: str = "", better: str = "", theme: str = "0") -> dict:
    asked = questions(kind)
    return {f"vraag_{asked['score'].id}": score, f"vraag_{asked['usefulness'].id}": usefulness,
            f"vraag_{asked['useful'].id}": useful, f"vraag_{asked['better'].id}": better,
            f"vraag_{asked['theme'].id}": theme}


@pytest.fixture
def invited(make_event, make_registration):
    """A training held yesterday with three people present, each with an invitation."""
    def make(count: int = 3, **fields):
        event = held(make_event, **fields)
        people = present_people(make_registration, event, count)
        evaluations.queue_invitations(NOW)
        return event, [token_of(person, event) for person in people]

    return make


@pytest.fixture
def staff_client(client, staff):
    staff.login()
    return client


def test_those_present_are_invited_the_day_after_and_nobody_else(
        make_event, make_registration, make_series):
    yesterday = held(make_event)
    present, absent, not_recorded, anonymised = (make_registration(yesterday) for _ in range(4))
    mark(present, yesterday)
    mark(absent, yesterday, is_present=False)
    anonymised.anonymised_at = utcnow()
    mark(anonymised, yesterday)
    cancelled = held(make_event, status=EventStatus.cancelled)
    draft = held(make_event, status=EventStatus.draft)
    today = make_event(starts_at=NOW - timedelta(hours=4), ends_at=NOW - timedelta(hours=1))
    too_old = held(make_event, days_ago=31)
    last_day = held(make_event, days_ago=29)
    for event in (cancelled, draft, today, too_old, last_day):
        mark(make_registration(event), event)
    series = make_series()
    first, second = (held(make_event, days_ago=days, kind=EventKind.intervision, series=series)
                     for days in (2, 1))
    member = make_registration(series)
    mark(member, first)
    mark(member, second, is_present=False)

    assert evaluations.queue_invitations(NOW) == 3

    made = {(invitation.registration_id, invitation.event_id) for invitation in invitations()}
    last_day_person = db.session.scalars(select(Attendance.registration_id).where(
        Attendance.event_id == last_day.id)).one()
    assert made == {(present.id, yesterday.id), (last_day_person, last_day.id),
                    (member.id, first.id)}
    mails = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "evaluation")).all()
    assert sorted(mail.dedupe_key for mail in mails) == sorted(
        f"evaluation:{registration_id}:{event_id}" for registration_id, event_id in made)
    assert {mail.event_id for mail in mails} == {yesterday.id, last_day.id, first.id}
    assert not_recorded.id not in {registration_id for registration_id, _ in made}


def test_invited_once_and_the_mail_arrives_once(app, smtp, make_event, make_registration):
    event = held(make_event, title="Basisvorming Gent")
    person = make_registration(event, email="an@example.org")
    mark(person, event)
    assert evaluations.queue_invitations(NOW) == 1
    assert evaluations.queue_invitations(NOW) == 0
    assert evaluations.queue_invitations(NOW + timedelta(days=1)) == 0
    transport = outbox.transport_from_config(app.config, app.instance_path)
    assert outbox.deliver_pending(transport).sent == 1
    assert outbox.deliver_pending(transport).sent == 0
    (recipients, message), = smtp.received
    assert recipients == ["an@example.org"]
    assert message["Subject"].endswith("Basisvorming Gent")
    body = message.get_body(("plain",)).get_content()
    link = f"https://agenda.example.org/evaluatie/{token_of(person, event)}"
    assert f"Vragenlijst invullen: {link}" in body
    assert "BEGIN:VCALENDAR" not in message.as_string()
    assert len(invitations()) == 1


def test_two_runs_at_once_make_one_invitation_and_one_mail(app, make_event, make_registration):
    event = held(make_event)
    people = present_people(make_registration, event, 5)
    barrier, made, failures = threading.Barrier(2), [], []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                made.append(evaluations.queue_invitations(NOW))
            except Exception as error:  # noqa: BLE001 (reported below)
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == [] and sorted(made) == [0, 5]
    assert len(invitations()) == 5
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == "evaluation")) == len(people)


def test_the_command_queues_the_invitations(runner, make_event, make_registration):
    event = held(make_event)
    present_people(make_registration, event, 2)
    result = runner.invoke(args=["mail", "evaluations"])
    assert result.exit_code == 0, result.output
    assert "Evaluaties: 2 uitnodigingen in de wachtrij gezet." in result.output
    assert "Evaluaties: 0 " in runner.invoke(args=["mail", "evaluations"]).output


def test_the_form_shows_the_questions_of_the_kind(client, invited, make_theme):
    make_theme("polarisering")
    event, (token, *_) = invited(kind=EventKind.visit, title="Werkbezoek Vilvoorde")
    response = client.get(f"/evaluatie/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Werkbezoek Vilvoorde" in page and local(event.starts_at).strftime("%Y") in page
    asked = questions(EventKind.visit)
    assert [q.label for q in asked.values()] == [
        "Hoe tevreden ben je over dit werkbezoek, alles samen?",
        "Hoe bruikbaar is dit werkbezoek voor jouw gemeente?",
        "Wat vond je het nuttigst?", "Wat kunnen we beter doen?",
        "Over welk thema wil je hierna iets volgen?"]
    positions = [page.index(question.label) for question in asked.values()]
    assert positions == sorted(positions)
    score = asked["score"].id
    assert page.count(f'name="vraag_{score}" type="radio"') == 5
    assert re.search(rf'<fieldset[^>]*id="vraag_{score}-field"[^>]*>\s*<legend>', page)
    assert "1 – helemaal niet" in page and "5 – helemaal" in page
    assert re.search(rf'<textarea[^>]* id="vraag_{asked["useful"].id}"', page)
    assert "Geen voorkeur" in page and "Polarisering" in page
    assert "deze vorming" not in page


def test_a_missing_required_score_is_refused_next_to_the_field(client, invited):
    _event, (token, *_) = invited()
    score = questions()["score"].id
    response = client.post(f"/evaluatie/{token}", data=answer_data(score=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="vraag_{score}-field".*?<p class="field-error" id="vraag_{score}-error">'
                     r"Kies een score van 1", page, re.DOTALL)
    assert counted(EvaluationResponse) == 0 and counted(EvaluationAnswer) == 0
    assert not any(invitation.is_used for invitation in invitations())


@pytest.mark.parametrize("field,value,message", [
    ("score", "7", "Kies een score van 1"),
    ("score", "0", "Kies een score van 1"),
    ("usefulness", "vijf", "Kies een score van 1"),
    ("theme", "999999", "Kies een thema uit de lijst."),
    ("better", "x" * 2001, "maximaal 2000 tekens"),
])
def test_an_answer_out_of_range_is_refused(client, invited, field, value, message):
    _event, (token, *_) = invited()
    response = client.post(f"/evaluatie/{token}", data=answer_data(**{field: value}))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counted(EvaluationResponse) == 0
    assert not any(invitation.is_used for invitation in invitations())


def test_answering_stores_one_response_with_its_answers(client, invited, make_theme):
    theme = make_theme("polarisering")
    event, (token, *_) = invited()
    asked = questions()
    response = client.post(f"/evaluatie/{token}", data=answer_data(
        score="4", usefulness="2", useful="De casussen.\r\nEn de pauze.", better="",
        theme=str(theme.id)))
    assert response.status_code == 303
    assert response.location.endswith("/evaluatie/bedankt")
    thanks = client.get(response.location)
    assert thanks.status_code == 200 and "Bedankt" in thanks.get_data(as_text=True)
    (stored,) = db.session.scalars(select(EvaluationResponse)).all()
    assert stored.event_id == event.id and stored.submitted_on == local(utcnow()).date()
    answers = {answer.question_id: (answer.score, answer.text, answer.theme_id)
               for answer in stored.answers}
    assert answers == {
        asked["score"].id: (4, "", None), asked["usefulness"].id: (2, "", None),
        asked["useful"].id: (None, "De casussen.\nEn de pauze.", None),
        asked["theme"].id: (None, "Polarisering", theme.id),
    }
    assert [invitation.is_used for invitation in invitations()] == [True, False, False]


def test_a_second_answer_with_the_same_link_is_gone(client, invited):
    _event, (token, *_) = invited()
    assert client.post(f"/evaluatie/{token}", data=answer_data()).status_code == 303
    again = client.post(f"/evaluatie/{token}", data=answer_data(score="1"))
    assert again.status_code == 410
    assert "Je hebt deze vragenlijst al ingevuld" in again.get_data(as_text=True)
    assert again.headers["Cache-Control"] == "no-store"
    assert client.get(f"/evaluatie/{token}").status_code == 410
    assert counted(EvaluationResponse) == 1 and counted(EvaluationAnswer) == 3


def test_two_answers_at_once_with_the_same_link_store_one(app, invited):
    _event, (token, *_) = invited()
    data = answer_data()
    barrier, statuses = threading.Barrier(2), []

    def post() -> None:
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            statuses.append(client.post(f"/evaluatie/{token}", data=data).status_code)
            db.session.remove()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [303, 410]
    assert counted(EvaluationResponse) == 1 and counted(EvaluationAnswer) == 3


def test_the_service_refuses_a_used_link_at_the_same_moment(app, invited):
    """The claim itself, without the page's check in front: of two submits, one stores."""
    _event, (token, *_) = invited()
    asked = questions()
    answers = {asked["score"].id: 3, asked["usefulness"].id: 3}
    barrier, outcomes = threading.Barrier(2), []

    def submit() -> None:
        with app.app_context():
            barrier.wait()
            try:
                evaluations.submit(token, answers)
                outcomes.append("stored")
            except evaluations.InvitationUsedError:
                outcomes.append("used")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["stored", "used"]
    assert counted(EvaluationResponse) == 1


def test_an_unknown_link_is_a_404(client, invited):
    invited()
    assert client.get("/evaluatie/" + "x" * 32).status_code == 404
    assert client.post("/evaluatie/" + "x" * 32, data=answer_data()).status_code == 404


def test_the_form_closes_after_the_window(client, make_event, make_registration):
    event = held(make_event, days_ago=31)
    person = make_registration(event)
    db.session.add(EvaluationInvitation(event_id=event.id, registration_id=person.id,
                                        token="t" * 32))
    db.session.commit()
    for response in (client.get("/evaluatie/" + "t" * 32),
                     client.post("/evaluatie/" + "t" * 32, data=answer_data())):
        assert response.status_code == 410
        assert "afgesloten" in response.get_data(as_text=True)
    assert counted(EvaluationResponse) == 0


def test_the_form_is_open_until_the_last_day(invited):
    event, (token, *_) = invited()
    assert evaluations.open_form(token, event.ends_at + timedelta(days=30, seconds=-1))
    with pytest.raises(evaluations.EvaluationClosedError):
        evaluations.open_form(token, event.ends_at + timedelta(days=30))


def test_no_answer_refers_to_an_invitation_or_a_registration(app):
    inspector = inspect(db.engine)
    for table in ("evaluation_responses", "evaluation_answers"):
        referred = {key["referred_table"] for key in inspector.get_foreign_keys(table)}
        assert referred.isdisjoint({"registrations", "evaluation_invitations"}), table
    assert {column["name"] for column in inspector.get_columns("evaluation_responses")} == {
        "id", "event_id", "submitted_on"}
    assert {column["name"] for column in inspector.get_columns("evaluation_answers")} == {
        "id", "response_id", "question_id", "score", "text", "theme_id"}


def test_answering_changes_nothing_of_the_invitations_but_used(client, invited):
    _event, tokens = invited()
    table = EvaluationInvitation.__table__
    before = [dict(row) for row in db.session.execute(
        select(table).order_by(table.c.id)).mappings()]
    assert client.post(f"/evaluatie/{tokens[1]}", data=answer_data()).status_code == 303
    db.session.rollback()
    after = [dict(row) for row in db.session.execute(
        select(table).order_by(table.c.id)).mappings()]
    assert [{**row, "is_used": False} for row in after] == before
    assert [row["is_used"] for row in after] == [False, True, False]
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


# SQLite keeps no transaction stamp per row: this is about PostgreSQL alone.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_on_postgresql_no_invitation_shares_the_answer_s_transaction_alone(client, invited):
    """PostgreSQL stamps each row with the transaction that wrote it: the invitation used
    must not be the one whose stamp equals the response's."""
    _event, tokens = invited()
    for token in tokens[:2]:
        assert client.post(f"/evaluatie/{token}", data=answer_data()).status_code == 303
    db.session.rollback()
    stamps = db.session.execute(text(
        "SELECT xmin::text FROM evaluation_invitations ORDER BY id")).scalars().all()
    last_response = db.session.execute(text(
        "SELECT xmin::text FROM evaluation_responses ORDER BY id DESC LIMIT 1")).scalar()
    assert len(set(stamps)) == 1 and stamps[0] == last_response


def test_the_request_log_holds_neither_the_token_nor_the_answers(client, invited, caplog):
    _event, (token, *_) = invited()
    caplog.set_level(logging.INFO, logger="scheduler.requests")
    client.post(f"/evaluatie/{token}", data=answer_data(useful="Mijn geheime casus"))
    logged = [json.loads(record.getMessage()) for record in caplog.records
              if record.name == "scheduler.requests"]
    assert [(line["method"], line["path"], line["status"]) for line in logged] == [
        ("POST", "/evaluatie/…", 303)]
    assert token not in caplog.text and "geheime" not in caplog.text


def test_purge_deletes_the_links_of_closed_forms_and_erasure_forgets_the_person(
        make_event, make_registration):
    recent = held(make_event, days_ago=29)
    old = held(make_event, days_ago=29)
    people = [make_registration(recent), make_registration(old)]
    mark(people[0], recent)
    mark(people[1], old)
    evaluations.queue_invitations(NOW)
    evaluations.forget_registrations([people[0].id])
    db.session.commit()
    assert {(i.event_id, i.registration_id) for i in invitations()} == {
        (recent.id, None), (old.id, people[1].id)}
    old.ends_at = old.ends_at - timedelta(days=2)
    old.starts_at = old.starts_at - timedelta(days=2)
    db.session.commit()
    assert evaluations.purge(NOW) == 1
    db.session.commit()
    assert [i.event_id for i in invitations()] == [recent.id]
    # Once the form has closed, those marked present count as asked: the figure stays.
    assert evaluation_results.results(old, NOW).invited == 1
    # A forgotten invitation still opens the form once.
    assert evaluations.open_form(invitations()[0].token, NOW).event.id == recent.id


def answer(token: str, kind: EventKind = EventKind.training, *, score: int,
           usefulness: int | None = None, useful: str = "", theme: int | None = None) -> None:
    asked = questions(kind)
    evaluations.submit(token, {asked["score"].id: score, asked["usefulness"].id: usefulness,
                               asked["useful"].id: useful, asked["theme"].id: theme})


def test_staff_see_the_rate_averages_distribution_and_open_answers(
        staff_client, invited, make_theme):
    theme = make_theme("polarisering")
    event, tokens = invited(count=4)
    given = [(5, 4, "De casussen", theme.id), (4, 2, "", 0), (5, 5, "Alles\nwas goed", theme.id)]
    for token, (score, usefulness, useful, chosen) in zip(tokens, given, strict=False):
        answer(token, score=score, usefulness=usefulness, useful=useful, theme=chosen)
    page = staff_client.get(f"/beheer/activiteiten/{event.id}/evaluatie").get_data(as_text=True)
    assert re.search(r"<dt>Gevraagd</dt><dd>4</dd>", page)
    assert re.search(r"<dt>Antwoorden</dt><dd>3</dd>", page)
    assert "75,0\xa0%" in page
    asked = questions()
    sections = dict(re.findall(r'<h2 id="q(\d+)">.*?</h2>(.*?)</section>', page, re.DOTALL))
    scores = [score for score, *_ in given]
    assert f"<strong>{sum(scores) / 3:.1f}".replace(".", ",") in sections[str(asked["score"].id)]
    assert "<strong>3,7</strong>" in sections[str(asked["usefulness"].id)]
    distribution = dict(re.findall(r'<tr><th scope="row">(\d)</th><td>(\d+)</td>',
                                   sections[str(asked["score"].id)]))
    assert distribution == {str(n): str(scores.count(n)) for n in range(1, 6)}
    assert "<li>De casussen</li>" in page and "<li>Alles\nwas goed</li>" in page
    themes = sections[str(asked["theme"].id)]
    assert '<th scope="row">Polarisering</th><td>2</td>' in themes
    assert '<th scope="row">Geen voorkeur</th><td>1</td>' in themes
    assert f'aria-labelledby="q{asked["better"].id}"' in page  # asked, though nobody answered


def test_the_export_has_a_row_per_response_and_a_column_per_question(
        staff_client, invited, make_theme):
    theme = make_theme("polarisering")
    event, tokens = invited()
    answer(tokens[0], score=5, usefulness=4, useful="=1+1 niets", theme=theme.id)
    answer(tokens[1], score=2, usefulness=1)
    response = staff_client.get(f"/beheer/activiteiten/{event.id}/evaluatie.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Antwoord", "Datum", *(q.label for q in questions().values())]
    today = local(utcnow()).date().isoformat()
    assert rows[1:] == [["1", today, "5", "4", "'=1+1 niets", "", "Polarisering"],
                        ["2", today, "2", "1", "", "", ""]]


def test_the_overview_per_kind_and_period(staff_client, make_event, make_registration,
                                          count_queries):
    trainings = [held(make_event, days_ago=days) for days in (3, 2)]
    visit = held(make_event, days_ago=2, kind=EventKind.visit)
    other_year = make_event(starts_at=brussels_to_utc(date(THIS_YEAR - 1, 6, 1), time(10)))
    for event, count in ((trainings[0], 2), (trainings[1], 4), (visit, 1), (other_year, 1)):
        present_people(make_registration, event, count)
    evaluations.queue_invitations(NOW)
    tokens = {event.id: [i.token for i in invitations() if i.event_id == event.id]
              for event in (*trainings, visit)}
    answer(tokens[trainings[0].id][0], score=5, usefulness=3)
    answer(tokens[trainings[1].id][0], score=2, usefulness=4)
    answer(tokens[trainings[1].id][1], score=3, usefulness=5)
    answer(tokens[visit.id][0], EventKind.visit, score=4, usefulness=4)

    page = staff_client.get("/beheer/evaluaties").get_data(as_text=True)
    training_part = page.split('id="kind-training"')[1].split("</section>")[0]
    rows = re.findall(r"<tr><th scope=\"row\"><a [^>]*>([^<]+)</a></th>\s*<td>[^<]*</td>"
                      r"\s*<td>(\d+)</td><td>(\d+)</td>\s*<td>([^<]+)</td>"
                      r"\s*<td>([^<]+)</td><td>([^<]+)</td>", training_part)
    assert rows == [
        (trainings[0].title, "2", "1", "50,0\xa0%", "5,0", "3,0"),
        (trainings[1].title, "4", "2", "50,0\xa0%", "2,5", "4,5"),
    ]
    totals = re.search(r"<tfoot>(.*?)</tfoot>", training_part, re.DOTALL).group(1)
    # Over every answer, not the mean of the activities' means: (5 + 2 + 3) / 3, (3 + 4 + 5) / 3.
    assert re.findall(r"<td>([^<]*)</td>", totals) == ["", "6", "3", "50,0\xa0%", "3,3", "4,0"]
    assert other_year.title not in page
    visit_part = page.split('id="kind-visit"')[1].split("</section>")[0]
    assert visit.title in visit_part and "100,0\xa0%" in visit_part

    only_visits = staff_client.get("/beheer/evaluaties?soort=werkbezoek").get_data(as_text=True)
    assert visit.title in only_visits and trainings[0].title not in only_visits
    last_year = staff_client.get(
        f"/beheer/evaluaties?van={THIS_YEAR - 1}-01-01&tot={THIS_YEAR - 1}-12-31")
    assert other_year.title in last_year.get_data(as_text=True)
    assert trainings[0].title not in last_year.get_data(as_text=True)

    with count_queries() as statements:
        assert staff_client.get("/beheer/evaluaties").status_code == 200
    few = len(statements)
    for _ in range(5):
        present_people(make_registration, held(make_event, days_ago=4), 2)
    with count_queries() as statements:
        assert staff_client.get("/beheer/evaluaties").status_code == 200
    assert len(statements) == few


@pytest.mark.parametrize("query", [
    "soort=iets", "van=gisteren", "van=0001-01-01", f"van={THIS_YEAR}-12-31&tot={THIS_YEAR}-01-01",
    "soort=vorming&soort=werkbezoek",
])
def test_a_bad_filter_is_a_400_with_a_message(staff_client, query):
    response = staff_client.get("/beheer/evaluaties?" + query)
    assert response.status_code == 400


def test_a_bad_filter_is_explained_next_to_the_field(staff_client):
    page = staff_client.get(
        f"/beheer/evaluaties?van={THIS_YEAR}-12-31&tot={THIS_YEAR}-01-01").get_data(as_text=True)
    assert '<p class="field-error" id="tot-error">De einddatum ligt voor de begindatum.</p>' in page


def test_the_evaluation_pages_are_for_staff_only(client, make_event):
    event = make_event()
    for path in (f"/beheer/activiteiten/{event.id}/evaluatie",
                 f"/beheer/activiteiten/{event.id}/evaluatie.csv", "/beheer/evaluaties",
                 "/beheer/evaluaties/vragen/vorming"):
        response = client.get(path)
        assert response.status_code == 302 and "/beheer/aanmelden" in response.location


def test_unknown_activity_or_kind_is_a_404(staff_client):
    assert staff_client.get("/beheer/activiteiten/999999/evaluatie").status_code == 404
    assert staff_client.get("/beheer/activiteiten/999999/evaluatie.csv").status_code == 404
    assert staff_client.get("/beheer/evaluaties/vragen/lezing").status_code == 404


def evaluation_actions() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.action.like("evaluation.%")).order_by(AuditEntry.id)))


def editor_data(changes: dict[int, dict] | None = None,
                kind: EventKind = EventKind.training) -> dict:
    """The questions editor as the browser posts it, with ``changes`` per question id."""
    data = {}
    for question in evaluation_questions.questions_of(kind):
        fields = {"label": question.label, "required": question.is_required,
                  "active": question.is_active, "position": question.position}
        fields.update((changes or {}).get(question.id, {}))
        data[f"label_{question.id}"] = fields["label"]
        data[f"position_{question.id}"] = str(fields["position"])
        for name in ("required", "active"):
            if fields[name]:
                data[f"{name}_{question.id}"] = "y"
    return data


def test_rewording_a_question_keeps_its_answers_together(staff_client, invited):
    event, tokens = invited()
    asked = questions()
    answer(tokens[0], score=5, usefulness=5)
    response = staff_client.post("/beheer/evaluaties/vragen/vorming", data=editor_data(
        {asked["score"].id: {"label": "Hoe goed was het?"}}))
    assert response.status_code == 303
    answer(tokens[1], score=3, usefulness=3)
    page = staff_client.get(f"/beheer/activiteiten/{event.id}/evaluatie").get_data(as_text=True)
    section = page.split(f'<h2 id="q{asked["score"].id}">')[1].split("</section>")[0]
    assert section.startswith("Hoe goed was het?") and "<strong>4,0</strong>" in section
    assert "uit 2 antwoorden" in section
    (entry,) = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("evaluation.%"))).all()
    assert (entry.action, entry.subject_id) == ("evaluation.question_edit", asked["score"].id)
    assert "Hoe tevreden ben je over deze vorming" in entry.summary


def test_a_question_taken_out_leaves_the_form_but_keeps_its_answers(staff_client, client,
                                                                   invited):
    event, tokens = invited()
    asked = questions()
    answer(tokens[0], score=4, usefulness=2)
    response = staff_client.post("/beheer/evaluaties/vragen/vorming", data=editor_data(
        {asked["usefulness"].id: {"active": False}, asked["score"].id: {"required": False},
         asked["theme"].id: {"position": 0}}))
    assert response.status_code == 303
    assert [q.id for q in evaluations.active_questions(EventKind.training)] == [
        asked["theme"].id, asked["score"].id, asked["useful"].id, asked["better"].id]
    form = client.get(f"/evaluatie/{tokens[1]}").get_data(as_text=True)
    assert asked["usefulness"].label not in form
    assert form.index(asked["theme"].label) < form.index(asked["score"].label)
    # Not required any more: an empty form is an answer.
    assert client.post(f"/evaluatie/{tokens[1]}", data={}).status_code == 303
    page = staff_client.get(f"/beheer/activiteiten/{event.id}/evaluatie").get_data(as_text=True)
    assert asked["usefulness"].label + " <small>(niet meer in de vragenlijst)</small>" in page
    assert evaluation_actions() == ["evaluation.question_edit"] * 5  # all moved, two changed


def test_a_question_is_added_at_the_end_of_its_kind(staff_client, client, invited):
    _event, (token, *_) = invited()
    response = staff_client.post("/beheer/evaluaties/vragen/vorming/nieuw", data={
        "nieuw-answer_type": "score", "nieuw-label": "Hoe was de lesgever?",
        "nieuw-is_required": "y"})
    assert response.status_code == 303
    added = evaluations.active_questions(EventKind.training)[-1]
    assert (added.label, added.answer_type, added.is_required) == (
        "Hoe was de lesgever?", "score", True)
    assert "Hoe was de lesgever?" not in "".join(
        q.label for q in evaluations.active_questions(EventKind.visit))
    assert "Hoe was de lesgever? (verplicht)" in client.get(f"/evaluatie/{token}").get_data(
        as_text=True)
    refused = client.post(f"/evaluatie/{token}", data=answer_data())
    assert refused.status_code == 422
    assert evaluation_actions() == ["evaluation.question_add"]


@pytest.mark.parametrize("data,message", [
    ({"nieuw-answer_type": "score", "nieuw-label": "  "}, "Vul de vraag in."),
    ({"nieuw-answer_type": "kleur", "nieuw-label": "Welke kleur?"}, "Ongeldige keuze"),
    ({"nieuw-answer_type": "text", "nieuw-label": "x" * 301}, "maximaal 300 tekens"),
])
def test_a_question_that_cannot_be_is_refused(staff_client, data, message):
    before = counted(EvaluationQuestion)
    response = staff_client.post("/beheer/evaluaties/vragen/vorming/nieuw", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counted(EvaluationQuestion) == before


def test_an_empty_label_or_a_bad_place_is_refused_next_to_the_field(staff_client):
    asked = questions()
    response = staff_client.post("/beheer/evaluaties/vragen/vorming", data=editor_data(
        {asked["score"].id: {"label": ""}, asked["useful"].id: {"position": "eerst"}}))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="label_{asked["score"].id}-error">Vul de vraag in.' in page
    assert f'id="position_{asked["useful"].id}-error">' in page
    assert questions()["score"].label.startswith("Hoe tevreden")


def test_only_a_question_without_answers_can_be_deleted(staff_client, invited):
    _event, (token, *_) = invited()
    ids = {name: question.id for name, question in questions().items()}
    answered, unanswered = ids["score"], ids["better"]
    answer(token, score=4, usefulness=4)
    page = staff_client.get("/beheer/evaluaties/vragen/vorming").get_data(as_text=True)
    assert f'form="delete-{answered}"' not in page
    assert f'form="delete-{unanswered}"' in page
    refused = staff_client.post(f"/beheer/evaluaties/vragen/vorming/{answered}/verwijderen")
    assert refused.status_code == 303
    assert db.session.get(EvaluationQuestion, answered) is not None
    assert "heeft al antwoorden" in staff_client.get(refused.location).get_data(as_text=True)
    deleted = staff_client.post(f"/beheer/evaluaties/vragen/vorming/{unanswered}/verwijderen")
    assert deleted.status_code == 303
    db.session.rollback()
    assert db.session.get(EvaluationQuestion, unanswered) is None
    assert evaluation_actions() == ["evaluation.question_delete"]
    other_kind = questions(EventKind.visit)["better"].id
    assert staff_client.post(
        f"/beheer/evaluaties/vragen/vorming/{other_kind}/verwijderen").status_code == 404


def test_the_yearly_report_shows_the_evaluation_figures(staff_client, invited):
    year = THIS_YEAR
    training, tokens = invited(count=3)
    answer(tokens[0], score=5, usefulness=4)
    answer(tokens[1], score=4, usefulness=3)
    answer(tokens[2], score=2, usefulness=2)
    if local(training.starts_at).year != year:  # on 1 January, yesterday was last year
        year -= 1
    exported = staff_client.get(f"/beheer/rapport.csv?jaar={year}").data.decode("utf-8-sig")
    figures = {(row[0], row[1]): row[2]
               for row in csv.reader(io.StringIO(exported), delimiter=";")}
    asked = questions()
    assert figures["Evaluaties – Vorming", "Antwoorden"] == "3"
    assert figures["Evaluaties – Vorming", f"Gemiddelde: {asked['score'].label}"] == "3,7"
    assert figures["Evaluaties – Vorming", f"Gemiddelde: {asked['usefulness'].label}"] == "3,0"
    assert figures["Evaluaties – Werkbezoek", "Antwoorden"] == "0"
    page = staff_client.get(f"/beheer/rapport?jaar={year}").get_data(as_text=True)
    assert f"{asked['score'].label}: <strong>3,7</strong> (3)" in page


def test_an_activity_without_answers_shows_dashes(staff_client, make_event):
    event = held(make_event)
    page = staff_client.get(f"/beheer/activiteiten/{event.id}/evaluatie").get_data(as_text=True)
    assert "<dt>Respons</dt><dd>–</dd>" in page
    assert "<strong>–</strong> op 5, uit 0 antwoorden" in page


def test_a_theme_deleted_later_still_reads_as_chosen(staff_client, invited, make_theme):
    theme = make_theme("polarisering")
    event, (token, *_) = invited()
    answer(token, score=4, usefulness=4, theme=theme.id)
    db.session.delete(theme)
    db.session.commit()
    page = staff_client.get(f"/beheer/activiteiten/{event.id}/evaluatie").get_data(as_text=True)
    assert '<th scope="row">Polarisering</th><td>1</td>' in page


def test_the_last_question_cannot_be_taken_out_of_the_form(staff_client):
    questions = evaluation_questions.questions_of(EventKind.training)
    all_out = editor_data({question.id: {"active": False} for question in questions})
    response = staff_client.post("/beheer/evaluaties/vragen/vorming", data=all_out)
    assert response.status_code == 422
    assert "minstens één vraag" in response.get_data(as_text=True)
    db.session.expire_all()
    assert all(question.is_active
               for question in evaluation_questions.questions_of(EventKind.training))
