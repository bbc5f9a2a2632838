"""The fixtures live in tests/fixtures/; this file loads them and sums up the run."""

pytest_plugins = [
    "tests.fixtures.databases", "tests.fixtures.factories", "tests.fixtures.browser",
    "tests.fixtures.mail",
]


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many tests ran on each database and in the browser."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            where = dict(report.user_properties).get("database", "no database")
            if "tests/test_browser" in report.nodeid:
                where = "chromium"
            counts.setdefault(where, {}).setdefault(outcome, 0)
            counts[where][outcome] += 1
    figures = [
        (report.nodeid, value)
        for report in terminalreporter.stats.get("passed", [])
        for key, value in report.user_properties
        if key == "figures"
    ]
    if figures:
        terminalreporter.write_sep("-", "measured")
        for nodeid, value in figures:
            terminalreporter.write_line(f"{nodeid.split('::')[-1]}: {value}")
    terminalreporter.write_sep("-", "tests per component")
    for where in ("sqlite", "postgresql", "chromium", "no database"):
        if where in counts:
            parts = ", ".join(f"{number} {outcome}" for outcome, number in counts[where].items())
            terminalreporter.write_line(f"{where}: {parts}")
