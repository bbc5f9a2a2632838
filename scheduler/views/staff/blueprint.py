"""The staff blueprint under /beheer and its one login guard."""

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from scheduler.errors import SchedulerError
from scheduler.forms.fields import ConfirmForm
from scheduler.htmx import current_page, is_htmx, whole_page_to

T = TypeVar("T")

bp = Blueprint("staff", __name__, url_prefix="/beheer")

# Endpoints only admins may use.
ADMIN_ENDPOINTS = {
    "staff.accounts", "staff.account_invite", "staff.account_activate",
    "staff.account_deactivate", "staff.account_reset", "staff.audit_log", "staff.privacy_erase",
    "staff.attestation_erase",
}


@bp.before_request
def require_staff():
    """Every staff page needs a logged-in, active account; some need an admin."""
    if not current_user.is_authenticated:
        if is_htmx():
            # An htmx request would swap the login page into a table cell: the whole page goes
            # to the login instead, and back to the page it was on after.
            return whole_page_to(url_for("auth.login", next=current_page()))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if request.endpoint in ADMIN_ENDPOINTS and not current_user.is_admin:
        abort(403)
    return None


@bp.after_request
def never_cache(response):
    """Staff pages hold personal data: keep them out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def button_action(act: Callable[[], T], success: str | Callable[[T], str] | None,
                  then: Callable[[T | None], str]) -> Response:
    """A button-only POST: check its CSRF token, act, flash the outcome, 303 to ``then(result)``.

    ``success`` is the message, or makes it from the result. A rule the action refuses
    (SchedulerError) is flashed as an error instead, and ``then`` gets None.
    """
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        result = act()
    except SchedulerError as refusal:
        flash(refusal.message, "error")
        return redirect(then(None), 303)
    if success:
        flash(success(result) if callable(success) else success, "success")
    return redirect(then(result), 303)
