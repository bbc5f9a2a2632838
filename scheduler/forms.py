"""Flask-WTF forms; each checks its own fields, the services check the rules."""

from datetime import date

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional

from scheduler import labels
from scheduler.models import EventKind

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
