"""The staff forms that add materials to an activity or series: a file, or a link."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import URLField
from wtforms.validators import InputRequired, Length, ValidationError

from scheduler.forms.fields import TOO_LONG, PlainText, strip_whitespace, text_field
from scheduler.services.materials import ACCEPTED, is_link


class MaterialFileForm(FlaskForm):
    """A file for the participants; what it is, is checked by the service from its bytes."""

    title = text_field("Titel", 200, required="Geef een titel, bijvoorbeeld ‘Presentatie’.")
    file = FileField("Bestand", validators=[FileRequired("Kies een bestand.")],
                     render_kw={"accept": ACCEPTED})


class HttpLink:
    """Only web addresses: a javascript: or file: link must never reach a participant."""

    def __call__(self, form, field) -> None:
        if field.data and not is_link(field.data):
            raise ValidationError("Geef een link die begint met http:// of https://.")


class MaterialLinkForm(FlaskForm):
    """A link for the participants, e.g. to a recording or an article."""

    title = text_field("Titel", 200, required="Geef een titel, bijvoorbeeld ‘Opname’.")
    url = URLField("Link", filters=[strip_whitespace], validators=[
        InputRequired("Geef een link."), Length(max=500, message=TOO_LONG), PlainText(),
        HttpLink()])
