"""A place handed over to a colleague, and a person's needs (accessibility, diet).

Revision ID: e4a7c2d9b158
Revises: b8d4f2a6c913
Create Date: 2026-11-29 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'e4a7c2d9b158'
down_revision = 'b8d4f2a6c913'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("registrations") as batch_op:
        batch_op.add_column(sa.Column("needs", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("handed_over_to_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("handed_over_to_name", sa.String(length=201),
                                      nullable=False, server_default=""))
        batch_op.create_foreign_key("fk_registrations_handed_over_to_id_registrations",
                                    "registrations", ["handed_over_to_id"], ["id"])
        batch_op.create_index("ix_registrations_handed_over_to_id", ["handed_over_to_id"])


def downgrade():
    with op.batch_alter_table("registrations") as batch_op:
        batch_op.drop_index("ix_registrations_handed_over_to_id")
        batch_op.drop_constraint("fk_registrations_handed_over_to_id_registrations",
                                 type_="foreignkey")
        batch_op.drop_column("handed_over_to_name")
        batch_op.drop_column("handed_over_to_id")
        batch_op.drop_column("needs")
