"""Measure the pages and feeds under load with wrk, at 1× and 100× the programme's size.

    python -m bench.run            # full run, writes the table into bench/README.md
    python -m bench.run --quick    # short runs, for CI (under a minute)
    python -m bench.run --dsn postgresql+psycopg://user@127.0.0.1:5432/bench

Each scale gets its own database built through the migrations; the app runs under gunicorn
with the production settings on 127.0.0.1; wrk drives the load from a separate process. The
baseline is a minimal WSGI app under the same gunicorn settings that answers with a response
of the same size from memory: the ceiling for Python on this machine.
"""

import argparse
import http.client
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scheduler import create_app  # noqa: E402
from scheduler.extensions import db  # noqa: E402
from scheduler.models import (  # noqa: E402
    Event,
    Organisation,
    Person,
    Registration,
    Theme,
    event_themes,
)

# The activity whose page shows a waiting list has this many places.
FULL_CAPACITY = 5


@dataclass
class Target:
    upcoming_slug: str
    full_slug: str
    open_slug: str
    person_token: str


def build_database(url: str, scale: int, now: datetime) -> Target:
    """A programme ``scale`` times today's: 50 activities and 1,000 registrations per unit."""
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        random.seed(scale)
        organisation_ids = db.session.scalars(
            select(Organisation.id).where(Organisation.nis_code.is_not(None))).all()
        db.session.execute(insert(Theme), [
            {"slug": slug, "name": slug.capitalize()}
            for slug in ("radicalisering", "polarisering", "livc", "preventie", "beleid")])
        events, upcoming = 50 * scale, 5 * scale
        rows = []
        for number in range(events):
            if number < upcoming:
                starts = now + timedelta(days=1 + number * 365 / upcoming, hours=9)
            else:
                starts = now - timedelta(days=1 + (number - upcoming) * 5 * 365 / events)
            rows.append({
                "uid": str(uuid.uuid4()), "sequence": 0, "kind": random.choice(
                    ["training", "visit", "intervision"]),
                "status": "cancelled" if number % 50 == 7 else "published",
                "title": f"Activiteit {number}: lokale aanpak van radicalisering",
                "slug": f"activiteit-{number}", "summary": "Een samenvatting van de activiteit.",
                "description": "Een **beschrijving** met meer uitleg. " * 8,
                "starts_at": starts, "ends_at": starts + timedelta(hours=3),
                "venue": "Stadhuis", "address": "Grote Markt 1",
                "municipality_id": random.choice(organisation_ids),
                "capacity": {0: None, 1: FULL_CAPACITY}.get(number, 30), "is_moderated": False,
                "audience": "both", "cancellation_reason": "", "created_at": now,
                "updated_at": now, "published_at": now - timedelta(minutes=number),
            })
        for start in range(0, len(rows), 1000):
            db.session.execute(insert(Event), rows[start:start + 1000])
        event_ids = db.session.scalars(select(Event.id).order_by(Event.id)).all()
        theme_ids = db.session.scalars(select(Theme.id)).all()
        db.session.execute(insert(event_themes), [
            {"event_id": event_id, "theme_id": theme_id}
            for event_id in event_ids for theme_id in random.sample(theme_ids, 2)])
        person_email = "vaste.deelnemer@example.org"
        registrations = []
        for number in range(1000 * scale):
            email = person_email if number < 20 else f"deelnemer{number}@example.org"
            registrations.append({
                "token": uuid.uuid4().hex, "event_id": event_ids[(number * 7919) % events],
                "status": "confirmed", "first_name": "Voornaam", "last_name": f"Naam {number}",
                "email": email, "email_normalised": email,
                "organisation_id": random.choice(organisation_ids), "organisation_other": "",
                "role": "medewerker", "function": "", "remarks": "", "created_at": now,
                "updated_at": now,
            })
        for start in range(0, len(registrations), 5000):
            db.session.execute(insert(Registration), registrations[start:start + 5000])
        # The full activity: its first registrations hold the places, the others wait.
        holders = select(Registration.id).where(Registration.event_id == event_ids[1]) \
            .order_by(Registration.id).limit(FULL_CAPACITY).scalar_subquery()
        db.session.execute(update(Registration).where(
            Registration.event_id == event_ids[1], Registration.id.not_in(holders),
        ).values(status="waiting"))
        token = uuid.uuid4().hex
        db.session.execute(insert(Person), [
            {"email_normalised": person_email, "feed_token": token, "created_at": now}])
        db.session.commit()
        db.engine.dispose()
    return Target(upcoming_slug=f"activiteit-{upcoming // 2}", full_slug="activiteit-1",
                  open_slug="activiteit-0",
                  person_token=token)


class Gunicorn:
    """gunicorn on 127.0.0.1 with the production settings."""

    def __init__(self, app: str, env: dict, workers: int, port: int) -> None:
        self.port = port
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                   "--bind", f"127.0.0.1:{port}", "--no-control-socket",
                   "--log-level", "warning", app]
        # The request log stays on (it is part of what production costs) but goes to a file.
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log",  # noqa: SIM115
                                               delete=False)
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                                        stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _, _ = request(port, "GET", "/privacy" if "scheduler" in app else "/")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        tail = Path(self.log.name).read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"{app} did not start:\n{tail}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def request(port: int, method: str, path: str, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(url: str, duration: int, connections: int, headers: dict | None = None,
        script: str | None = None, env: dict | None = None) -> Result:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True,
                            env={**os.environ, **(env or {})}).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Result(rate, _latency(output, "50%"), _latency(output, "99%"), errors)


def _latency(output: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(scale: int, url: str, args) -> tuple[list, dict]:
    target = build_database(url, scale, datetime.now(UTC))
    port = free_port()
    env = {"SCHEDULER_ENV": "production", "SECRET_KEY": "bench-secret", "DATABASE_URL": url,
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "REGISTRATION_RATE_LIMIT": "1000000 per second"}
    app = Gunicorn("scheduler:create_app()", env, args.workers, port)
    base = f"http://127.0.0.1:{port}"
    try:
        _, feed_headers, _ = request(port, "GET", "/agenda.ics")
        scenarios = [
            ("agenda page", "/", {}, None),
            ("agenda filtered (htmx partial)", "/?soort=vorming", {"HX-Request": "true"}, None),
            ("htmx filter change (24 filters)", "/", {"HX-Request": "true"}, "filters"),
            ("activity page", f"/activiteiten/{target.upcoming_slug}", {}, None),
            ("activity page, full (waiting list)", f"/activiteiten/{target.full_slug}", {},
             None),
            ("registration POST", f"/activiteiten/{target.open_slug}/inschrijven", {}, "post"),
            ("full feed /agenda.ics", "/agenda.ics", {}, None),
            ("feed answered 304", "/agenda.ics", {"If-None-Match": feed_headers["ETag"]}, None),
            ("personal feed", f"/mijn/{target.person_token}.ics", {}, None),
            ("JSON API /api/v1/activities", "/api/v1/activities", {}, None),
            ("embedded agenda /embed", "/embed", {}, None),
            ("new activities /nieuw.atom", "/nieuw.atom", {}, None),
        ]
        rows, sizes = [], {}
        for name, path, headers, kind in scenarios:
            if kind is None:
                warm_up(port, base + path, headers, args)
            if kind == "post":
                result = wrk(base + path, args.duration, args.connections,
                             script=str(ROOT / "bench" / "register.lua"),
                             env={"BENCH_ORIGIN": base, "BENCH_PATH": path})
                size = 2000
            elif kind == "filters":
                script = str(ROOT / "bench" / "filters.lua")
                wrk(base + path, 1, args.connections, script=script)
                _, _, body = request(port, "GET", "/?soort=vorming&thema=&provincie=Limburg&maand=",
                                     headers)
                size = len(body)
                result = wrk(base + path, args.duration, args.connections, script=script)
            else:
                _, _, body = request(port, "GET", path, headers)
                size = len(body)
                result = wrk(base + path, args.duration, args.connections, headers)
            sizes[name] = size
            rows.append((name, size, result))
    finally:
        app.stop()
    return rows, sizes


def warm_up(port: int, url: str, headers: dict, args) -> None:
    """Load the row until its rate settles, so that every worker has built what it keeps.

    Without this a run measures first builds (a 5,000-activity feed takes seconds to serialise
    the first time in each worker) and the next row inherits workers that are still busy.
    """
    previous = 0.0
    for _ in range(15):
        rate = wrk(url, 1, args.connections, headers).requests_per_second
        if previous and abs(rate - previous) <= 0.15 * previous:
            break
        previous = rate
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        started = time.monotonic()
        request(port, "GET", "/privacy")
        if time.monotonic() - started < 0.05:
            return
        time.sleep(0.2)


def baseline(sizes: dict, args) -> dict:
    port = free_port()
    server = Gunicorn("bench.baseline:app", {}, args.workers, port)
    try:
        return {name: wrk(f"http://127.0.0.1:{port}/?size={max(size, 1)}", args.duration,
                          args.connections) for name, size in sizes.items()}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-second runs, for CI")
    parser.add_argument("--dsn", help="a PostgreSQL database to (re)build and use")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="write the table to bench/README.md")
    args = parser.parse_args()
    if args.quick:
        args.duration = 1
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="scheduler-bench-"))
    results = {}
    try:
        for scale in (1, 100):
            url = args.dsn or f"sqlite:///{folder / f'bench-{scale}.sqlite'}"
            started = time.monotonic()
            results[scale] = measure(scale, url, args)
            print(f"scale {scale}×: measured in {time.monotonic() - started:.0f} s", flush=True)
        rows, sizes = results[100]
        ceiling = baseline(sizes, args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = render(rows, ceiling, results, args)
    print(table)
    if args.write:
        write_readme(table, "PostgreSQL" if args.dsn else "SQLite")


def render(rows, ceiling, results, args) -> str:
    database = "PostgreSQL" if args.dsn else "SQLite"
    lines = [
        f"{database}, 100× programme (5,000 activities, 500 upcoming, 100,000 registrations); "
        f"gunicorn {args.workers} sync workers; wrk 2 threads, {args.connections} connections, "
        f"{args.duration} s per row.",
        "",
        "| what | bytes | req/s | p50 ms | p99 ms | errors | baseline req/s | share of baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, size, result in rows:
        base = ceiling[name]
        lines.append(
            f"| {name} | {size} | {result.requests_per_second:.0f} | {result.p50_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.errors} | {base.requests_per_second:.0f} | "
            f"{result.requests_per_second / base.requests_per_second:.0%} |")
    lines += ["", "How cost grows from 1× (50 activities) to 100× (5,000):", "",
              "| what | req/s at 1× | req/s at 100× | p50 ms at 1× | p50 ms at 100× | "
              "p50 100× / 1× |", "|---|---:|---:|---:|---:|---:|"]
    small = {name: result for name, _, result in results[1][0]}
    for name, _, result in rows:
        if name in ("agenda page", "activity page", "feed answered 304", "full feed /agenda.ics"):
            before = small[name]
            lines.append(f"| {name} | {before.requests_per_second:.0f} | "
                         f"{result.requests_per_second:.0f} | {before.p50_ms:.1f} | "
                         f"{result.p50_ms:.1f} | {result.p50_ms / before.p50_ms:.2f} |")
    return "\n".join(lines)


def write_readme(table: str, database: str) -> None:
    """Replace this database's block of results in bench/README.md, or add it at the end."""
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text() if readme.exists() else ""
    start, end = f"<!-- results {database} -->", f"<!-- end of results {database} -->"
    stamp = (f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}.")
    block = f"{start}\n{stamp}\n\n{table}\n{end}"
    if start in text and end in text:
        text = text.split(start)[0] + block + text.split(end, 1)[1]
    else:
        text = f"{text.rstrip()}\n\n{block}\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
