"""Blueprint "staff": the association's pages under /beheer, one module per area."""

from scheduler.views.staff import accounts, activities, participants, reports  # noqa: F401
from scheduler.views.staff.blueprint import bp

__all__ = ["bp"]
