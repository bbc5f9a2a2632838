"""Blueprint "staff": the association's pages under /beheer, one module per area."""

from scheduler.views.staff import (  # noqa: F401
    accounts,
    activities,
    attestations,
    evaluations,
    materials,
    participants,
    privacy,
    reports,
    requests,
)
from scheduler.views.staff.blueprint import bp

__all__ = ["bp"]
