"""Profile one row of the benchmark in-process with pyinstrument, on a 100× SQLite programme.

    python -m bench.profile            # the registration POST, the slowest row
    python -m bench.profile --row activity --requests 300
"""

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pyinstrument import Profiler

from bench.run import build_database
from scheduler import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--row", choices=("post", "activity", "agenda"), default="post")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="scheduler-profile-"))
    try:
        url = f"sqlite:///{folder / 'profile.sqlite'}"
        target = build_database(url, 100, datetime.now(UTC))
        app = create_app({"SECRET_KEY": "profile", "DATABASE_URL": url,
                          "SCHEDULER_ENV": "production", "PUBLIC_BASE_URL": "http://127.0.0.1",
                          "REGISTRATION_RATE_LIMIT": "1000000 per second",
                          # Measure the rendering, not the memory in front of it.
                          "RESPONSE_CACHE_SIZE": 0})
        client = app.test_client()

        def one(number: int) -> None:
            if args.row == "post":
                response = client.post(
                    f"/activiteiten/{target.open_slug}/inschrijven",
                    headers={"HX-Request": "true"},
                    data={"first_name": "Profiel",
                          "last_name": "Meting", "email": f"profiel-{number}@example.org",
                          "organisation": "Gent", "role": "medewerker", "consent": "y"})
            elif args.row == "activity":
                response = client.get(f"/activiteiten/{target.upcoming_slug}")
            else:
                response = client.get("/")
            assert response.status_code == 200, response.status_code

        for number in range(20):  # warm the caches of SQLAlchemy, Jinja and Babel first
            one(number)
        profiler = Profiler(interval=0.0005)
        with profiler:
            for number in range(args.requests):
                one(1000 + number)
        per_request = profiler.last_session.duration / args.requests * 1000
        print(f"{args.row}: {per_request:.1f} ms a request with the profiler on")
        print(profiler.output_text(unicode=False, color=False))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
