"""The evaluation form, made per request from the questions of a kind, and the staff forms
for the results' filters and the questions."""

from datetime import date

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from scheduler import labels
from scheduler.forms.fields import (
    KIND_SLUGS,
    TOO_LONG,
    PlainText,
    choices,
    strip_whitespace,
    text_field,
)
from scheduler.forms.public import AnonymousForm
from scheduler.models import EvaluationQuestion, Theme
from scheduler.services.evaluation_questions import QuestionEdit
from scheduler.services.evaluations import (
    ANSWER_TYPES,
    LABEL_MAX_LENGTH,
    NO_PREFERENCE,
    NO_PREFERENCE_LABEL,
    SCORE,
    SCORES,
    TEXT,
    TEXT_MAX_LENGTH,
    Answers,
)

SCORE_WORDS = {1: "helemaal niet", 5: "helemaal"}
PICK_A_SCORE = "Kies een score van 1 (helemaal niet) tot 5 (helemaal)."


def field_name(question: EvaluationQuestion) -> str:
    return f"vraag_{question.id}"


class _OneOf:
    """The value is one of the options shown, or (for an optional question) left open."""

    def __init__(self, allowed: set[str], required: bool, missing: str, wrong: str) -> None:
        self.allowed, self.required, self.missing, self.wrong = allowed, required, missing, wrong

    def __call__(self, form, field) -> None:
        if field.data in (None, ""):
            if self.required:
                raise StopValidation(self.missing)
            return
        if field.data not in self.allowed:
            raise StopValidation(self.wrong)


class AnswerForm(AnonymousForm):
    """The answers of one person; ``for_questions`` adds a field per question. Posted without
    a session, like the other public forms: no cookie is set that could tell visits apart."""

    questions: list[EvaluationQuestion] = []

    @classmethod
    def for_questions(cls, questions: list[EvaluationQuestion],
                      themes: list[Theme]) -> "AnswerForm":
        """A form with the questions in order: a score as five radio buttons, an open question
        as a text area, a theme as a list of the themes with "geen voorkeur"."""

        class Form(cls):
            pass

        for question in questions:
            setattr(Form, field_name(question), _field_for(question, themes))
        form = Form()
        form.questions = questions
        return form

    def field_of(self, question: EvaluationQuestion):
        return self[field_name(question)]

    def answers(self) -> Answers:
        given: Answers = {}
        for question in self.questions:
            value = self.field_of(question).data
            if question.answer_type == TEXT:
                given[question.id] = value or ""
            else:
                given[question.id] = int(value) if value not in (None, "") else None
        return given


def _field_for(question: EvaluationQuestion, themes: list[Theme]):
    label = question.label + (" (verplicht)" if question.is_required else "")
    if question.answer_type == SCORE:
        return RadioField(label, validate_choice=False, choices=choices(*(
            (str(score), f"{score} – {SCORE_WORDS[score]}" if score in SCORE_WORDS
             else str(score)) for score in SCORES)),
            validators=[_OneOf({str(score) for score in SCORES}, question.is_required,
                               PICK_A_SCORE, PICK_A_SCORE)])
    if question.answer_type == TEXT:
        return text_field(label, TEXT_MAX_LENGTH, multiline=True, rows=4,
                          required="Vul dit in." if question.is_required else None)
    options = [(str(NO_PREFERENCE), NO_PREFERENCE_LABEL),
               *((str(theme.id), theme.name) for theme in themes)]
    return SelectField(label, validate_choice=False, choices=choices(*options), validators=[
        _OneOf({value for value, _ in options}, question.is_required,
               "Kies een thema of “geen voorkeur”.", "Kies een thema uit de lijst.")])


def _plausible_year(form, field) -> None:
    if field.data and not 2000 <= field.data.year <= 2100:
        raise ValidationError("Kies een datum tussen 2000 en 2100.")


class EvaluationFilterForm(FlaskForm):
    """The kind and the period of the overview of evaluations."""

    class Meta:
        csrf = False

    van = DateField("Van", validators=[Optional(), _plausible_year])
    tot = DateField("Tot en met", validators=[Optional(), _plausible_year])
    soort = SelectField("Soort", default="", choices=choices(
        ("", "Alle soorten"), *((slug, labels.KIND[kind]) for slug, kind in KIND_SLUGS.items())))

    def validate_tot(self, field) -> None:
        if field.data and self.van.data and field.data < self.van.data:
            raise ValidationError("De einddatum ligt voor de begindatum.")

    def period(self, today: date) -> tuple[date, date]:
        """The days chosen, by default the current year."""
        return (self.van.data or date(today.year, 1, 1),
                self.tot.data or date(today.year, 12, 31))


class QuestionsForm(FlaskForm):
    """The questions of one kind as staff edit them; ``for_questions`` adds their fields."""

    questions: list[EvaluationQuestion] = []

    @classmethod
    def for_questions(cls, questions: list[EvaluationQuestion]) -> "QuestionsForm":
        class Form(cls):
            pass

        for number, question in enumerate(questions, start=1):
            setattr(Form, f"label_{question.id}", StringField(
                f"Vraag {number}", default=question.label, filters=[strip_whitespace], validators=[
                    DataRequired("Vul de vraag in."),
                    Length(max=LABEL_MAX_LENGTH, message=TOO_LONG),
                    PlainText()]))
            setattr(Form, f"required_{question.id}",
                    BooleanField(f"Vraag {number} verplicht", default=question.is_required))
            setattr(Form, f"active_{question.id}",
                    BooleanField(f"Vraag {number} in de vragenlijst",
                                 default=question.is_active))
            setattr(Form, f"position_{question.id}", IntegerField(
                f"Plaats van vraag {number}", default=question.position, validators=[
                    InputRequired("Geef een plaats."),
                    NumberRange(min=0, max=999, message="Geef een plaats van 0 tot 999.")]))
        form = Form()
        form.questions = questions
        return form

    def fields_of(self, question: EvaluationQuestion) -> dict:
        return {name: self[f"{name}_{question.id}"]
                for name in ("label", "required", "active", "position")}

    def edits(self) -> list[QuestionEdit]:
        return [QuestionEdit(question.id, self[f"label_{question.id}"].data,
                             self[f"required_{question.id}"].data,
                             self[f"active_{question.id}"].data,
                             self[f"position_{question.id}"].data)
                for question in self.questions]


class NewQuestionForm(FlaskForm):
    """A question added at the end of a kind's form."""

    answer_type = SelectField("Soort antwoord", choices=choices(*ANSWER_TYPES.items()),
                              validators=[InputRequired("Kies een soort antwoord.")])
    label = text_field("Vraag", LABEL_MAX_LENGTH, required="Vul de vraag in.")
    is_required = BooleanField("Verplicht")
