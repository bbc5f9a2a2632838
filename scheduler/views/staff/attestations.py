"""Staff actions on attestations: attendance made final, revoking."""

from scheduler.views.staff.blueprint import bp  # noqa: F401
