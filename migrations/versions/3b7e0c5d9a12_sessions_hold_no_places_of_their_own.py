"""Sessions hold no places of their own: capacity, maximum and moderation are their series'.

Revision ID: 3b7e0c5d9a12
Revises: 1f4989bb6a4e
Create Date: 2026-11-29 12:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '3b7e0c5d9a12'
down_revision = '1f4989bb6a4e'
branch_labels = None
depends_on = None

events = sa.table(
    "events",
    sa.column("series_id", sa.Integer),
    sa.column("capacity", sa.Integer),
    sa.column("max_per_organisation", sa.Integer),
    sa.column("is_moderated", sa.Boolean),
)


def upgrade():
    # The copies on sessions were never used by the rules, only shown and edited by mistake.
    op.execute(
        events.update()
        .where(events.c.series_id.is_not(None))
        .values(capacity=None, max_per_organisation=None, is_moderated=False)
    )


def downgrade():
    pass
