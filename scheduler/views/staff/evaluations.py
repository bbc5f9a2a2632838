"""Staff pages for evaluations: the questions per kind and the results."""

from scheduler.views.staff.blueprint import bp  # noqa: F401
