"""Every public form and query string, fed hostile input: never a 5xx, and a refused post stores
nothing. Not part of `make test`; `make fuzz` runs it (SCHEDULER_FUZZ_EXAMPLES, 10,000 per
database by default)."""

import os
import time
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from scheduler.extensions import db
from scheduler.models import (
    Attendance,
    EvaluationInvitation,
    EvaluationResponse,
    OutboxMessage,
    Registration,
    TrainingRequest,
    utcnow,
)
from scheduler.services import evaluations, registrations
from tests.helpers import applicant

EXAMPLES = int(os.environ.get("SCHEDULER_FUZZ_EXAMPLES", "10000"))
# Text as people and robots paste it: any code point but lone surrogates (not encodable).
HOSTILE = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=300),
    st.sampled_from(["", " ", "0", "-1", "99999999999999999999", "1e308", "NaN", "null",
                     "<script>alert(1)</script>", "' OR 1=1 --", "%00", "\x00", "../../etc",
                     "a" * 5000, "é" * 300, "2031-02-30", "13", "ja", "y", "on"]),
)
FIELDS = {
    "registration": ["first_name", "last_name", "email", "organisation", "role", "function",
                     "remarks", "needs", "consent", "website"],
    "overview": ["email", "website"],
    "request": ["organisation", "contact_name", "email", "phone", "audience", "expected_count",
                "preferred_dates", "parts", "local_questions", "consent", "website"],
    "details": ["first_name", "last_name", "function", "needs", "version"],
    "hand_over": ["first_name", "last_name", "email", "role", "function"],
    "agenda": ["soort", "thema", "provincie", "maand", "pagina"],
    "subscribe": ["soort", "thema", "insluiten-soort", "insluiten-thema"],
    "feed": ["soort", "thema", "provincie"],
    "embed": ["soort", "thema", "provincie", "maand", "pagina"],
    "api": ["soort", "thema", "provincie", "maand", "na", "pagina"],
    "new": ["soort"],
    "verify": ["code"],
    # The evaluation form's fields are named after its questions' ids: filled in below.
    "evaluation": [],
}


def stored() -> tuple[int, ...]:
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(table))
                 for table in (Registration, TrainingRequest, OutboxMessage, EvaluationResponse))


def test_no_hostile_input_gets_a_server_error_or_stores_anything_refused(
        app, client, make_event, make_registration, request):
    event = make_event()
    token = registrations.register(event.id, applicant(1)).registration.token
    held = make_event(starts_at=utcnow() - timedelta(days=3),
                      ends_at=utcnow() - timedelta(days=3) + timedelta(hours=2))
    present = make_registration(held)
    db.session.add(Attendance(registration_id=present.id, event_id=held.id, is_present=True))
    db.session.commit()
    evaluations.queue_invitations()
    answer_token = db.session.scalars(select(EvaluationInvitation.token)).one()
    FIELDS["evaluation"] = [f"vraag_{question.id}"
                            for question in evaluations.active_questions(held.kind)]
    forms = {
        "registration": ("POST", f"/activiteiten/{event.slug}/inschrijven"),
        "overview": ("POST", "/mijn-inschrijvingen"),
        "request": ("POST", "/vorming-aanvragen"),
        "details": ("POST", f"/inschrijving/{token}/gegevens"),
        "hand_over": ("POST", f"/inschrijving/{token}/overdragen"),
        "agenda": ("GET", "/"),
        "subscribe": ("GET", "/abonneren"),
        "feed": ("GET", "/agenda.ics"),
        "embed": ("GET", "/embed"),
        "api": ("GET", "/api/v1/activities"),
        "new": ("GET", "/nieuw.atom"),
        "verify": ("GET", "/attest"),
        "evaluation": ("POST", f"/evaluatie/{answer_token}"),
    }
    seen = {"requests": 0, "refused": 0}
    started = time.monotonic()

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(form=st.sampled_from(sorted(forms)), data=st.data(), htmx=st.booleans())
    def post_anything(form, data, htmx):
        method, path = forms[form]
        values = {name: data.draw(st.one_of(HOSTILE, st.lists(HOSTILE, max_size=3)), label=name)
                  for name in data.draw(st.lists(st.sampled_from(FIELDS[form]), unique=True))}
        before = stored()
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            response = client.get(path, query_string=values, headers=headers)
        else:
            response = client.post(path, data=values, headers=headers)
        seen["requests"] += 1
        assert response.status_code < 500, (form, values, response.status_code)
        if response.status_code >= 400:
            seen["refused"] += 1
            assert stored() == before, (form, values)

    post_anything()
    request.node.user_properties.append(("figures", (
        f"fuzz: {seen['requests']} hostile requests in {time.monotonic() - started:.0f} s, "
        f"{seen['refused']} refused with 4xx, 0 server errors, nothing stored on refusal")))
