"""Staff overview pages: the dashboard, the reach report and the audit log."""

from datetime import date, time, timedelta

from flask import abort, render_template, request
from flask_login import current_user

from scheduler.dates import brussels_to_utc, local
from scheduler.extensions import db
from scheduler.forms.fields import KIND_SLUGS, ConfirmForm
from scheduler.forms.staff import ReachForm
from scheduler.models import utcnow
from scheduler.services import audit, moderation, outbox, places, planning, reach
from scheduler.views.staff.blueprint import bp
from scheduler.views.staff.exports import csv_download


@bp.get("/")
def dashboard():
    """The next activities with fill rate, approvals waiting, recent cancellations, failed mail."""
    now = utcnow()
    upcoming = planning.list_for_staff("upcoming", now, limit=10)
    pending = moderation.awaiting_approval()
    return render_template(
        "staff/dashboard.html", upcoming=upcoming, seats=places.summaries(upcoming),
        pending=pending, sessions={r.id: moderation.session_of(r) for r in pending},
        cancellations=moderation.recent_cancellations(now - timedelta(days=14)),
        failed=outbox.failed_messages(), action_form=ConfirmForm(),
    )


def _reach_period(form: ReachForm):
    today = local(utcnow()).date()
    first = form.van.data or date(today.year, 1, 1)
    last = form.tot.data or date(today.year, 12, 31)
    start = brussels_to_utc(first, time())
    return first, last, start, brussels_to_utc(last + timedelta(days=1), time())


@bp.get("/bereik")
def reach_report():
    """Municipalities and provinces reached in a period, per kind, with the ones not reached."""
    form = ReachForm(request.args)
    if not form.validate():
        abort(400)
    first, last, start, end = _reach_period(form)
    report = reach.reach(start, end, KIND_SLUGS.get(form.soort.data or ""))
    return render_template("staff/reach.html", form=form, report=report, first=first, last=last)


@bp.get("/bereik.csv")
def reach_csv():
    """The reach per municipality, for Excel in Belgium."""
    form = ReachForm(request.args)
    if not form.validate():
        abort(400)
    _first, _last, start, end = _reach_period(form)
    report = reach.reach(start, end, KIND_SLUGS.get(form.soort.data or ""))
    rows = [
        [row.organisation.nis_code, row.organisation.name, row.organisation.province or "Brussel",
         row.registered, row.attended]
        for row in report.rows
    ] + [
        [organisation.nis_code, organisation.name, organisation.province or "Brussel", 0, 0]
        for organisation in report.not_reached
    ]
    audit.record(current_user, "reach.export", "report", None, request.query_string.decode()[:200])
    db.session.commit()
    return csv_download(["NIS-code", "Gemeente", "Provincie", "Ingeschreven", "Aanwezig"], rows,
                        "bereik.csv")


@bp.get("/logboek")
def audit_log():
    """Who did what, and when (admins only)."""
    page = request.args.get("pagina", 1, type=int)
    if page < 1 or page > 10_000:
        abort(404)
    entries = audit.recent(limit=100, offset=(page - 1) * 100)
    return render_template("staff/audit.html", entries=entries, page=page)
