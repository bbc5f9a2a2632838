"""Staff accounts: creation, authentication, deactivation and password links."""

from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from scheduler.errors import SchedulerError
from scheduler.extensions import db
from scheduler.models import StaffUser, utcnow
from scheduler.services import audit

PASSWORD_LINK_SECONDS = 72 * 3600
MINIMUM_PASSWORD_LENGTH = 12
PASSWORD_TOO_SHORT = f"Kies een wachtwoord van minstens {MINIMUM_PASSWORD_LENGTH} tekens."
# Checked when the e-mail is unknown, so that a wrong address takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password")


class StaffAccountError(SchedulerError):
    message = "Dit account bestaat al."


def find_by_email(email: str) -> StaffUser | None:
    address = email.strip().lower()
    return db.session.scalars(
        select(StaffUser).where(func.lower(StaffUser.email) == address)
    ).one_or_none()


def create_staff(
    email: str, password: str | None, *, is_admin: bool = False, name: str = "",
    by: StaffUser | None = None,
) -> StaffUser:
    """Create an account; without a password it can only be used after a password link.

    Raises StaffAccountError for a known address and SchedulerError for a short password.
    """
    address = email.strip().lower()
    if find_by_email(address):
        raise StaffAccountError()
    if password is not None:
        check_password(password)
    user = StaffUser(
        email=address, name=name.strip(), is_admin=is_admin,
        password_hash=generate_password_hash(password) if password else "!",
    )
    db.session.add(user)
    db.session.flush()
    audit.record(by, "staff.create", "staff", user.id, f"admin: {is_admin}")
    db.session.commit()
    return user


def authenticate(email: str, password: str, now: datetime | None = None) -> StaffUser | None:
    """The active account with this e-mail and password, or None; timing reveals neither."""
    user = find_by_email(email)
    stored = user.password_hash if user and user.password_hash != "!" else _DUMMY_HASH
    valid = check_password_hash(stored, password)
    if user is None or not user.is_active or not valid or user.password_hash == "!":
        return None
    user.last_login_at = now or utcnow()
    db.session.commit()
    return user


def set_active(user: StaffUser, active: bool, by: StaffUser) -> None:
    """Deactivate or reactivate an account; an admin cannot lock themselves out."""
    if user.id == by.id and not active:
        raise SchedulerError("Je kan je eigen account niet uitschakelen.")
    user.is_active = active
    audit.record(by, "staff.activate" if active else "staff.deactivate", "staff", user.id,
                 user.email)
    db.session.commit()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="staff-password")


def password_token(user: StaffUser, secret_key: str) -> str:
    """A link token to set a password; it stops working once the password changed."""
    return _serializer(secret_key).dumps({"id": user.id, "hash": user.password_hash[-12:]})


def user_for_password_token(token: str, secret_key: str) -> StaffUser | None:
    """The account a password token belongs to, if it is still valid and unused."""
    try:
        data = _serializer(secret_key).loads(token, max_age=PASSWORD_LINK_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    user = db.session.get(StaffUser, data.get("id"))
    if user is None or not user.is_active or user.password_hash[-12:] != data.get("hash"):
        return None
    return user


def check_password(password: str) -> None:
    """Raise SchedulerError for a password shorter than the minimum."""
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise SchedulerError(PASSWORD_TOO_SHORT)


def set_password(user: StaffUser, password: str) -> None:
    check_password(password)
    user.password_hash = generate_password_hash(password)
    audit.record(user, "staff.password", "staff", user.id)
    db.session.commit()


def list_staff() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).order_by(StaffUser.email)))
