"""Open data: when an activity was first published and where it was moved from, and the
accessibility statement as a text staff can edit.

Revision ID: a7c3e5f9b214
Revises: f3b9d1e7a2c4
Create Date: 2026-11-29 23:00:00.000000

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa



revision = 'a7c3e5f9b214'
down_revision = 'f3b9d1e7a2c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("previous_starts_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f("ix_events_published_at"), ["published_at"])
    # Activities published before this release: the best moment known is their creation.
    op.execute("UPDATE events SET published_at = created_at WHERE status <> 'draft'")
    content_blocks = sa.table(
        "content_blocks", sa.column("key", sa.String), sa.column("title", sa.String),
        sa.column("body", sa.Text), sa.column("updated_at", sa.DateTime(timezone=True)))
    op.bulk_insert(content_blocks, [
        {"key": "accessibility", "title": "Toegankelijkheidsverklaring",
         "body": ACCESSIBILITY_STATEMENT, "updated_at": datetime.now(UTC)},
    ])


ACCESSIBILITY_STATEMENT = """De vereniging wil deze website toegankelijk maken voor iedereen, ook voor wie met een schermlezer, alleen met het toetsenbord of met vergroting werkt. Deze verklaring geldt voor de agenda, de pagina's van de activiteiten, het inschrijven, de persoonlijke pagina's, het aanbod en de agenda om in te sluiten.

## Nalevingsstatus

Deze website is **gedeeltelijk in overeenstemming** met de Web Content Accessibility Guidelines (WCAG) 2.1 niveau AA, vanwege de afwijkingen die hieronder staan.

## Niet-toegankelijke inhoud

- Teksten van activiteiten die het team zelf schrijft (beschrijvingen, documenten waarnaar gelinkt wordt) worden niet automatisch gecontroleerd. Vind je er een die je niet kan lezen, mail ons: we sturen je de inhoud in een vorm die voor jou werkt.
- Een agenda die een andere website insluit, krijgt de titel die die website aan het frame geeft; het fragment dat we aanbieden, geeft er een mee.
- Een agenda die je in Outlook, Google Agenda of Apple Agenda toevoegt, wordt getoond door dat programma; hoe toegankelijk dat is, bepaalt de maker ervan.

## Opstelling van deze verklaring

Deze verklaring is opgesteld op 29 november 2026. Ze steunt op een zelfbeoordeling door het team: bij elke wijziging van de website worden de belangrijkste publieke pagina's (de agenda, een activiteit, inschrijven, de persoonlijke pagina's, het aanbod, deze verklaring en de agenda om in te sluiten) en de beheerpagina's automatisch getest met axe in een echte browser, en mag geen enkele ernstige of kritieke fout overblijven. Een volledige audit door een externe partij is nog niet gebeurd.

## Handhavingsprocedure

Ben je niet tevreden over hoe we op je melding reageren, dan kan je een klacht indienen bij de Vlaamse Ombudsdienst, Leuvenseweg 86, 1000 Brussel, [www.vlaamseombudsdienst.be](https://www.vlaamseombudsdienst.be)."""


def downgrade():
    op.execute("DELETE FROM content_blocks WHERE key = 'accessibility'")
    # In place (SQLite 3.35+ drops a column itself): rebuilding the table would make SQLite, with
    # its foreign keys on, refuse the drop or cascade it into every theme link.
    with op.batch_alter_table("events", recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_published_at"))
        batch_op.drop_column("previous_starts_at")
        batch_op.drop_column("published_at")
