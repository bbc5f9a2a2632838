"""Staff pages for the materials of an activity or a series."""

from scheduler.views.staff.blueprint import bp  # noqa: F401
