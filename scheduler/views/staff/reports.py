"""Staff overview pages: the dashboard, the reach report and the audit log."""

from datetime import date, time, timedelta

from cachetools import LRUCache
from flask import abort, current_app, render_template, request
from flask_login import current_user
from markupsafe import Markup

from scheduler import labels
from scheduler.dates import brussels_to_utc, format_day, local
from scheduler.extensions import db
from scheduler.forms.fields import KIND_SLUGS, MONTH_NAMES, ConfirmForm
from scheduler.forms.staff import ReachForm
from scheduler.models import EventKind, utcnow
from scheduler.services import audit, moderation, outbox, places, planning, reach, reach_map
from scheduler.services import yearly_report as yearly_report_service
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


def drawn_reach_map(report: reach.ReachReport, summary: str, link_args: dict,
                    selected: str | None = None) -> Markup:
    """The map of the report, drawn once per data version, period, kind and selection."""
    version = current_app.extensions["response_cache"].data_version.current()
    maps = current_app.extensions.setdefault("reach_maps", LRUCache(maxsize=32))
    key = (version, summary, tuple(sorted(link_args.items())), selected)
    if version is not None and key in maps:
        return maps[key]
    counts = {row.organisation.nis_code: row for row in report.rows}
    drawn = Markup(render_template(
        "staff/_reach_map.html", outlines=reach_map.outlines(), counts=counts,
        classes={nis: reach_map.reach_class(row.registered) for nis, row in counts.items()},
        class_labels=reach_map.CLASS_LABELS, link_args=link_args, selected=selected,
        summary=summary))
    if version is not None:
        maps[key] = drawn
    return drawn


def map_summary(report: reach.ReachReport, first: date, last: date,
                kind: EventKind | None = None) -> str:
    which = f" met {labels.KIND_PLURAL[kind].lower()}" if kind else ""
    return (f"Kaart van Vlaanderen en Brussel: {len(report.rows)} van de "
            f"{report.municipality_count} gemeenten bereikt{which} van {first:%d/%m/%Y} tot en "
            f"met {last:%d/%m/%Y}; de tabellen hieronder geven dezelfde cijfers.")


def _given_once(*names: str) -> None:
    if any(len(request.args.getlist(name)) > 1 for name in names):
        abort(400)


@bp.get("/bereik")
def reach_report():
    """Municipalities and provinces reached in a period, per kind: a map, then the tables;
    a municipality clicked on the map narrows the table to it."""
    _given_once("van", "tot", "soort", "gemeente")
    form = ReachForm(request.args)
    if not form.validate():
        abort(400)
    first, last, start, end = _reach_period(form)
    kind = KIND_SLUGS.get(form.soort.data or "")
    report = reach.reach(start, end, kind)
    link_args = {name: request.args[name] for name in ("van", "tot", "soort")
                 if request.args.get(name)}
    selected = report.row_of(form.gemeente.data) if form.gemeente.data else None
    if form.gemeente.data and selected is None:
        abort(404)
    return render_template(
        "staff/reach.html", form=form, report=report, first=first, last=last,
        reach_map=drawn_reach_map(report, map_summary(report, first, last, kind), link_args,
                            form.gemeente.data or None),
        selected=selected, link_args=link_args,
        selected_activities=reach.activities_of(selected.organisation, start, end, kind)
        if selected else [],
    )


# The first year the programme ran in this application.
FIRST_REPORT_YEAR = 2025


def _report_year() -> int:
    """The year asked for in ?jaar=, by default the current one; anything else is a 400."""
    current = local(utcnow()).year
    _given_once("jaar")
    asked = request.args.get("jaar")
    if asked is None:
        return current
    if not (asked.isascii() and asked.isdigit() and len(asked) == 4
            and 2000 <= int(asked) <= current + 5):
        abort(400)
    return int(asked)


@bp.get("/rapport")
def yearly_report():
    """The year at a glance: activities, registrations and attendance, reach with the map,
    roles and training requests; prints as an A4 report."""
    year = _report_year()
    report = yearly_report_service.yearly_report(year, utcnow())
    first, last = date(year, 1, 1), date(year, 12, 31)
    return render_template(
        "staff/report.html", report=report, kinds=yearly_report_service.KINDS,
        month_names=MONTH_NAMES,
        years=sorted({*range(FIRST_REPORT_YEAR, local(utcnow()).year + 2), year}, reverse=True),
        now_label=format_day(utcnow()),
        reach_map=drawn_reach_map(report.reach, map_summary(report.reach, first, last),
                                  {"van": first.isoformat(), "tot": last.isoformat()}),
    )


@bp.get("/rapport.csv")
def yearly_report_csv():
    """The figures of the yearly report, one per line, for Excel in Belgium."""
    year = _report_year()
    report = yearly_report_service.yearly_report(year, utcnow())
    rows = [["Activiteiten", f"{MONTH_NAMES[month - 1]} – {labels.KIND[kind]}", count]
            for month, kinds in report.held.items() for kind, count in kinds.items()]
    rows += [["Activiteiten", f"Totaal – {labels.KIND[kind]}", report.held_of_kind(kind)]
             for kind in yearly_report_service.KINDS]
    rows += [
        ["Activiteiten", "Totaal", report.held_total],
        ["Activiteiten", "Geannuleerd", report.cancelled],
        ["Inschrijvingen", "Ingeschreven (bevestigd)", report.registered],
        ["Inschrijvingen", "Ingeschreven voor afgelopen activiteiten", report.registered_for_ended],
        ["Inschrijvingen", "Aanwezig", report.present],
        ["Inschrijvingen", "Opkomst", "" if report.attendance_rate is None
         else labels.percent(report.attendance_rate)],
        *(["Rol", labels.ROLE[role], count] for role, count in report.roles.items()),
        ["Vormingsaanvragen", "Ontvangen", report.requests_received],
        ["Vormingsaanvragen", "Ingepland", report.requests_planned],
        ["Bereik", "Gemeenten bereikt", len(report.reach.rows)],
        ["Bereik", "Gemeenten in totaal", report.reach.municipality_count],
    ]
    for kind in yearly_report_service.KINDS:
        figures = report.evaluations[kind]
        rows.append([f"Evaluaties – {labels.KIND[kind]}", "Antwoorden", figures.responses])
        rows += [[f"Evaluaties – {labels.KIND[kind]}", f"Gemiddelde: {label}", tally.average_label]
                 for label, tally in figures.averages]
    rows += [[f"Bereik – {province}", label, value]
             for province, values in report.reach.provinces.items()
             for label, value in zip(("Gemeenten bereikt", "Gemeenten in totaal", "Ingeschreven",
                                      "Aanwezig"), values, strict=True)]
    audit.record(current_user, "report.export", "report", None, f"jaar={year}")
    db.session.commit()
    return csv_download(["Onderdeel", "Cijfer", "Waarde"], rows, f"jaarrapport-{year}.csv")


@bp.get("/bereik.csv")
def reach_csv():
    """The reach per municipality, for Excel in Belgium."""
    _given_once("van", "tot", "soort", "gemeente")
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
