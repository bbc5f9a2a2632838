"""The audit log holds no e-mail addresses: earlier entries named the person acted on.

Revision ID: 5c2e8a1f4b37
Revises: 3b7e0c5d9a12
Create Date: 2026-11-29 14:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

from scheduler.services.audit import without_addresses


revision = '5c2e8a1f4b37'
down_revision = '3b7e0c5d9a12'
branch_labels = None
depends_on = None

audit_log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("summary", sa.Text))


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(audit_log.c.id, audit_log.c.summary).where(audit_log.c.summary.contains("@"))
    ).all()
    for entry_id, summary in rows:
        connection.execute(
            audit_log.update().where(audit_log.c.id == entry_id)
            .values(summary=without_addresses(summary))
        )


def downgrade():
    pass
