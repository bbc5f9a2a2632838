"""Forms about attestations: a third party's code to verify, staff's reason to revoke, the
name staff correct."""

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from scheduler.forms.fields import text_field
from scheduler.services.attestations import normalised_code


class VerifyForm(FlaskForm):
    """The code on an attestation, typed from paper; read from the query string."""

    class Meta:
        csrf = False

    code = StringField("Code op het attest", validators=[DataRequired(
        "Typ de code die onderaan het attest staat."), Length(max=60)])

    def validate_code(self, field) -> None:
        if normalised_code(field.data) is None:
            raise ValidationError("Dit is geen code van een attest: ze heeft twintig letters en "
                                  "cijfers, zoals 7QK2M-XD4PA-9RT3B-MW6ZC.")


class RevokeForm(FlaskForm):
    """Why staff declare an attestation not valid; shown on its verification page."""

    reden = TextAreaField("Reden (staat op de controlepagina)", validators=[
        DataRequired("Geef een reden op."), Length(max=500, message="Hoogstens 500 tekens.")])


class NameForm(FlaskForm):
    """The name a person registered with, as staff correct it for the attestation."""

    first_name = text_field("Voornaam", 100, required="Vul de voornaam in.")
    last_name = text_field("Naam", 100, required="Vul de naam in.")
