"""The forms of the staff area: accounts, planning, registrations, requests, privacy."""

from datetime import date, datetime, timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import (
    URL,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from scheduler import labels
from scheduler.dates import brussels_to_utc, local
from scheduler.forms.fields import (
    KIND_SLUGS,
    SLUG_PATTERN,
    TOO_LONG,
    PlainText,
    choices,
    strip_whitespace,
    text_field,
)
from scheduler.forms.public import RegistrationForm
from scheduler.models import Audience, EventKind, utcnow
from scheduler.services.planning import OWNED_BY_SERIES, EventFields, version_of
from scheduler.services.series import SeriesFields, SeriesSettings, SessionFields
from scheduler.services.staff import MINIMUM_PASSWORD_LENGTH, PASSWORD_TOO_SHORT


class LoginForm(FlaskForm):
    """Staff log in with e-mail and password."""

    email = EmailField("E-mailadres", filters=[strip_whitespace],
                       validators=[InputRequired("Vul je e-mailadres in."), Length(max=254)])
    password = PasswordField("Wachtwoord",
                             validators=[InputRequired("Vul je wachtwoord in."), Length(max=200)])


class PasswordForm(FlaskForm):
    """Choose a (new) password through a password link."""

    password = PasswordField("Nieuw wachtwoord", validators=[
        InputRequired("Kies een wachtwoord."),
        Length(min=MINIMUM_PASSWORD_LENGTH, message=PASSWORD_TOO_SHORT),
        Length(max=200, message=TOO_LONG),
    ])
    confirm = PasswordField("Herhaal het wachtwoord", validators=[
        EqualTo("password", message="De twee wachtwoorden zijn niet gelijk."),
    ])


class StaffInviteForm(FlaskForm):
    """An admin adds a colleague."""

    email = EmailField("E-mailadres", filters=[strip_whitespace], validators=[
        InputRequired("Vul een e-mailadres in."), Length(max=254),
        Email("Geen geldig e-mailadres."),
    ])
    name = StringField("Naam", filters=[strip_whitespace],
                       validators=[Optional(), Length(max=200), PlainText()])
    is_admin = BooleanField("Beheerder (mag medewerkers beheren en het logboek lezen)")


def owned_by_series(form: FlaskForm) -> dict:
    """The places fields a form holds, as typed; an admission note left empty is ""."""
    return {name: (form[name].data or "") if name == "admission_note" else form[name].data
            for name in OWNED_BY_SERIES if name in form}


class PlanningForm(FlaskForm):
    """Where an activity or series takes place and how many can come."""

    venue = StringField("Locatie", filters=[strip_whitespace],
                        validators=[Optional(), Length(max=200), PlainText()])
    address = StringField("Adres", filters=[strip_whitespace],
                          validators=[Optional(), Length(max=300), PlainText()])
    municipality = StringField("Gemeente", filters=[strip_whitespace],
                               validators=[Optional(), Length(max=200), PlainText()],
                               render_kw={"list": "municipalities"})
    capacity = IntegerField("Aantal plaatsen (leeg: onbeperkt)", validators=[
        Optional(), NumberRange(min=0, max=100_000, message="Geef 0 of meer plaatsen.")])
    max_per_organisation = IntegerField("Maximum per organisatie (leeg: geen)", validators=[
        Optional(), NumberRange(min=1, max=1000, message="Geef minstens 1.")])


class EventForm(PlanningForm):
    """An activity as staff plan it; times are Brussels wall-clock times."""

    # The version of the activity this form showed: a save in another tab meanwhile wins.
    edited_version = HiddenField()

    kind = SelectField("Soort", choices=choices(
        *((kind.value, label) for kind, label in labels.KIND.items())))
    title = text_field("Titel", 200, required="Geef een titel.")
    slug = StringField("Webadres", filters=[strip_whitespace], validators=[
        InputRequired("Geef een webadres."), Length(max=120, message=TOO_LONG),
        Regexp(SLUG_PATTERN, message="Alleen kleine letters, cijfers en koppeltekens."),
    ])
    summary = text_field("Korte samenvatting", 500, multiline=True)
    description = text_field("Beschrijving (Markdown)", 20_000, multiline=True)
    day = DateField("Datum", validators=[InputRequired("Kies een datum.")])
    start_time = TimeField("Van", validators=[InputRequired("Kies een beginuur.")])
    end_time = TimeField("Tot", validators=[InputRequired("Kies een einduur.")])
    end_day = DateField("Einddatum (als het meer dan één dag duurt)", validators=[Optional()])
    online_url = URLField("Link om online deel te nemen", filters=[strip_whitespace],
                          validators=[Optional(), Length(max=500),
                                      URL(message="Geen geldige link.")])
    is_moderated = BooleanField("Inschrijvingen eerst goedkeuren")
    admission_note = text_field("Voor wie is deze besloten groep?", 500, multiline=True)
    audience = SelectField("Voor wie", choices=choices(
        *((audience.value, label) for audience, label in labels.AUDIENCE.items())))
    registration_opens_at = DateTimeLocalField("Inschrijving opent", validators=[Optional()])
    registration_closes_at = DateTimeLocalField("Inschrijving sluit", validators=[Optional()])
    themes = SelectMultipleField("Thema's", coerce=int, widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput())

    def __init__(self, *args, themes=(), is_session: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.themes.choices = choices(*((str(theme.id), theme.name) for theme in themes))
        if is_session:
            # The series owns these; the page shows them with a link to the series instead.
            for name in OWNED_BY_SERIES:
                delattr(self, name)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            return False
        starts_at, ends_at = self.moments()
        if ends_at <= starts_at:
            self.end_time.errors.append("Het einde moet na het begin liggen.")
            valid = False
        opens, closes = self.window()
        if opens and closes and closes <= opens:
            self.registration_closes_at.errors.append("De inschrijving moet sluiten na ze opent.")
            valid = False
        if closes and closes > starts_at:
            self.registration_closes_at.errors.append(
                "De inschrijving moet sluiten voor de activiteit begint.")
            valid = False
        return valid

    def moments(self) -> tuple[datetime, datetime]:
        start = brussels_to_utc(self.day.data, self.start_time.data)
        return start, brussels_to_utc(self.end_day.data or self.day.data, self.end_time.data)

    def window(self) -> tuple[datetime | None, datetime | None]:
        def utc(value):
            return brussels_to_utc(value.date(), value.time()) if value else None

        return utc(self.registration_opens_at.data), utc(self.registration_closes_at.data)

    def fields(self) -> "EventFields":
        starts_at, ends_at = self.moments()
        opens, closes = self.window()
        return EventFields(
            kind=EventKind(self.kind.data), title=self.title.data, slug=self.slug.data,
            starts_at=starts_at, ends_at=ends_at, summary=self.summary.data or "",
            description=self.description.data or "", venue=self.venue.data or "",
            address=self.address.data or "", municipality=self.municipality.data or "",
            online_url=self.online_url.data or "", audience=Audience(self.audience.data),
            registration_opens_at=opens, registration_closes_at=closes,
            theme_ids=tuple(self.themes.data or ()),
            **owned_by_series(self),
        )

    def fill_from(self, event) -> None:
        """Show an existing activity in the form, in Brussels time."""
        self.edited_version.data = version_of(event)
        starts, ends = local(event.starts_at), local(event.ends_at)
        self.kind.data, self.title.data, self.slug.data = event.kind.value, event.title, event.slug
        self.summary.data, self.description.data = event.summary, event.description
        self.day.data, self.start_time.data = starts.date(), starts.time()
        self.end_time.data = ends.time()
        self.end_day.data = ends.date() if ends.date() != starts.date() else None
        self.venue.data, self.address.data = event.venue, event.address
        self.municipality.data = event.municipality.name if event.municipality else ""
        self.online_url.data = event.online_url or ""
        self.audience.data = event.audience.value
        for name in OWNED_BY_SERIES:
            if name in self:
                self[name].data = getattr(event, name)
        self.registration_opens_at.data = _naive_local(event.registration_opens_at)
        self.registration_closes_at.data = _naive_local(event.registration_closes_at)
        self.themes.data = [theme.id for theme in event.themes]


def _naive_local(moment):
    return local(moment).replace(tzinfo=None) if moment else None


class CancelEventForm(FlaskForm):
    """Why an activity is cancelled; the reason goes to everyone registered."""

    reason = text_field("Reden (gaat mee in de mail aan de deelnemers)", 1000,
                        required="Geef een reden.", multiline=True)


class StaffRegistrationForm(RegistrationForm):
    """Staff add someone by hand; that person gave consent another way."""

    class Meta:
        # A staff page: Flask-WTF's session-bound token again, not the public forms' check.
        csrf = FlaskForm.Meta.csrf

    consent = None
    website = None


class ReachForm(FlaskForm):
    """The period and kind of the reach report."""

    class Meta:
        csrf = False

    van = DateField("Van", validators=[Optional()])
    tot = DateField("Tot en met", validators=[Optional()])
    soort = SelectField("Soort", default="", choices=choices(
        ("", "Alle soorten"), *((slug, labels.KIND[kind]) for slug, kind in KIND_SLUGS.items())))
    # The NIS code of the municipality clicked on the map.
    gemeente = StringField("Gemeente", validators=[Optional(), Regexp(r"^[0-9]{5}$")])

    def validate_van(self, field) -> None:
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError("Kies een datum tussen 2000 en 2100.")

    def validate_tot(self, field) -> None:
        if field.data and not 2000 <= field.data.year <= 2100:
            raise ValidationError("Kies een datum tussen 2000 en 2100.")
        if field.data and self.van.data and field.data < self.van.data:
            raise ValidationError("De einddatum ligt voor de begindatum.")


class SeriesForm(PlanningForm):
    """A series and all its sessions in one go: several dates, or a weekly pattern."""

    kind = SelectField("Soort", default="intervision", choices=choices(
        *((kind.value, label) for kind, label in labels.KIND.items())))
    title = text_field("Titel van de reeks", 180, required="Geef een titel.")
    slug = StringField("Webadres", filters=[strip_whitespace], validators=[
        InputRequired("Geef een webadres."), Length(max=100, message=TOO_LONG),
        Regexp(SLUG_PATTERN, message="Alleen kleine letters, cijfers en koppeltekens."),
    ])
    summary = text_field("Korte samenvatting", 500, multiline=True)
    dates = TextAreaField("Data (één per regel, bv. 12/01/2027)",
                          validators=[Optional(), Length(max=2000)])
    first_day = DateField("Of: eerste bijeenkomst", validators=[Optional()])
    every_weeks = IntegerField("om de … weken", validators=[Optional(), NumberRange(min=1, max=52)])
    count = IntegerField("aantal bijeenkomsten",
                         validators=[Optional(), NumberRange(min=1, max=52)])
    start_time = TimeField("Van", validators=[InputRequired("Kies een beginuur.")])
    end_time = TimeField("Tot", validators=[InputRequired("Kies een einduur.")])
    is_moderated = BooleanField("Inschrijvingen eerst goedkeuren", default=True)

    def session_dates(self) -> list[date]:
        """The dates typed in, or those of the weekly pattern."""
        found = []
        for line in (self.dates.data or "").split():
            for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y"):
                try:
                    found.append(datetime.strptime(line.strip(), pattern).date())
                    break
                except ValueError:
                    continue
            else:
                raise ValidationError(f"„{line[:20]}” is geen datum zoals 12/01/2027.")
        if not found and self.first_day.data and self.count.data:
            step = timedelta(weeks=self.every_weeks.data or 1)
            found = [self.first_day.data + step * number for number in range(self.count.data)]
        return found

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        try:
            days = self.session_dates()
        except ValidationError as error:
            self.dates.errors.append(str(error))
            return False
        if not days:
            self.dates.errors.append("Geef minstens één datum, of een eerste datum en een aantal.")
            valid = False
        elif len(days) > 52 or len(set(days)) != len(days):
            self.dates.errors.append("Geef hoogstens 52 verschillende data.")
            valid = False
        start, end = self.start_time.data, self.end_time.data
        if start and end and end <= start:
            self.end_time.errors.append("Het einde moet na het begin liggen.")
            valid = False
        return valid

    def fields(self) -> "SeriesFields":
        return SeriesFields(
            title=self.title.data, slug=self.slug.data, kind=EventKind(self.kind.data),
            dates=tuple(self.session_dates()), start_time=self.start_time.data,
            end_time=self.end_time.data, summary=self.summary.data or "",
            venue=self.venue.data or "", address=self.address.data or "",
            municipality=self.municipality.data or "", capacity=self.capacity.data,
            max_per_organisation=self.max_per_organisation.data,
            is_moderated=self.is_moderated.data,
        )


class SeriesSettingsForm(FlaskForm):
    """What staff change about a series after creating it; its sessions follow."""

    title = text_field("Titel van de reeks", 180, required="Geef een titel.")
    summary = text_field("Korte samenvatting", 500, multiline=True)
    capacity = PlanningForm.capacity
    max_per_organisation = PlanningForm.max_per_organisation
    is_moderated = BooleanField("Inschrijvingen eerst goedkeuren")
    admission_note = EventForm.admission_note

    def fill_from(self, series) -> None:
        for name in ("title", "summary", *OWNED_BY_SERIES):
            self[name].data = getattr(series, name)

    def settings(self) -> SeriesSettings:
        return SeriesSettings(
            title=self.title.data, summary=self.summary.data or "",
            **owned_by_series(self),
        )


class SessionForm(FlaskForm):
    """One more meeting of a series: a date, hours and where."""

    day = DateField("Datum", validators=[InputRequired("Kies een datum.")])
    start_time = TimeField("Van", validators=[InputRequired("Kies een beginuur.")])
    end_time = TimeField("Tot", validators=[InputRequired("Kies een einduur.")])
    venue = PlanningForm.venue
    address = PlanningForm.address
    municipality = PlanningForm.municipality

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        start, end = self.start_time.data, self.end_time.data
        if start and end and end <= start:
            self.end_time.errors.append("Het einde moet na het begin liggen.")
            valid = False
        # Everyone confirmed is invited to a new session: never to one that has begun.
        if self.day.data and start and brussels_to_utc(self.day.data, start) <= utcnow():
            self.day.errors.append("Kies een moment dat nog moet komen.")
            valid = False
        return valid

    def fields(self) -> SessionFields:
        return SessionFields(
            day=self.day.data, start_time=self.start_time.data, end_time=self.end_time.data,
            venue=self.venue.data or "", address=self.address.data or "",
            municipality=self.municipality.data or "",
        )


class PrivacyLookupForm(FlaskForm):
    """The e-mail address whose data staff look up, export or erase."""

    email = StringField("E-mailadres", filters=[strip_whitespace], validators=[
        InputRequired("Vul een e-mailadres in."), Length(max=254), PlainText()])


class RequestUpdateForm(FlaskForm):
    """Staff's status and internal notes on a request."""

    status = SelectField("Status")
    internal_notes = text_field("Interne notities", 10_000, multiline=True)

    def __init__(self, *args, statuses=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = choices(*statuses)


class ContentBlockForm(FlaskForm):
    """A public text staff edit, in Markdown."""

    title = text_field("Titel", 200, required="Geef een titel.")
    body = text_field("Tekst (Markdown)", 20_000, multiline=True)


class TrainingPartForm(FlaskForm):
    """A part of the basic package."""

    title = StringField("Titel", filters=[strip_whitespace], validators=[
        InputRequired("Geef een titel."), Length(max=200), PlainText()])
    description = text_field("Omschrijving", 2000, multiline=True)
    position = IntegerField("Volgorde", default=0, validators=[
        Optional(), NumberRange(min=0, max=1000)])
    is_active = BooleanField("Aangeboden", default=True)
