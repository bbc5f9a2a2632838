"""The attestation as a printable A4 PDF, with its fonts embedded.

fpdf2 writes PDFs in pure Python and embeds (a subset of) the TrueType fonts it is given, so
the document looks the same everywhere and needs no system packages; DejaVu Sans, shipped in
scheduler/data/fonts, covers every Dutch letter (é, ë, ï, ö, ü) and more.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from scheduler import labels
from scheduler.dates import format_day, format_duration, format_time_span, local
from scheduler.links import public_url
from scheduler.models import Attestation

FONTS = Path(__file__).resolve().parent.parent / "data" / "fonts"
FAMILY = "DejaVuSans"
INK = (29, 36, 51)
ACCENT = (11, 83, 148)
MUTED = (85, 92, 110)


@dataclass(frozen=True)
class AttendedSession:
    title: str
    starts_at: datetime
    ends_at: datetime

    @property
    def minutes(self) -> int:
        return round((self.ends_at - self.starts_at).total_seconds() / 60)


def sessions_of(attestation: Attestation) -> tuple[AttendedSession, ...]:
    """The sessions an attestation states, as they were when it was issued."""
    return tuple(
        AttendedSession(row["title"], datetime.fromisoformat(row["starts_at"]),
                        datetime.fromisoformat(row["ends_at"]))
        for row in attestation.sessions)


def render(attestation: Attestation, base_url: str | None = None) -> bytes:
    """The attestation as it was issued: who, what, when, how long, and how to verify it.
    ``base_url`` is the site's address where there is no request (the mail sender)."""
    config = current_app.config
    sessions = sessions_of(attestation)
    verify_url = public_url("attestations.verify", base_url, code=attestation.code)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(f"Attest van deelname: {attestation.title}")
    pdf.set_author(config["ORGANISATION_NAME"])
    pdf.set_subject(f"{attestation.person_name}, {attestation.title}")
    pdf.set_creator(config["PROGRAMME_NAME"])
    pdf.set_lang("nl-BE")
    pdf.set_creation_date(attestation.issued_at)
    pdf.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_margins(22, 22, 22)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()

    def line(text: str, size: float = 11, style: str = "", colour=INK, height: float = 6.5,
             after: float = 0) -> None:
        pdf.set_font(FAMILY, style, size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if after:
            pdf.ln(after)

    line(config["ORGANISATION_NAME"], size=12, style="B", colour=ACCENT)
    line(f"Programma {config['PROGRAMME_NAME']}", size=10, colour=MUTED, after=14)
    line("Attest van deelname", size=24, style="B", height=11, after=8)
    line("Hierbij bevestigen wij dat", after=2)
    line(attestation.person_name, size=16, style="B", height=8)
    if attestation.organisation_name:
        line(attestation.organisation_name, colour=MUTED)
    pdf.ln(4)
    kind = labels.KIND[attestation.kind].lower()
    if attestation.series_id is not None:
        line(f"heeft deelgenomen aan de reeks ({kind}):", after=2)
    else:
        line(f"heeft deelgenomen aan de activiteit ({kind}):", after=2)
    line(attestation.title, size=14, style="B", height=7.5, after=4)

    pdf.set_font(FAMILY, "", 10.5)
    pdf.set_text_color(*INK)
    heading = ("Bijeenkomst" if attestation.series_id is not None else "Datum",
               "Uur", "Duur")
    with pdf.table(col_widths=(86, 38, 42), text_align=("LEFT", "LEFT", "RIGHT"),
                   headings_style=FontFace(emphasis="BOLD", color=ACCENT), line_height=6.5,
                   borders_layout="HORIZONTAL_LINES") as table:
        row = table.row()
        for text in heading:
            row.cell(text)
        for session in sessions:
            row = table.row()
            day = format_day(session.starts_at)
            row.cell(day if attestation.series_id is None else f"{day}\n{session.title}")
            row.cell(format_time_span(session.starts_at, session.ends_at))
            row.cell(format_duration(session.minutes))
    pdf.ln(3)
    line(f"Totaal: {format_duration(attestation.minutes)}", size=12, style="B", after=8)

    line(f"{attestation.title} maakt deel uit van het gratis programma "
         f"'{config['PROGRAMME_NAME']}' van de {config['ORGANISATION_NAME']} voor lokale "
         "besturen.", size=10, colour=MUTED, height=5.5, after=3)
    line(f"Uitgereikt op {format_day(attestation.issued_at)}.", size=10, colour=MUTED,
         height=5.5, after=10)

    line("Echtheid nagaan", size=11, style="B")
    line(f"Ga naar {verify_url}", size=10, height=5.5)
    line(f"of naar {public_url('attestations.verify_form', base_url)} en typ de code "
         f"{attestation.code}.", size=10, height=5.5, after=3)
    line(f"Vragen over dit attest? Mail {config['HELPDESK_EMAIL']}.", size=10, colour=MUTED,
         height=5.5)
    return bytes(pdf.output())


def file_name(attestation: Attestation) -> str:
    """E.g. 'attest-2027-01-12-7QK2M.pdf': the day of the first session and the code's start."""
    first = sessions_of(attestation)[0].starts_at
    return f"attest-{local(first).date().isoformat()}-{attestation.code[:5]}.pdf"
