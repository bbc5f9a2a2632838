"""Staff accounts (admins only): invite, deactivate, reactivate, hand out a password link."""

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.forms.fields import ConfirmForm
from scheduler.forms.staff import StaffInviteForm
from scheduler.links import public_url
from scheduler.models import StaffUser
from scheduler.services import staff as staff_service
from scheduler.views.staff.blueprint import bp, button_action


def _password_link(user: StaffUser) -> str:
    token = staff_service.password_token(user, current_app.config["SECRET_KEY"])
    return public_url("auth.set_password", token=token)


@bp.get("/medewerkers")
def accounts():
    """All staff accounts."""
    return render_template("staff/accounts.html", users=staff_service.list_staff(),
                           form=StaffInviteForm(), action_form=ConfirmForm())


@bp.post("/medewerkers")
def account_invite():
    """Add a colleague and show the link with which they choose a password."""
    form = StaffInviteForm()
    if form.validate_on_submit():
        try:
            user = staff_service.create_staff(
                form.email.data, None, is_admin=form.is_admin.data, name=form.name.data or "",
                by=current_user,
            )
        except SchedulerError as refusal:
            form.email.errors.append(refusal.message)
        else:
            flash(f"Account gemaakt. Bezorg deze link (72 uur geldig) aan {user.email}: "
                  f"{_password_link(user)}", "success")
            return redirect(url_for("staff.accounts"), 303)
    return render_template("staff/accounts.html", users=staff_service.list_staff(), form=form,
                           action_form=ConfirmForm()), 422


def _account_action(user_id: int, change):
    user = db.get_or_404(StaffUser, user_id)
    return button_action(lambda: change(user), None, lambda _result: url_for("staff.accounts"))


@bp.post("/medewerkers/<int:user_id>/uitschakelen")
def account_deactivate(user_id: int):
    """Deactivate an account; it can no longer log in."""
    return _account_action(user_id, lambda u: staff_service.set_active(u, False, current_user))


@bp.post("/medewerkers/<int:user_id>/inschakelen")
def account_activate(user_id: int):
    """Reactivate an account."""
    return _account_action(user_id, lambda u: staff_service.set_active(u, True, current_user))


@bp.post("/medewerkers/<int:user_id>/wachtwoordlink")
def account_reset(user_id: int):
    """A new password link for a colleague who forgot theirs."""
    return _account_action(
        user_id,
        lambda u: flash(f"Bezorg deze link (72 uur geldig) aan {u.email}: {_password_link(u)}",
                        "success"),
    )
