"""The forms anyone can post: the agenda filters, registration, subscribing, a training request."""

from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
)
from wtforms.widgets import CheckboxInput, ListWidget

from scheduler import labels
from scheduler.forms.fields import (
    KIND_SLUGS,
    TOO_LONG,
    PlainText,
    choices,
    email_field,
    month_choices,
    strip_whitespace,
    text_field,
)
from scheduler.models import Audience, Role
from scheduler.services.handover import Colleague
from scheduler.services.registrations import Applicant, OwnDetails
from scheduler.services.requests import RequestData


def ascii_number(_form, field) -> None:
    """int() also reads "+2", "1_0" and digits of other scripts; a page number is 0-9 only."""
    raw = (field.raw_data or [""])[0]
    if raw and not (raw.isascii() and raw.isdigit()):
        raise StopValidation("Geef een paginanummer in cijfers.")


class KindAndThemeForm(FlaskForm):
    """A choice of one kind and one theme, read from the query string."""

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

    def __init__(self, *args, themes=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.thema.choices = choices(("", "Alle thema's"), *((t.slug, t.name) for t in themes))


class AgendaFilterForm(KindAndThemeForm):
    """The agenda's filters, read from the query string."""

    provincie = SelectField(
        "Provincie",
        choices=choices(("", "Alle provincies"), *((name, name) for name in labels.PROVINCES)),
        default="",
    )
    maand = SelectField("Maand", default="")
    pagina = IntegerField(
        "Pagina", default=1,
        validators=[Optional(), ascii_number, NumberRange(min=1, max=10_000)]
    )

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.maand.choices = month_choices(today)


class EmbedForm(KindAndThemeForm):
    """The kind and theme of the agenda another website shows in a frame; beside the feed's
    choices on the subscribe page, so its fields carry a prefix."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="insluiten", **kwargs)


class AnonymousForm(FlaskForm):
    """A form posted by someone without a session. It carries no token tied to a cookie:
    ``scheduler.cross_origin`` refuses it when another website posts it."""

    class Meta:
        csrf = False


class PersonalButtonForm(AnonymousForm):
    """A button on a personal page (cancel, renew the feed link): nothing to fill in."""


class PublicForm(AnonymousForm):
    """A form anyone can post; a field hidden from people turns away form-filling robots."""

    website = StringField("Laat dit veld leeg", validators=[Optional(), Length(max=200)],
                          render_kw={"autocomplete": "off", "tabindex": "-1"})

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.website is not None and self.website.data:
            self.form_errors.append("Je formulier kon niet verwerkt worden. Probeer opnieuw.")
            return False
        return valid


class MyRegistrationsForm(PublicForm):
    """An e-mail address, to mail its registrations and personal links to it."""

    email = email_field()


class RegistrationForm(PublicForm):
    """A person's registration for an activity or a series."""

    first_name = text_field("Voornaam", 100, required="Vul je voornaam in.",
                            autocomplete="given-name")
    last_name = text_field("Naam", 100, required="Vul je naam in.", autocomplete="family-name")
    email = email_field()
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
    needs = text_field("Noden (niet verplicht)", 500, multiline=True)
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
            needs=self.needs.data or "",
        )


class OwnDetailsForm(AnonymousForm):
    """What a person corrects about themselves from their personal page."""

    first_name = text_field("Voornaam", 100, required="Vul je voornaam in.",
                            autocomplete="given-name")
    last_name = text_field("Naam", 100, required="Vul je naam in.", autocomplete="family-name")
    function = text_field("Functie", 200, autocomplete="organization-title")
    needs = text_field("Noden (niet verplicht)", 500, multiline=True)
    version = HiddenField()

    def details(self) -> OwnDetails:
        return OwnDetails(first_name=self.first_name.data, last_name=self.last_name.data,
                          function=self.function.data or "", needs=self.needs.data or "")


class HandOverForm(AnonymousForm):
    """The colleague who takes over a place; the organisation stays the original's."""

    first_name = text_field("Voornaam van je collega", 100, required="Vul de voornaam in.")
    last_name = text_field("Naam van je collega", 100, required="Vul de naam in.")
    email = email_field("E-mailadres van je collega")
    role = RadioField(
        "Rol van je collega",
        choices=choices(*((role.value, label) for role, label in labels.ROLE.items())),
        validators=[InputRequired("Kies de rol van je collega.")],
    )
    function = text_field("Functie van je collega", 200)

    def colleague(self) -> Colleague:
        return Colleague(first_name=self.first_name.data, last_name=self.last_name.data,
                         email=self.email.data, role=Role(self.role.data),
                         function=self.function.data or "")


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


class TrainingRequestForm(PublicForm):
    """A local government asks for the training on site."""

    organisation = StringField("Gemeente of OCMW", filters=[strip_whitespace], validators=[
        InputRequired("Vul je gemeente of organisatie in."), Length(max=200, message=TOO_LONG),
        PlainText()], render_kw={"list": "municipalities", "autocomplete": "organization"})
    contact_name = StringField("Contactpersoon", filters=[strip_whitespace], validators=[
        InputRequired("Vul de naam van de contactpersoon in."),
        Length(max=200, message=TOO_LONG), PlainText()], render_kw={"autocomplete": "name"})
    email = email_field()
    phone = StringField("Telefoon (niet verplicht)", filters=[strip_whitespace], validators=[
        Optional(), Length(max=40, message=TOO_LONG),
        Regexp(r"^[0-9+ ()./-]{6,40}$", message="Alleen cijfers, spaties en + . / - ( )."),
    ], render_kw={"autocomplete": "tel"})
    audience = RadioField("Voor wie", choices=choices(
        *((audience.value, label) for audience, label in labels.AUDIENCE.items())),
        validators=[InputRequired("Kies voor wie de vorming is.")])
    expected_count = IntegerField("Verwacht aantal deelnemers", validators=[
        Optional(), NumberRange(min=1, max=500, message="Geef een aantal tussen 1 en 500.")])
    preferred_dates = text_field(
        "Voorkeursdata of periodes", 1000, multiline=True,
        required="Geef een of meer data of periodes, bv. 12/03/2027 of 'eind april'.")
    parts = SelectMultipleField("Welke onderdelen van het basispakket?", coerce=int,
                                widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())
    local_questions = text_field("Jullie specifieke lokale noden en vragen", 4000, multiline=True)
    consent = BooleanField(
        "Ik geef toestemming om deze gegevens te verwerken om de vorming te organiseren.",
        validators=[InputRequired("Zonder je toestemming kunnen we de aanvraag niet verwerken.")])
    def __init__(self, *args, parts=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.parts.choices = choices(*((str(part.id), part.title) for part in parts))

    def data_for_service(self) -> "RequestData":
        return RequestData(
            organisation=self.organisation.data, contact_name=self.contact_name.data,
            email=self.email.data, phone=self.phone.data or "",
            audience=Audience(self.audience.data), expected_count=self.expected_count.data,
            preferred_dates=self.preferred_dates.data, part_ids=tuple(self.parts.data or ()),
            local_questions=self.local_questions.data or "",
        )
