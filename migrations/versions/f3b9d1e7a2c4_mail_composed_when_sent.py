"""A mail about a registration keeps what happened and is composed when it is sent.

Revision ID: f3b9d1e7a2c4
Revises: e4a7c2d9b158
Create Date: 2026-11-29 20:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3b9d1e7a2c4'
down_revision = 'e4a7c2d9b158'
branch_labels = None
depends_on = None


def upgrade():
    # Rows queued before this release are already composed: their facts stay empty.
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))


def downgrade():
    # A mail still waiting to be composed cannot be sent by the previous release: written off.
    op.execute("UPDATE outbox SET status = 'failed', last_error = 'Downgrade' "
               "WHERE facts IS NOT NULL AND text_body = ''")
    op.execute("UPDATE outbox SET status = 'failed', last_error = 'Superseded' "
               "WHERE status = 'superseded'")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("facts")
