"""Blueprint "auth": staff log in, log out and set their password through a link."""

from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from scheduler.errors import SchedulerError
from scheduler.extensions import limiter
from scheduler.forms.fields import ConfirmForm
from scheduler.forms.staff import LoginForm, PasswordForm
from scheduler.services import staff as staff_service

bp = Blueprint("auth", __name__, url_prefix="/beheer")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never another host, after logging in. Control characters and
    spaces go first: a browser drops a tab or newline, so "/<tab>/evil.example" would become
    "//evil.example", another site."""
    if not target or any(character <= " " or character == "\x7f" for character in target):
        return url_for("staff.dashboard")
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not parts.path.startswith("/")
            or parts.path.startswith("//") or "\\" in target):
        return url_for("staff.dashboard")
    return urlunsplit(("", "", parts.path, parts.query, ""))


@bp.route("/aanmelden", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """The staff login page; one generic message whatever was wrong."""
    form = LoginForm()
    if form.validate_on_submit():
        user = staff_service.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")), 303)
        form.form_errors.append("Dit e-mailadres en wachtwoord horen niet bij elkaar.")
        return render_template("auth/login.html", form=form), 422
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.post("/afmelden")
def logout() -> Response:
    """Log out (a POST, so a link elsewhere cannot log anyone out)."""
    if ConfirmForm().validate_on_submit():
        logout_user()
        flash("Je bent afgemeld.", "success")
    return redirect(url_for("auth.login"), 303)


@bp.route("/wachtwoord/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def set_password(token: str):
    """Choose a password through the link an admin handed out; the link works once."""
    user = staff_service.user_for_password_token(token, current_app.config["SECRET_KEY"])
    if user is None:
        abort(410)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            staff_service.set_password(user, form.password.data)
        except SchedulerError as refusal:
            form.password.errors.append(refusal.message)
        else:
            flash("Je wachtwoord is ingesteld. Meld je nu aan.", "success")
            return redirect(url_for("auth.login"), 303)
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form, user=user), status
