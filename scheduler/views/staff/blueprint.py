"""The staff blueprint under /beheer and its one login guard."""

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

bp = Blueprint("staff", __name__, url_prefix="/beheer")

# Endpoints only admins may use.
ADMIN_ENDPOINTS = {
    "staff.accounts", "staff.account_invite", "staff.account_activate",
    "staff.account_deactivate", "staff.account_reset", "staff.audit_log", "staff.privacy_erase",
}


@bp.before_request
def require_staff():
    """Every staff page needs a logged-in, active account; some need an admin."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if request.endpoint in ADMIN_ENDPOINTS and not current_user.is_admin:
        abort(403)
    return None


@bp.after_request
def never_cache(response):
    """Staff pages hold personal data: keep them out of every cache."""
    response.headers["Cache-Control"] = "no-store"
    return response
