"""A short admission note per activity or series: who a closed group is for.

Revision ID: b8d4f2a6c913
Revises: 5c2e8a1f4b37
Create Date: 2026-11-29 15:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'b8d4f2a6c913'
down_revision = '5c2e8a1f4b37'
branch_labels = None
depends_on = None


def upgrade():
    for table in ("events", "series"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(
                sa.Column("admission_note", sa.Text(), nullable=False, server_default=""))


def downgrade():
    for table in ("events", "series"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("admission_note")
