"""The audit log holds no e-mail addresses (earlier entries named the person acted on), and
a training requester is told once that their training is published.

Revision ID: 5c2e8a1f4b37
Revises: 3b7e0c5d9a12
Create Date: 2026-11-29 14:20:00.000000

"""
import re

from alembic import op
import sqlalchemy as sa


revision = '5c2e8a1f4b37'
down_revision = '3b7e0c5d9a12'
branch_labels = None
depends_on = None

# As scheduler.services.audit.ADDRESS at the time of writing; a migration keeps its own copy.
ADDRESS = re.compile(r"[^\s<>(),;:\"']+@[^\s<>(),;:\"']+")

audit_log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("summary", sa.Text))
outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("training_request_id", sa.Integer),
    sa.column("dedupe_key", sa.String),
)
training_requests = sa.table(
    "training_requests", sa.column("id", sa.Integer), sa.column("event_id", sa.Integer))


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(audit_log.c.id, audit_log.c.summary).where(audit_log.c.summary.contains("@"))
    ).all()
    for entry_id, summary in rows:
        connection.execute(
            audit_log.update().where(audit_log.c.id == entry_id)
            .values(summary=ADDRESS.sub("[adres]", summary))
        )
    # Publishing again looks for this key before telling the requester a second time.
    told = connection.execute(
        sa.select(outbox.c.id, outbox.c.training_request_id, training_requests.c.event_id)
        .join(training_requests, training_requests.c.id == outbox.c.training_request_id)
        .where(outbox.c.kind == "request_published", outbox.c.dedupe_key.is_(None),
               training_requests.c.event_id.is_not(None))
        .order_by(outbox.c.id)
    ).all()
    keys = {}
    for message_id, request_id, event_id in told:
        keys.setdefault(f"request_published:{request_id}:{event_id}", message_id)
    for key, message_id in keys.items():
        connection.execute(outbox.update().where(outbox.c.id == message_id).values(dedupe_key=key))


def downgrade():
    pass
