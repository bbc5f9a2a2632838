"""What every form is made of: checks on one field, choices, and the confirm button."""

import unicodedata
from datetime import date

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectChoice, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from scheduler.models import EventKind

TOO_LONG = "Dit is te lang: maximaal %(max)d tekens."


class PlainText:
    """Refuses control characters (NUL, escape codes, line breaks in one-line fields) and
    invisible format characters (zero-width spaces, right-to-left overrides), which make a
    name look empty or read backwards; a soft hyphen and an emoji joiner may stay."""

    def __init__(self, multiline: bool = False) -> None:
        self.allowed = {"\n", "\r", "\t"} if multiline else set()

    def __call__(self, form, field) -> None:
        value = field.data or ""
        if any(
            unicodedata.category(char) == "Cc" and char not in self.allowed
            or unicodedata.category(char) == "Cf" and char not in "\u00ad\u200d"
            or char in "\u2028\u2029"
            for char in value
        ):
            raise ValidationError("Dit veld bevat tekens die we niet kunnen verwerken.")


def strip_whitespace(value: str | None) -> str | None:
    """People paste addresses and names with spaces around them; those are never meant."""
    return value.strip() if isinstance(value, str) else value


KIND_SLUGS = {
    "vorming": EventKind.training,
    "werkbezoek": EventKind.visit,
    "intervisie": EventKind.intervision,
}
KIND_SLUG = {kind: slug for slug, kind in KIND_SLUGS.items()}


MONTH_NAMES = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)


def choices(*pairs: tuple[str, str]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def month_choices(today: date, count: int = 12) -> list[SelectChoice]:
    """The coming months as ('2027-01', 'januari 2027'), starting with the current one."""
    pairs = [("", "Alle maanden")]
    year, month = today.year, today.month
    for _ in range(count):
        pairs.append((f"{year:04d}-{month:02d}", f"{MONTH_NAMES[month - 1]} {year}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return choices(*pairs)


def email_field(label: str = "E-mailadres") -> EmailField:
    """The e-mail field of the public forms: required, bounded, plain, a real address."""
    return EmailField(label, filters=[strip_whitespace], validators=[
        InputRequired("Vul je e-mailadres in."), Length(max=254, message=TOO_LONG), PlainText(),
        Email("Dit is geen geldig e-mailadres, bijvoorbeeld naam@gemeente.be."),
    ], render_kw={"autocomplete": "email"})


class ConfirmForm(FlaskForm):
    """A form without fields: protects a button-only POST with CSRF."""


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def trim_text(value: str | None) -> str | None:
    """Drop trailing spaces and blank lines around a text; keep the indent of its first line
    (Markdown reads four leading spaces as code)."""
    # Browsers send line breaks as CRLF: one character each, as the textarea counted them.
    return value.replace("\r\n", "\n").rstrip().lstrip("\n") if value else value


def text_field(label: str, max_length: int, *, required: str | None = None,
               multiline: bool = False, **render_kw) -> StringField | TextAreaField:
    """Plain text, trimmed and bounded, without control characters.

    ``required`` is the message for an empty field; without it the field is optional.
    """
    # DataRequired: a field of only spaces is empty once trimmed.
    presence = DataRequired(required) if required else Optional()
    field_class = TextAreaField if multiline else StringField
    trim = trim_text if multiline else strip_whitespace
    return field_class(label, filters=[trim], render_kw=render_kw or None, validators=[
        presence, Length(max=max_length, message=TOO_LONG), PlainText(multiline=multiline)])
