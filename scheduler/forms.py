"""Flask-WTF forms; each checks its own fields, the services check the rules."""

import unicodedata
from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from scheduler import labels
from scheduler.models import EventKind, Role
from scheduler.services.registrations import Applicant

TOO_LONG = "Dit is te lang: maximaal %(max)d tekens."


class PlainText:
    """Refuses control characters (NUL, escape codes, line breaks in one-line fields)."""

    def __init__(self, multiline: bool = False) -> None:
        self.allowed = {"\n", "\r", "\t"} if multiline else set()

    def __call__(self, form, field) -> None:
        value = field.data or ""
        if any(
            unicodedata.category(char) == "Cc" and char not in self.allowed
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


class AgendaFilterForm(FlaskForm):
    """The agenda's filters, read from the query string."""

    class Meta:
        csrf = False

    soort = SelectField(
        "Soort",
        choices=choices(
            ("", "Alle soorten"), *((slug, labels.KIND[kind]) for slug, kind in KIND_SLUGS.items())
        ),
        default="",
    )
    thema = SelectField("Thema", default="")
    provincie = SelectField(
        "Provincie",
        choices=choices(("", "Alle provincies"), *((name, name) for name in labels.PROVINCES)),
        default="",
    )
    maand = SelectField("Maand", default="")
    pagina = IntegerField(
        "Pagina", default=1, validators=[Optional(), NumberRange(min=1, max=10_000)]
    )

    def __init__(self, *args, themes=(), today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.thema.choices = choices(("", "Alle thema's"), *((t.slug, t.name) for t in themes))
        self.maand.choices = month_choices(today)


class RegistrationForm(FlaskForm):
    """A person's registration for an activity or a series."""

    first_name = StringField(
        "Voornaam",
        filters=[strip_whitespace],
        validators=[
            InputRequired("Vul je voornaam in."), Length(max=100, message=TOO_LONG), PlainText()
        ],
        render_kw={"autocomplete": "given-name"},
    )
    last_name = StringField(
        "Naam",
        filters=[strip_whitespace],
        validators=[
            InputRequired("Vul je naam in."), Length(max=100, message=TOO_LONG), PlainText()
        ],
        render_kw={"autocomplete": "family-name"},
    )
    email = EmailField(
        "E-mailadres",
        filters=[strip_whitespace],
        validators=[
            InputRequired("Vul je e-mailadres in."),
            Length(max=254, message=TOO_LONG),
            PlainText(),
            Email("Dit is geen geldig e-mailadres, bijvoorbeeld naam@gemeente.be.",
                  check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )
    organisation = StringField(
        "Bestuur of organisatie",
        filters=[strip_whitespace],
        validators=[
            InputRequired("Vul je gemeente, OCMW of organisatie in."),
            Length(max=200, message=TOO_LONG),
            PlainText(),
        ],
        render_kw={"list": "municipalities", "autocomplete": "organization"},
    )
    role = RadioField(
        "Je rol",
        choices=choices(*((role.value, label) for role, label in labels.ROLE.items())),
        validators=[InputRequired("Kies je rol.")],
    )
    function = StringField(
        "Functie",
        filters=[strip_whitespace],
        validators=[Optional(), Length(max=200, message=TOO_LONG), PlainText()],
        render_kw={"autocomplete": "organization-title"},
    )
    remarks = TextAreaField(
        "Opmerkingen",
        validators=[Optional(), Length(max=2000, message=TOO_LONG), PlainText(multiline=True)],
    )
    consent = BooleanField(
        "Ik geef toestemming om mijn gegevens te verwerken voor deze inschrijving.",
        validators=[InputRequired("Zonder je toestemming kunnen we je niet inschrijven.")],
    )

    def applicant(self) -> Applicant:
        """The filled-in values as the registration service takes them."""
        return Applicant(
            first_name=self.first_name.data,
            last_name=self.last_name.data,
            email=self.email.data,
            organisation=self.organisation.data,
            role=Role(self.role.data),
            function=self.function.data or "",
            remarks=self.remarks.data or "",
        )


class ConfirmForm(FlaskForm):
    """A form without fields: protects a button-only POST with CSRF."""


class SubscribeForm(FlaskForm):
    """The kinds and themes someone wants in their subscribed calendar."""

    class Meta:
        csrf = False

    soort = SelectMultipleField(
        "Soorten activiteiten",
        choices=choices(*((slug, labels.KIND_PLURAL[kind]) for slug, kind in KIND_SLUGS.items())),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    thema = SelectMultipleField(
        "Thema's", widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )

    def __init__(self, *args, themes=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.thema.choices = choices(*((theme.slug, theme.name) for theme in themes))
